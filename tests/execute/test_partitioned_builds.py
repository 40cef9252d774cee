"""Partition-incremental builds, end to end: real Parquet sources, DataFusion, Hamilton, Delta.

After every edit the incremental store must equal a cold build of the same inputs, table by
table (`assert_same_store`), while recomputing only what the edit touched: one changed day
recomputes one partition of each view it drives, a lookup or view change rebuilds whole.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.checks import in_arrow
from cpg_core.execute import slices
from cpg_core.execute.errors import ViewExecutionError
from cpg_core.execute.partial import partitioned_output
from cpg_core.execute.partition_run import PartitionRun
from cpg_core.execute.task_spec import PartialRun, Step, ViewTask
from cpg_core.pipeline import build_project
from cpg_core.plan.source_versions import source_version
from cpg_core.project import Project, load_project
from cpg_core.settings import ExecutionMode, ExecutorConfig, ExecutorKind
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import TaskFinish
from cpg_core.store.partitions import load_map, partition
from cpg_core.store.runs import load_state
from tests.partitioned_project import (
    EDITED_DAILY,
    VIEWS,
    Built,
    PartitionedProject,
    assert_same_store,
)
from tests.paths import FIXTURE_REPO

build_module = importlib.import_module("cpg_core.execute.build")  # the package exports `build`
partial_module = importlib.import_module("cpg_core.execute.partial")
ALL_FOUR = {"daily": 4, "ranked": 4, "per_event": 4, "overall": None}


@pytest.fixture
def project(tmp_path: Path) -> PartitionedProject:
    return PartitionedProject(tmp_path / "project").write()


def _commits(store: Path, table: str) -> list[dict[str, Any]]:
    """The commitInfo of every commit of `table`, oldest first."""
    log = store / "tables" / table / "_delta_log"
    infos = []
    for file in sorted(log.glob("*.json")):
        for line in file.read_text().splitlines():
            if '"commitInfo"' in line:
                infos.append(json.loads(line)["commitInfo"])
    return infos


def test_one_changed_day_recomputes_one_partition_and_equals_a_cold_build(
    project: PartitionedProject, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    assert project.build(store).recomputed() == ALL_FOUR
    project.set_day("d01", 5, salt=9)
    built = project.build(store)
    assert built.recomputed() == {"daily": 1, "ranked": 1, "per_event": 1, "overall": None}
    assert_same_store(built, project.cold(tmp_path / "cold"))
    # the view's new version is one replaceWhere commit of that day's rows
    last = _commits(store, "daily")[-1]
    assert last["operation"] == "WRITE"
    assert last["operationParameters"] == {"mode": "Overwrite", "predicate": "day = 'd01'"}
    assert last["operationMetrics"]["num_added_rows"] == 3  # the day's three segments
    manifest = built.run.result.manifest
    assert {o.name: o.partitions_recomputed for o in manifest.outputs}["daily"] == 1


def test_deleted_added_and_null_partitions(project: PartitionedProject, tmp_path: Path) -> None:
    store = tmp_path / "store"
    project.build(store)
    project.delete_day("d02")
    project.set_day("d07", 2, salt=7)
    built = project.build(store)
    assert built.recomputed()["daily"] == 2  # one gone, one new
    assert_same_store(built, project.cold(tmp_path / "cold"))
    assert "d02" not in built.store.read("daily").column("day").to_pylist()
    project.set_day(None, 4, salt=3)  # rows whose day is null: a partition of their own
    built = project.build(store)
    assert built.recomputed()["daily"] == 1
    assert None in built.store.read("ranked").column("day").to_pylist()
    assert_same_store(built, project.cold(tmp_path / "cold"))
    project.set_day(None, 2, salt=5)
    built = project.build(store)
    assert built.recomputed()["daily"] == 1
    assert _commits(store, "daily")[-1]["operationParameters"]["predicate"] == "day IS NULL"
    assert_same_store(built, project.cold(tmp_path / "cold"))


INLINE_DRIVEN = {
    "paid": "-- @materialize: inline\n-- @incremental: partition_by = day\n"
    "select day, event_id, amount from events where amount >= 5\n",
    "small": "-- @materialize: inline\n-- @incremental: partition_by = day\n"
    "select day, event_id, amount from events where amount < 5\n",
    "money": "-- @incremental: partition_by = day\n"
    "select p.day, count(*) as n, sum(p.amount) as total, max(u.segment) as seg\n"
    "from paid p join users u on u.user_id = p.event_id % 7 group by p.day\n"
    "union all select day, count(*), sum(amount), 'small' from small group by day\n",
}


def test_inline_views_drive_their_stored_reader_by_partition(tmp_path: Path) -> None:
    """`money` reads `events` only through two inline views declared partitioned by day: one
    changed day recomputes one partition, and the store equals a cold build."""
    project = PartitionedProject(tmp_path / "project").write(views=INLINE_DRIVEN)
    store = tmp_path / "store"
    assert project.build(store).recomputed() == {"money": 4}
    project.set_day("d02", 6, salt=4)
    built = project.build(store)
    assert built.recomputed() == {"money": 1}
    assert_same_store(built, project.cold(tmp_path / "cold"))
    project.set_users(2)  # a lookup read by the inline chain: the whole view
    built = project.build(store)
    assert built.recomputed() == {"money": 4}
    assert_same_store(built, project.cold(tmp_path / "cold"))


WHOLE_DRIVER = {
    "shares": "-- @incremental: partition_by = day; drivers = none\n"
    "select day, event_id, amount / (select max(amount) from events) as share from events\n",
    "day_shares": "-- @incremental: partition_by = day\n"
    "select day, count(*) as n, sum(share) as total from shares group by day\n",
}


def test_a_view_rebuilt_whole_publishes_partitions_its_readers_recompute_by(
    tmp_path: Path,
) -> None:
    """`shares` divides by a global maximum (no per-day proof): it is rebuilt whole, but only
    the edited day's partition of it changes, so `day_shares` recomputes that day alone."""
    project = PartitionedProject(tmp_path / "project").write(views=WHOLE_DRIVER)
    store = tmp_path / "store"
    project.build(store)
    before = project.build(store).store.read("shares")
    project.set_day("d03", 5, salt=2)
    built = project.build(store)
    assert max(before.column("share").to_pylist()) == 1.0
    assert built.recomputed() == {"shares": 4, "day_shares": 1}
    assert_same_store(built, project.cold(tmp_path / "cold"))


