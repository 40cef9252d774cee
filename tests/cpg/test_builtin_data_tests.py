"""The built-in CPG's own data tests (implied by each view's `@keys`) pass on code that states
the same fact twice, through a real build: a blocking failure there would stop the rest of the
CPG on a user's repository.

`flow_facts` maps names to what they denote, so two refs of one binding (`[f, f]`, `a = b = f`,
`f if c else f`) become one fact: the view is a set (it had repeated keys on cpg's own source,
which blocked every `flow_*` reader once builds ran their tests).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cpg_core.pipeline import build_project
from cpg_core.project import Project

REPEATS = """\
def f():
    return 1


def g(c):
    handlers = [f, f]
    pair = (f, f)
    table = {1: f, 2: f}
    a = b = f
    h = f if c else f
    for k in (f, f):
        k()
    if c:
        return f
    return f


class E(Exception):
    pass


def h():
    try:
        g(True)()
    except (E, E) as e:
        raise e
"""


def test_facts_stated_twice_pass_every_builtin_data_test(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (repo / "pkg" / "repeats.py").write_text(REPEATS, encoding="utf-8")
    project = dataclasses.replace(
        Project.from_views([], include_cpg=True), repo=repo, store=tmp_path / "store"
    )
    manifest = build_project(project).result.manifest
    report = manifest.data_tests
    assert report is not None
    failed = [(r.id, r.message) for r in report.results if r.status != "passed"]
    assert failed == [] and manifest.blocked == ()
    assert report.counts.tests > 0
