"""Data tests inside real builds (real DataFusion, Delta, Hamilton): every test's result in the
manifest and as an event right after the tables it checks, error-severity failures blocking the
views downstream (never run, never stored), warnings not, the result cache across rebuilds, and
an edit that breaks a test, then its fix."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import msgspec
import pytest

from cpg_core.execute.errors import BuildError
from cpg_core.pipeline import BuildEvent, ProjectRun, build_project
from cpg_core.plan import compile_plan
from cpg_core.project import Project, load_project
from cpg_core.settings import ExecutionMode, ExecutorConfig
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import (
    DataTestFinish,
    InputStored,
    TaskBlocked,
    TaskFinish,
    decode_payload,
    read_events,
)
from tests.checks.projects import VIEWS as EVERY_KIND
from tests.checks.projects import write_tests_project
from tests.golden import check_golden
from tests.plan.projects import write_project

CHECKED = (
    "-- @test accepted_values: status in ('new', 'paid')\n"
    "select order_id, customer_id, amount, status from orders\n"
)
FIXED = CHECKED.replace("('new', 'paid')", "('new', 'paid', 'void')")
VIEWS = {
    "checked": CHECKED,  # fails (a void order): blocks its readers
    "after_checked": "select order_id, status from checked\n",
    "after_after": "select order_id from after_checked\n",
    "big": "-- @test expression: amount >= 5 ; severity: warn\nselect order_id, amount from orders\n",
    "after_big": "select order_id from big\n",  # a warning does not block
    "paid": "-- @keys: order_id\nselect order_id, customer_id from orders where status = 'paid'\n",
    "per_customer": "select customer_id, count(*) as n from paid group by customer_id\n",
    # a relationships test to a view built after it: reported, never waited for by its readers
    "early": (
        "-- @test relationships: customer_id -> late.customer_id\n"
        "select order_id, customer_id from orders\n"
    ),
    "late": "select distinct customer_id from early where customer_id > 10\n",
}
BLOCKED = ["after_checked", "after_after"]
SERIAL = ExecutorConfig()
PARALLEL = ExecutorConfig(mode=ExecutionMode.PARALLEL, max_tasks=2)


def _project(root: Path, views: dict[str, str] = VIEWS) -> Project:
    return load_project(write_project(root, views))


def _build(
    project: Project, config: ExecutorConfig = SERIAL
) -> tuple[ProjectRun, list[BuildEvent]]:
    events: list[BuildEvent] = []
    run = build_project(
        project, plan=compile_plan(project, cache=False), config=config, on_event=events.append
    )
    return run, events


def _statuses(run: ProjectRun) -> dict[str, str]:
    report = run.result.manifest.data_tests
    assert report is not None
    return {r.id: r.status for r in report.results}


@pytest.mark.parametrize("config", [SERIAL, PARALLEL], ids=["serial", "parallel"])
def test_an_error_failure_blocks_downstream_and_a_warning_does_not(
    tmp_path: Path, config: ExecutorConfig
) -> None:
    run, events = _build(_project(tmp_path), config)
    manifest = run.result.manifest
    assert _statuses(run) == {
        "checked.accepted_values_status": "failed",
        "big.expression": "failed",
        "paid.keys_unique": "passed",
        "early.relationships_customer_id_late": "failed",  # customer 10 is not > 10
    }
    assert [(b.view, b.blocked_by) for b in manifest.blocked] == [
        (view, ("checked.accepted_values_status",)) for view in BLOCKED
    ]
    outputs = {o.name for o in manifest.outputs}
    assert outputs == set(VIEWS) - set(BLOCKED)  # the failing view itself is stored
    store = DeltaStore(run.plan.project.store)
    assert not any(store.exists(v) for v in BLOCKED)  # never run, never stored
    assert set(run.result.tables) == outputs
    blocked = [e for e in events if isinstance(e, TaskBlocked)]
    assert [e.task for e in blocked] == BLOCKED
    assert "checked.accepted_values_status" in blocked[0].reason
    assert manifest.data_tests is not None and not manifest.data_tests.ok


def test_each_result_is_an_event_after_the_tables_it_checks_and_read(tmp_path: Path) -> None:
    run, events = _build(_project(tmp_path))
    position: dict[str, int] = {}
    for i, event in enumerate(events):
        if isinstance(event, TaskFinish | InputStored | TaskBlocked):
            position[event.task] = i
    tests = [(i, e) for i, e in enumerate(events) if isinstance(e, DataTestFinish)]
    assert {e.id for _, e in tests} == set(_statuses(run))
    for i, event in tests:
        assert event.task is not None and position[event.task] < i
        assert all(position.get(name, -1) < i for name in event.reads)
    # the blocked view is reported after the failure that blocked it
    failed = next(i for i, e in tests if e.id == "checked.accepted_values_status")
    assert failed < position["after_checked"]
    # and the events table keeps them
    stored = [
        decode_payload(p)
        for p in read_events(DeltaStore(run.plan.project.store), run.result.manifest.run_id)
        .column("payload")
        .to_pylist()
    ]
    assert {e.id for e in stored if isinstance(e, DataTestFinish)} == set(_statuses(run))
    assert [e.task for e in stored if isinstance(e, TaskBlocked)] == BLOCKED


def test_warm_rebuilds_reuse_results_then_an_edit_breaks_and_a_fix_heals(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first, _ = _build(project)
    again, events = _build(project)  # nothing changed: every result from the cache, reported
    report = again.result.manifest.data_tests
    assert report is not None and report.counts.cached == report.counts.tests == 4
    assert _statuses(again) == _statuses(first)
    assert [b.view for b in again.result.manifest.blocked] == BLOCKED
    assert sum(isinstance(e, DataTestFinish) for e in events) == 4
    (tmp_path / "views" / "checked.sql").write_text(FIXED)  # the fix: void is accepted
    fixed, _ = _build(project)
    assert _statuses(fixed)["checked.accepted_values_status"] == "passed"
    assert fixed.result.manifest.blocked == ()
    assert {"after_checked", "after_after"} <= {o.name for o in fixed.result.manifest.outputs}
    fixed_report = fixed.result.manifest.data_tests
    assert fixed_report is not None and fixed_report.counts.cached == 3  # only the edited test ran
    (tmp_path / "views" / "paid.sql").write_text(  # an edit that breaks a test: keys repeat
        "-- @keys: customer_id\n"
        "select order_id, customer_id from orders where status in ('paid', 'new')\n"
    )
    broken, _ = _build(project)
    assert _statuses(broken)["paid.keys_unique"] == "failed"
    assert [b.view for b in broken.result.manifest.blocked] == ["per_customer"]


def test_every_test_kind_passes_and_fails_in_a_build_as_cpg_test_decides(tmp_path: Path) -> None:
    from cpg_core.checks.run import run_tests

    project = write_tests_project(tmp_path, EVERY_KIND)
    run, _ = _build(project)
    report = run.result.manifest.data_tests
    assert report is not None
    alone = run_tests(run.plan, use_cache=False)
    decided = sorted((r.id, r.status, r.failing_rows, str(r.sample)) for r in alone.results)
    assert sorted((r.id, r.status, r.failing_rows, str(r.sample)) for r in report.results) == (
        decided
    )
    kinds = {(r.kind, r.status) for r in report.results}
    for kind in ("not_null", "unique", "accepted_values", "relationships", "row_count"):
        assert {(kind, "passed"), (kind, "failed")} <= kinds, kind
    assert {("expression", "passed"), ("singular", "failed"), ("is_empty", "failed")} <= kinds
    assert ("singular", "passed") in kinds


def test_a_singular_test_blocks_the_readers_of_the_last_view_it_reads(tmp_path: Path) -> None:
    root = tmp_path
    views = {
        "paid": "select order_id, amount from orders where status = 'paid'\n",
        "per_order": "select order_id, amount * 2 as doubled from paid\n",
        "other": "select customer_id from customers\n",
    }
    (root / "tests").mkdir()
    (root / "tests" / "no_small.sql").write_text("select * from paid where amount < 2\n")
    project = load_project(write_project(root, views))
    run, events = _build(project)
    finish = next(e for e in events if isinstance(e, DataTestFinish) and e.id == "no_small")
    assert (finish.task, finish.status) == ("paid", "failed")
    assert [(b.view, b.blocked_by) for b in run.result.manifest.blocked] == [
        ("per_order", ("no_small",))
    ]


def test_builds_without_tests_run_none(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run = build_project(project, plan=compile_plan(project, cache=False), tests=())
    assert run.result.manifest.data_tests is None and run.result.manifest.blocked == ()
    only = build_project(project, plan=run.plan, tests=["big.expression"])
    assert _statuses(only) == {"big.expression": "failed"}
    assert only.result.manifest.blocked == ()


def test_a_test_over_the_builds_memory_limit_is_an_error_naming_it(tmp_path: Path) -> None:
    """A build's tests get its memory share: a failing relationships test (an anti join: its
    hash table cannot spill) over 300,000 ids under 1 MiB is an error naming the test, never a
    crash and never a pass; the views themselves (scans) are built."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    views = {
        "items": "-- @test relationships: id -> parents.id\nselect id from ids\n",
        "parents": "select id + 1 as id from ids\n",  # id 0 has no parent: the test fails
    }
    toml = write_project(tmp_path, views, extra_toml='[sources.ids]\npath = "data/ids.parquet"\n')
    ids = pa.table({"id": pa.array(range(300_000), pa.int64())})
    pq.write_table(ids, tmp_path / "data" / "ids.parquet")
    project = load_project(toml)
    limited = ExecutorConfig(memory_limit_mb=1)
    run, _ = _build(project, limited)
    report = run.result.manifest.data_tests
    assert report is not None
    [result] = report.results
    assert (result.id, result.status, result.failing_rows) == (
        "items.relationships_id_parents",
        "error",
        None,
    )
    assert result.message is not None
    assert result.message.startswith("needs more than its memory limit of 1 MiB")
    assert {o.name for o in run.result.manifest.outputs} == set(views)
    unlimited = build_project(project, plan=run.plan, config=SERIAL)  # the error is not cached
    assert _statuses(unlimited) == {"items.relationships_id_parents": "failed"}


