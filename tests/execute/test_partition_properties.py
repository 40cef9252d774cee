"""Hypothesis: after any sequence of edits, a partition-incremental store equals a cold build.

Two worlds, both through the real pipeline (extraction, DataFusion, Hamilton, Delta):

- a user project (`tests.partitioned_project`): days of a partitioned Parquet source added,
  rewritten, deleted, the null partition, the lookup table, a view's SQL — after each batch the
  store equals a cold build table by table, and a batch that changed only some days
  recomputed exactly those days' partitions;
- the fixture repository's evidence tables (partitioned by file), three per-file user views
  over them and a cross-file one declaring `dependencies` (a file reads the defs of the files
  it imports), and the whole built-in CPG (`cpg_edges` and `cpg_props` recompute by file):
  random file edits, adds, deletes, comment lines that move every id of a file, and
  `__init__.py` changes (which rename modules).

CI runs a few examples of each; `CPG_PARTITION_EXAMPLES=200` runs more.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.execute import partition_run
from cpg_core.extract.schema import TABLE_NAMES
from cpg_core.pipeline import build_project
from cpg_core.project import Project
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import TaskFinish
from cpg_core.store.partitions import table_version
from tests.partitioned_project import EDITED_DAILY, VIEWS, PartitionedProject, assert_same_store

EXAMPLES = int(os.environ.get("CPG_PARTITION_EXAMPLES", "0")) or None

DAYS = ("d00", "d01", "d02", "d03", "d04", None)
DRIVERS_DECLARED = VIEWS["daily"].replace(
    "partition_by = day", "partition_by = day; drivers = events"
)
DAILY_VARIANTS = (VIEWS["daily"], EDITED_DAILY, DRIVERS_DECLARED)

_day_edit = st.tuples(st.just("set"), st.sampled_from(DAYS), st.integers(1, 4), st.integers(0, 3))
_delete = st.tuples(st.just("delete"), st.sampled_from(DAYS), st.just(0), st.just(0))
_users = st.tuples(st.just("users"), st.none(), st.integers(0, 2), st.just(0))
_view = st.tuples(st.just("view"), st.none(), st.integers(0, len(DAILY_VARIANTS) - 1), st.just(0))
_edit = st.one_of(_day_edit, _day_edit, _delete, _users, _view)
Edit = tuple[str, str | None, int, int]


@dataclass
class Model:
    """What the inputs hold: day → (rows, salt), the users' (shift, times written), the view's
    semantics. A Parquet source's version comes from its files' metadata (their modification
    time included), so rewriting the users file with the same rows is a change of the lookup:
    the view is rebuilt whole (more work, never a wrong table)."""

    days: dict[str | None, tuple[int, int]] = field(default_factory=dict)
    users: tuple[int, int] = (0, 0)
    view: str = VIEWS["daily"]

    def apply(self, project: PartitionedProject, edit: Edit) -> None:
        kind, day, a, b = edit
        if kind == "set":
            project.set_day(day, a, salt=b)
            self.days[day] = (a, b)
        elif kind == "delete":
            project.delete_day(day)
            self.days.pop(day, None)
        elif kind == "users":
            project.set_users(a)
            self.users = (a, self.users[1] + 1)
        else:
            project.set_view("daily", DAILY_VARIANTS[a])
            # declaring the drivers the compiler infers anyway changes nothing it proves
            self.view = EDITED_DAILY if DAILY_VARIANTS[a] == EDITED_DAILY else VIEWS["daily"]

    def snapshot(self) -> Model:
        return Model(dict(self.days), self.users, self.view)

    def key(self) -> tuple[object, ...]:
        """The inputs as a value: a build of inputs seen before is a Hamilton cache hit."""
        days = sorted((str(d), v) for d, v in self.days.items())
        return (tuple(days), self.users, self.view)


@settings(max_examples=EXAMPLES or 6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.lists(_edit, min_size=1, max_size=3), min_size=1, max_size=3))
def test_user_project_incremental_equals_cold(edits: list[list[Edit]]) -> None:
    with tempfile.TemporaryDirectory(prefix="cpg-part-") as scratch:
        project = PartitionedProject(Path(scratch) / "project").write(days=3)
        model = Model({f"d{d:02d}": (3 + d, d) for d in range(3)})
        store = Path(scratch) / "store"
        project.build(store)
        seen = {model.key()}
        for batch in edits:
            before = model.snapshot()
            for edit in batch:
                model.apply(project, edit)
            built = project.build(store)
            assert_same_store(built, project.cold(Path(scratch) / "cold"))
            changed = {
                d for d in {*before.days, *model.days} if before.days.get(d) != model.days.get(d)
            }
            whole = before.users != model.users or before.view != model.view
            recomputed = built.recomputed()["daily"]
            if model.key() in seen:  # these inputs were built before: served from the cache
                assert recomputed in (0, len(changed), len(model.days)), (changed, recomputed)
            elif whole:
                assert recomputed == len(model.days)
            elif 2 * len(changed) <= len({*before.days, *changed}):
                assert recomputed == len(changed), (changed, recomputed)
            else:  # most partitions changed: rebuilt whole
                assert recomputed == len(model.days)
            seen.add(model.key())


# ----------------------------------------------------------------------------- evidence


EVIDENCE_VIEWS = {
    "file_defs": (
        "-- @incremental: partition_by = path\n"
        "select path, kind, count(*) as n, max(line) as last_line from defs group by path, kind\n"
    ),
    "file_refs": (
        "-- @incremental: partition_by = path; drivers = refs, calls\n"
        "select r.path, count(*) as refs, count(c.call_id) as calls\n"
        "from refs r left join calls c on c.path = r.path and c.bstart = r.bstart\n"
        "group by r.path\n"
    ),
    "imported_defs": (
        "-- @incremental: partition_by = path\n"
        "select d.path, d.fqname, count(i.import_id) as importers\n"
        "from defs d left join imports i on i.target = d.fqname\n"
        "group by d.path, d.fqname\n"
    ),
    # cross-file: a file's rows read the defs of the files it imports (`dependencies`)
    "file_imports": (
        "-- @incremental: partition_by = path\n"
        "select distinct i.path, f.path as imported_path\n"
        "from imports i join files f on f.module = i.target_module\n"
    ),
    "imported_def_counts": (
        "-- @incremental: partition_by = path; drivers = file_imports;"
        " dependencies = file_imports.imported_path\n"
        "select fi.path, fi.imported_path, count(d.def_id) as defs, max(d.name) as last\n"
        "from file_imports fi join defs d on d.path = fi.imported_path\n"
        "group by fi.path, fi.imported_path\n"
    ),
}
PATHS = ("pkg/__init__.py", "pkg/a.py", "pkg/sub/__init__.py", "pkg/sub/b.py", "tool.py")
SOURCES = (
    "",
    "import os\n\ndef f(x):\n    return os.path.join(x, 'y')\n",
    "from . import a\nfrom .sub import b\n\nclass C(a.Base):\n    def m(self):\n        return b.g()\n",
    "def g():\n    return [i * 2 for i in range(3)]\n\nclass Base:\n    pass\n",
    "def broken(:\n    pass\n",
    "from .a import *\nfrom pkg.sub.b import *\n\ndef h():\n    return f(g())\n",
    "x = 1\n\ndef outer():\n    y = 2\n    def inner():\n        global x\n        x = y\n"
    "    return inner\n\nclass K:\n    __p = 1\n    def m(self):\n        return self.__p\n",
    "from os.path import *\n\ndef f(v):\n    return join(v, Base)\n",
    "# a comment: every id below moves\nfrom . import a\nfrom .sub import b\n\n"
    "class C(a.Base):\n    def m(self):\n        return b.g()\n",
)
# built-in CPG views declared incremental (with what they read upstream); the property test
# adds the whole CPG (cpg_edges and cpg_props read the value flow), the targeted tests need not
CPG_VIEWS = ("idx_def_nodes", "res_binding_values", "res_ref_bindings")
WHOLE_CPG = ("cpg_edges", "cpg_props", "cpg_nodes")
_file_edit = st.tuples(st.sampled_from(PATHS), st.none() | st.sampled_from(SOURCES))


def _finished(
    project: Project, store: Path, views: tuple[str, ...] = CPG_VIEWS, *, evidence: bool = True
) -> dict[str, TaskFinish]:
    """Build `views` (and, with `evidence`, the evidence views and tables); what each view
    reported."""
    events: list[object] = []
    build_project(
        project,
        store=store,
        select=(sorted(EVIDENCE_VIEWS) if evidence else []) + list(views),
        store_evidence=TABLE_NAMES if evidence else (),
        extract_workers=1,
        on_event=events.append,
    )
    return {e.task: e for e in events if isinstance(e, TaskFinish)}


def _build(
    project: Project, store: Path, views: tuple[str, ...] = CPG_VIEWS, *, evidence: bool = True
) -> dict[str, int | None]:
    """`_finished`'s partitions recomputed per view."""
    found = _finished(project, store, views, evidence=evidence)
    return {name: event.partitions_recomputed for name, event in found.items()}