def test_lookup_or_view_changes_rebuild_whole(project: PartitionedProject, tmp_path: Path) -> None:
    store = tmp_path / "store"
    project.build(store)
    project.set_users(1)
    built = project.build(store)
    assert built.recomputed() == {**ALL_FOUR, "per_event": 0}  # per_event reads no users
    outputs = {o.name: o for o in built.run.result.manifest.outputs}
    assert outputs["per_event"].written is False and outputs["daily"].partitions_recomputed == 4
    assert_same_store(built, project.cold(tmp_path / "cold"))
    project.set_view("daily", EDITED_DAILY)
    built = project.build(store)
    assert built.recomputed() == {**ALL_FOUR, "per_event": 0}
    assert_same_store(built, project.cold(tmp_path / "cold"))


def test_no_change_is_a_cache_hit_and_a_flip_back_reuses_the_cache(
    project: PartitionedProject, tmp_path: Path
) -> None:
    """Hamilton's key covers every input's data version, and a partial result is the table a
    full run would compute for those inputs, so caching it is sound: flipping a day back hits
    the cache, and the next partial build still starts from the right table."""
    store = tmp_path / "store"
    project.build(store)
    again = project.build(store)
    assert again.run.result.executed == ()
    assert again.recomputed() == {"daily": 0, "ranked": 0, "per_event": 0, "overall": None}
    project.set_day("d01", 6, salt=8)
    project.build(store)
    project.set_day("d01", 4, salt=1)  # back to the first build's day
    flipped = project.build(store)
    assert "daily" not in flipped.run.result.executed  # served from the cache
    assert_same_store(flipped, project.cold(tmp_path / "cold"))
    state = load_state(store).state
    assert state is not None and state.datasets["daily"].inputs is not None
    project.set_day("d03", 2, salt=4)
    after = project.build(store)
    assert after.recomputed()["daily"] == 1
    assert_same_store(after, project.cold(tmp_path / "cold"))