def test_a_failing_view_never_leaves_a_reader_waiting_for_a_gate(tmp_path: Path) -> None:
    views = {
        **VIEWS,
        "boom": "select 10 / (order_id - order_id) as x from orders\n",  # fails at run time
        "slow_reader": "select a.order_id from paid a cross join paid b\n",
    }
    project = _project(tmp_path, views)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _build(project, PARALLEL)
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "the build hangs"
    assert failure and isinstance(failure[0], BuildError)


def test_a_stopped_build_releases_every_gate(tmp_path: Path) -> None:
    """A reader waiting for a test whose table will never come (the build failed elsewhere)
    is released when the run stops, and told the test was not decided."""
    from cpg_core.execute.build_tests import BuildTests

    project = _project(tmp_path)
    plan = compile_plan(project, cache=False)
    tests = BuildTests(plan, ["paid", "per_customer"], tmp_path / "store", lambda _e: None)
    assert tests.gates == {"paid": ["paid.keys_unique"]}
    tests.start({})
    found: list[tuple[str, ...]] = []
    waiter = threading.Thread(target=lambda: found.append(tests.blocked_by(["paid"])))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive()  # waiting: paid's table was never computed
    tests.stop("view boom failed")
    waiter.join(10)
    assert found == [("paid.keys_unique",)] and tests.stopped == "view boom failed"
    tests.close()


def test_the_manifest_of_a_blocked_build_matches_its_golden(tmp_path: Path) -> None:
    """The manifest's `data_tests` and `blocked` of a serial build with a failing error test,
    a warning and blocked views (durations fixed: wall time)."""
    run, _ = _build(_project(tmp_path))
    report = run.result.manifest.data_tests
    assert report is not None
    results = tuple(msgspec.structs.replace(r, duration_s=0.25) for r in report.results)
    part = {
        "data_tests": msgspec.structs.replace(report, results=results),
        "blocked": run.result.manifest.blocked,
    }
    text = json.dumps(msgspec.to_builtins(part), indent=2, sort_keys=True) + "\n"
    check_golden("artifacts/run_manifest_blocked_tests.json", text)