def _versions(store: Path) -> dict[str, tuple[str | None, str]]:
    delta = DeltaStore(store)
    out = {}
    for name in delta.names():
        info = delta.info(name)
        assert info is not None
        out[name] = (info.data_version, table_version(delta.read(name), info.partition_by))
    return out


# each example builds the whole CPG several times (~20 s): two in CI, more with the variable
@settings(max_examples=EXAMPLES or 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    initial=st.dictionaries(st.sampled_from(PATHS), st.sampled_from(SOURCES), min_size=1),
    edits=st.lists(st.lists(_file_edit, min_size=1, max_size=3), min_size=1, max_size=3),
)
def test_evidence_and_per_file_views_equal_cold(
    initial: dict[str, str], edits: list[list[tuple[str, str | None]]]
) -> None:
    with tempfile.TemporaryDirectory(prefix="cpg-evid-") as scratch:
        root = Path(scratch)
        repo, views = root / "repo", root / "views"
        views.mkdir()
        for name, sql in EVIDENCE_VIEWS.items():
            (views / f"{name}.sql").write_text(sql, encoding="utf-8")
        for path, source in initial.items():
            _write(repo, path, source)
        project = Project(root=root, view_dirs=(views,), include_cpg=True, repo=repo)
        _build(project, root / "store", CPG_VIEWS + WHOLE_CPG)
        for batch in edits:
            for path, source in batch:
                if source is None:
                    (repo / path).unlink(missing_ok=True)
                else:
                    _write(repo, path, source)
            _build(project, root / "store", CPG_VIEWS + WHOLE_CPG)
            cold = root / "cold"
            shutil.rmtree(cold, ignore_errors=True)
            _build(project, cold, CPG_VIEWS + WHOLE_CPG)
            mine, theirs = _versions(root / "store"), _versions(cold)
            assert mine == theirs
            assert all(recorded == content for recorded, content in mine.values())