def test_a_build_that_fails_before_its_commit_is_followed_by_a_correct_one(
    project: PartitionedProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The partitions were replaced but the run state (and the maps) were not committed: the
    next build cannot trust what is stored and rebuilds whole, never less."""
    store = tmp_path / "store"
    project.build(store)
    project.set_day("d00", 2, salt=6)

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk gone at the commit")

    with monkeypatch.context() as patch:
        patch.setattr(build_module, "commit_run", fail)
        with pytest.raises(OSError, match="disk gone"):
            project.build(store)
    project.set_day("d01", 2, salt=6)
    built = project.build(store)
    assert built.recomputed()["daily"] == 4  # the stored table is not the recorded one
    assert_same_store(built, project.cold(tmp_path / "cold"))


def _tests(built: Built) -> dict[str, DataTestResult]:
    report = built.run.result.manifest.data_tests
    assert report is not None
    return {r.id: r for r in report.results}


def test_a_partial_run_tests_its_keys_on_the_new_rows_and_the_kept_rows_they_could_repeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its keys_unique test passed on the table a partial run kept rows of: the new rows are
    checked (distinct, and no kept row's key), not every row again; a key repeated across
    partitions still fails, with what a cold build's test reports."""
    keyed = {**VIEWS, "per_event": "-- @keys: event_id\n" + VIEWS["per_event"]}
    project = PartitionedProject(tmp_path / "project").write(views=keyed)
    store = tmp_path / "store"
    assert _tests(project.build(store))["per_event.keys_unique"].status == "passed"
    whole: list[int] = []
    every_row = in_arrow._unique
    monkeypatch.setattr(
        in_arrow, "_unique", lambda keys, rows: whole.append(rows) or every_row(keys, rows)
    )
    project.set_day("d01", 5, salt=9)
    built = project.build(store)
    assert built.recomputed()["per_event"] == 1
    found = _tests(built)["per_event.keys_unique"]
    assert (found.status, found.cached, whole) == ("passed", False, [])
    project.set_day("d02", 2, salt=9)  # event ids 9000 and 9001 again, in another day
    built = project.build(store)
    assert built.recomputed()["per_event"] == 1
    failed = _tests(built)["per_event.keys_unique"]
    cold = _tests(project.cold(tmp_path / "cold"))["per_event.keys_unique"]
    assert failed.status == "failed"
    assert (failed.failing_rows, failed.sample, failed.details) == (
        cold.failing_rows,
        cold.sample,
        cold.details,
    )


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_partial_builds_in_parallel_executors(
    project: PartitionedProject, tmp_path: Path, executor: ExecutorKind
) -> None:
    config = ExecutorConfig(mode=ExecutionMode.PARALLEL, executor=executor, max_tasks=2)
    store = tmp_path / "store"
    project.build(store, config)
    project.set_day("d02", 7, salt=2)
    built = project.build(store, config)
    assert built.recomputed() == {"daily": 1, "ranked": 1, "per_event": 1, "overall": None}
    assert_same_store(built, project.cold(tmp_path / "cold"))


def _view_over_t(partial: PartialRun | None = None) -> ViewTask:
    """A view partitioned by `day`, driven by table `t` (its SQL is never run here)."""
    return ViewTask(
        name="v",
        steps=(Step(name="v", sql="select 1", path="views/v.sql"),),
        inputs=("t",),
        fingerprint="f",
        partition_by="day",
        drivers=(("t", "day"),),
        partial=partial,
    )


def test_a_partial_run_producing_rows_of_other_partitions_fails_naming_the_view() -> None:
    """The runtime net under the compiler's proof: a partial run must stay in its partitions."""
    base_rows = pa.table({"day": ["a", "b"], "n": [1, 2]})
    base = partition(base_rows, "day")[1]
    partial = PartialRun(keys=frozenset({'"a"'}), kept=base_rows.slice(1), base=base)
    task = _view_over_t(partial)
    inputs = {"t": base_rows}
    with pytest.raises(ViewExecutionError, match=r"views/v.sql.*1 other partition\(s\) of day"):
        partitioned_output(task, inputs, lambda _: pa.table({"day": ["a", "c"], "n": [5, 6]}))
    ok = partitioned_output(task, inputs, lambda _: pa.table({"day": ["a"], "n": [5]}))
    assert sorted(ok.to_pylist(), key=str) == [{"day": "a", "n": 5}, {"day": "b", "n": 2}]


def test_changed_partitions_since_the_last_build_are_known(
    project: PartitionedProject, tmp_path: Path
) -> None:
    """What a cross-partition view (phase 2: the CPG's resolution) asks: which partitions of an
    input changed since the last successful build."""
    store = tmp_path / "store"
    before = project.build(store)
    old_daily = before.store.read("daily")
    project.set_day("d01", 5, salt=9)
    after = project.build(store)
    partitions = PartitionRun(after.run.plan, after.store)
    assert partitions.changed_since_last_build("daily", old_daily, "day") == {'"d01"'}
    assert partitions.changed_since_last_build("daily", after.store.read("daily"), "day") == set()
    assert partitions.changed_since_last_build("overall", old_daily, "day") is None


def test_a_driving_parquet_source_is_read_by_file_in_its_compiled_types(tmp_path: Path) -> None:
    """Sources are lazy, with cheap versions, except one that drives a partition-incremental
    view: read by file at the start of the build, in the types the view was compiled against
    (a uint64 column as decimal(20, 0)), its data version its partition map's. The view's
    lookup stays lazy: its recorded version is the source's cheap one."""
    root = tmp_path / "p"
    events = root / "data" / "events"
    events.mkdir(parents=True)
    (root / "views").mkdir()

    def set_day(day: str, salt: int) -> None:
        qty = pa.array([2**63 + salt * 10 + i for i in range(3)], pa.uint64())
        pq.write_table(pa.table({"day": [day] * 3, "qty": qty}), events / f"{day}.parquet")

    for n in range(3):
        set_day(f"d{n}", n)
    pq.write_table(pa.table({"k": pa.array([1, 2], pa.int64())}), root / "data" / "lookup.parquet")
    (root / "views" / "big.sql").write_text(
        "-- @incremental: partition_by = day\n"
        "select e.day, e.qty, l.k from events e cross join lookup l\n",
        encoding="utf-8",
    )
    (root / "cpg.toml").write_text(
        'views = ["views"]\ninclude_cpg = false\n'
        '[sources.events]\npath = "data/events"\nformat = "parquet"\n'
        '[sources.lookup]\npath = "data/lookup.parquet"\n',
        encoding="utf-8",
    )

    def build(store: Path) -> Built:
        events_seen: list[object] = []
        project = load_project(root / "cpg.toml")
        run = build_project(project, store=store, on_event=events_seen.append)
        finished = {e.task: e for e in events_seen if isinstance(e, TaskFinish)}
        return Built(run, finished, DeltaStore(store))

    store = tmp_path / "store"
    assert build(store).recomputed() == {"big": 3}
    set_day("d1", 7)
    built = build(store)
    assert built.recomputed() == {"big": 1}
    assert_same_store(built, build(tmp_path / "cold"))
    rows = built.store.read("big")
    assert rows.schema.field("qty").type == pa.decimal128(20, 0)
    assert sorted(rows.column("qty").to_pylist())[-1] == 2**63 + 72
    inputs = built.run.result.manifest.inputs
    driver = load_map(store, "events", inputs["events"])
    assert (
        driver is not None
        and driver.column == "day"
        and set(driver.hashes)
        == {
            '"d0"',
            '"d1"',
            '"d2"',
        }
    )
    lookup = next(s for s in load_project(root / "cpg.toml").sources if s.name == "lookup")
    assert inputs["lookup"] == source_version(lookup, store)


def _spy_slices(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every view from one row of driver rows runs in slices; which ran, and in how many."""
    monkeypatch.setattr(slices, "SLICE_ROWS", 1)
    sliced: dict[str, int] = {}
    real = partial_module.run_in_slices

    def spy(task: ViewTask, *args: Any) -> Any:
        sliced[task.name] = len(args[1])
        return real(task, *args)

    monkeypatch.setattr(partial_module, "run_in_slices", spy)
    return sliced


def test_a_whole_run_over_big_drivers_runs_in_slices_and_stores_the_same_table(
    project: PartitionedProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partitioned view's whole run is cut into slices of partitions when its in-memory
    drivers are big (`execute.slices`): one query per slice, the sorted slices concatenated.
    The stored tables and partition maps equal one run's, null partitions (sorted last)
    included; then an edit recomputes one partition as usual."""
    project.set_day(None, 3, salt=4)
    one_run = project.cold(tmp_path / "one")
    sliced = _spy_slices(monkeypatch)
    store = tmp_path / "store"
    built = project.build(store)
    assert sliced == {"daily": 5, "ranked": 5, "per_event": 5}
    assert_same_store(built, one_run)
    project.set_day("d01", 5, salt=9)
    assert project.build(store).recomputed()["ranked"] == 1


def test_the_cpg_built_in_slices_equals_the_cpg_built_in_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The built-in CPG's partitioned views (`cpg_edges` over its many drivers among them),
    each run in slices of files, give every table the data version of one run."""
    project = Project(root=tmp_path, view_dirs=(), include_cpg=True, repo=FIXTURE_REPO)
    build_project(project, store=tmp_path / "one", extract_workers=1)
    sliced = _spy_slices(monkeypatch)
    build_project(project, store=tmp_path / "sliced", extract_workers=1)
    assert {"cpg_edges", "cpg_props", "res_def_use"} <= sliced.keys()
    assert min(sliced.values()) > 1
    one, cut = DeltaStore(tmp_path / "one"), DeltaStore(tmp_path / "sliced")
    assert one.names() == cut.names()
    for name in one.names():
        before, after = one.info(name), cut.info(name)
        assert before is not None and after is not None
        assert before.data_version == after.data_version, name


def test_slices_out_of_order_fall_back_to_one_run_and_a_stray_row_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`run_in_slices` gives up (the caller then runs the view once) when the slices' rows do
    not come out in partition order, and a slice producing rows of a partition it was not
    given fails naming the view — the same net as a partial run."""
    driver = pa.table({"day": ["a", "a", "b", None], "n": [1, 2, 3, 4]})
    task = _view_over_t()

    def run(inputs: dict[str, Any]) -> pa.Table:
        return inputs["t"]

    def check(keys: frozenset[str], produced: set[str]) -> None:
        assert produced <= keys, (keys, produced)

    in_order = [frozenset({'"a"'}), frozenset({'"b"', "null"})]
    sliced = slices.run_in_slices(task, {"t": driver}, in_order, run, check)
    assert sliced is not None
    assert sliced[0].column("day").to_pylist() == ["a", "a", "b", None]
    assert sliced[1] == partition(driver, "day")[1]
    assert slices.run_in_slices(task, {"t": driver}, in_order[::-1], run, check) is None
    monkeypatch.setattr(slices, "SLICE_ROWS", 1)
    assert partitioned_output(task, {"t": driver}, run).num_rows == 4
    with pytest.raises(ViewExecutionError, match=r"views/v.sql.*other partition"):
        partitioned_output(task, {"t": driver}, lambda _: driver)  # ignores its slice
