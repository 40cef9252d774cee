"""idx_class_mro on hierarchies C3 cannot order: one row per (class, ancestor), breadth-first."""

from __future__ import annotations

from pathlib import Path

from tests.cpg.build import build_cpg

# The standard library has this shape (test_importlib's test_file_loader.py): the class rebinds
# the imported name it derives from, and the base resolves to the class being defined (a cycle).
OTHER = """\
class Loop(type):
    pass
"""
CYCLIC = """\
from other import Loop


class Loop(Loop, type(int)):
    pass


class Child(Loop):
    def run(self):
        return 1
"""


def test_a_class_that_is_its_own_base_keeps_one_row_per_ancestor(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text(OTHER, encoding="utf-8")
    (tmp_path / "cyclic.py").write_text(CYCLIC, encoding="utf-8")
    build = build_cpg(tmp_path)
    mro = build.outputs["idx_class_mro"].to_pylist()
    loop_id = next(
        d["def_id"]
        for d in build.evidence["defs"].to_pylist()
        if d["name"] == "Loop" and d["path"] == "cyclic.py"
    )
    pairs = [(r["class_id"], r["ancestor_id"]) for r in mro]
    assert len(pairs) == len(set(pairs)), "a (class, ancestor) pair repeats"
    loop = [r for r in mro if r["class_id"] == loop_id]
    assert loop and all(not r["exact"] for r in loop)
    assert sorted(r["depth"] for r in loop) == list(range(len(loop)))