def _write(repo: Path, path: str, source: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source, encoding="utf-8")


def test_a_changed_lookup_partition_recomputes_its_readers_only(tmp_path: Path) -> None:
    """`imported_def_counts` reads the defs of imported files: editing a.py recomputes a.py
    and its importer b.py, not the six files importing b; editing h.py (imported by no one)
    recomputes h.py alone — and each store equals a cold build."""
    repo, views = tmp_path / "repo", tmp_path / "views"
    views.mkdir()
    for name, sql in EVIDENCE_VIEWS.items():
        (views / f"{name}.sql").write_text(sql, encoding="utf-8")
    _write(repo, "a.py", "def f():\n    return 1\n")
    _write(repo, "b.py", "from a import f\n")
    for name in "cdefgh":
        _write(repo, f"{name}.py", "from b import f\n")
    project = Project(root=tmp_path, view_dirs=(views,), include_cpg=True, repo=repo)
    _build(project, tmp_path / "store")
    counts = []
    for edited in ("a.py", "h.py"):
        _write(repo, edited, (repo / edited).read_text() + "\ndef added():\n    pass\n")
        counts.append(_build(project, tmp_path / "store")["imported_def_counts"])
        shutil.rmtree(tmp_path / "cold", ignore_errors=True)
        _build(project, tmp_path / "cold")
        assert _versions(tmp_path / "store") == _versions(tmp_path / "cold")
    assert counts == [2, 1]


def test_a_star_imported_file_recomputes_its_star_importers(tmp_path: Path) -> None:
    """The built-in `res_symbol_bindings` is incremental by file with its star imports as
    dependencies: defining `g` in a.py re-resolves `g` in b.py (`from a import *`), which was
    not edited, and leaves the six other files alone; the store equals a cold build."""
    repo = tmp_path / "repo"
    _write(repo, "a.py", "def f():\n    return 1\n")
    _write(repo, "b.py", "from a import *\n\nprint(g)\n")
    for name in "cdefgh":
        _write(repo, f"{name}.py", "x = 1\n")
    project = Project(root=tmp_path, view_dirs=(), include_cpg=True, repo=repo)
    _build(project, tmp_path / "store", evidence=False)
    _write(repo, "a.py", "def f():\n    return 1\n\ndef g():\n    pass\n")
    recomputed = _build(project, tmp_path / "store", evidence=False)
    assert recomputed["res_symbol_bindings"] == 2, recomputed
    _build(project, tmp_path / "cold", evidence=False)
    assert _versions(tmp_path / "store") == _versions(tmp_path / "cold")
    rows = DeltaStore(tmp_path / "store").read("res_symbol_bindings").to_pylist()
    assert {(r["path"], r["method"]) for r in rows if r["name"] == "g"} >= {("b.py", "star_import")}


def test_a_binding_file_edit_recomputes_the_files_using_its_names(tmp_path: Path) -> None:
    """`res_def_use` reads a binding's definitions by the binding's file (`dependencies` =
    the files each file's names resolve into): a second `x = ...` in q.py changes the def-use
    rows of p.py, which reads `x` through `from q import *` and was not edited; r.py (its own
    `x`) and the other files are not recomputed, and the store equals a cold build."""
    repo = tmp_path / "repo"
    _write(repo, "q.py", "x = 1\n")
    _write(repo, "p.py", "from q import *\n\ndef use():\n    return x\n")
    _write(repo, "r.py", "from q import *\n\ndef put():\n    global x\n    x = 2\n")
    for name in "cdef":
        _write(repo, f"{name}.py", "y = 1\nz = y\n")
    project = Project(root=tmp_path, view_dirs=(), include_cpg=True, repo=repo)

    def build(store: Path) -> dict[str, int | None]:
        return _build(project, store, ("res_def_use",), evidence=False)

    build(tmp_path / "store")
    _write(repo, "q.py", "x = 1\n\ndef again():\n    global x\n    x = 3\n")
    recomputed = build(tmp_path / "store")
    assert recomputed["res_def_use"] == 2, recomputed  # q.py and p.py
    uses = DeltaStore(tmp_path / "store").read("res_def_use").to_pylist()
    seen = {r["def_node_id"] for r in uses if r["path"] == "p.py"}
    assert any(d.startswith("ref:q.py:") for d in seen) and len(seen) == 2, seen
    build(tmp_path / "cold")
    assert _versions(tmp_path / "store") == _versions(tmp_path / "cold")


def test_a_cached_driver_gives_its_saved_map_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`x + y` → `y + x`: the references change (each name is at the other's span), the
    symbols do not — `res_symbol_bindings` is a cache hit that drives `res_ref_bindings`, which
    recomputes a.py comparing the hit's saved partition map (not hashing its rows; they are
    read once, for the partition recomputed); the store equals a cold build."""
    repo = tmp_path / "repo"
    _write(repo, "a.py", "x = 1\ny = 2\n\ndef f():\n    return x + y\n")
    for name in "bcd":
        _write(repo, f"{name}.py", "from a import f\n")
    project = Project(root=tmp_path, view_dirs=(), include_cpg=True, repo=repo)
    _build(project, tmp_path / "store", evidence=False)
    reads: list[str] = []
    read = DeltaStore.read

    def spy(self: DeltaStore, name: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(name)
        return read(self, name, *args, **kwargs)

    monkeypatch.setattr(DeltaStore, "read", spy)
    hashed: list[list[str]] = []
    real_partition = partition_run.partition

    def hashing(table: pa.Table, column: str) -> Any:
        hashed.append(table.column_names)
        return real_partition(table, column)

    monkeypatch.setattr(partition_run, "partition", hashing)
    _write(repo, "a.py", (repo / "a.py").read_text().replace("x + y", "y + x"))
    finished = _finished(project, tmp_path / "store", evidence=False)
    assert finished["res_symbol_bindings"].cache_hit
    assert finished["res_ref_bindings"].partitions_recomputed == 1
    assert reads.count("res_symbol_bindings") == 1  # the node's driver, filtered to a.py
    assert not any("symbol_id" in columns for columns in hashed)  # its map: the saved one
    monkeypatch.undo()
    _build(project, tmp_path / "cold", evidence=False)
    assert _versions(tmp_path / "store") == _versions(tmp_path / "cold")
