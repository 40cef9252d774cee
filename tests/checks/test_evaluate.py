"""The evaluator on its own, in real DataFusion: limits (memory, time) and engine failures give
an error result naming the test, never a crash and never a pass."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.checks.evaluate import Limits, evaluate
from cpg_core.checks.isolated import IsolatedRunner
from cpg_core.plan.planned_tests import PlannedTest, declared_test
from cpg_core.views.model import DeclaredTest

ROWS = 300_000
SLOW = (  # streams batches for minutes: 10^10 rows of a cross join
    "select a.value as x from generate_series(1, 100000) a cross join generate_series(1, 100000) b"
)
# blocking: its first batch comes after the whole aggregation (~40 s here)
SLOW_AGGREGATE = f"select x, count(*) as n from ({SLOW}) group by x having count(*) > 1000000"


def _singular(sql: str, reads: tuple[str, ...] = ()) -> PlannedTest:
    return PlannedTest(
        id="slow",
        name="slow",
        view=None,
        kind="singular",
        severity="error",
        sql=sql,
        reads=reads,
        description="",
    )


def test_a_test_over_its_memory_limit_is_an_error_naming_it() -> None:
    big = pa.table({"id": pa.array(range(ROWS), pa.int64())})
    # a relationships test is an anti join: its hash table cannot spill
    test = declared_test(
        "items",
        DeclaredTest(
            name="parent_exists",
            kind="relationships",
            columns=("id",),
            to_table="parents",
            to_column="id",
        ),
    )
    tables = {"items": big, "parents": big}
    result = evaluate(test, tables, limits=Limits(memory_limit_bytes=2**20))
    assert result.status == "error" and result.failing_rows is None
    assert result.id == "items.parent_exists"
    assert result.message is not None
    assert result.message.startswith(
        "needs more than its memory limit of 1 MiB even after spilling"
    )
    assert evaluate(test, tables).status == "passed"  # unlimited, it runs


def test_a_test_past_its_time_limit_is_stopped_in_its_worker(tmp_path: Path) -> None:
    quick = _singular("select 1 as x where false")
    with IsolatedRunner(tmp_path, (), Limits(timeout_s=1.0)) as runner:
        assert runner.evaluate(quick, {}).status == "passed"  # the worker is up
        started = time.perf_counter()
        result = runner.evaluate(_singular(SLOW_AGGREGATE), {})
        took = time.perf_counter() - started
        assert result.status == "error" and result.failing_rows is None
        assert result.message == "timed out after 1 s (its query was stopped)"
        assert took < 5, took  # the query alone takes ~40 s
        assert runner.evaluate(quick, {}).status == "passed"  # a fresh worker


def test_a_worker_that_dies_is_an_error(tmp_path: Path) -> None:
    with IsolatedRunner(tmp_path, (), Limits(timeout_s=60.0)) as runner:
        runner.evaluate(_singular("select 1 as x where false"), {})
        process = runner._process
        assert process is not None and process.pid is not None
        threading.Timer(0.5, lambda: os.kill(process.pid or 0, signal.SIGKILL)).start()
        result = runner.evaluate(_singular(SLOW_AGGREGATE), {})
        assert result.status == "error"
        assert result.message == ("the test's worker process died (exit code -9): out of memory?")


def test_a_streaming_test_past_its_time_limit_is_stopped_off_the_main_thread() -> None:
    found: list[DataTestResult] = []
    worker = threading.Thread(
        target=lambda: found.append(evaluate(_singular(SLOW), {}, limits=Limits(timeout_s=0.3)))
    )
    started = time.perf_counter()
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    (result,) = found
    assert result.status == "error" and "timed out after 0.3 s" in (result.message or "")
    assert time.perf_counter() - started < 10


def test_an_engine_failure_at_run_time_is_an_error() -> None:
    table = pa.table({"a": pa.array([1, 0], pa.int64())})
    result = evaluate(_singular("select 10 / a as q from t", ("t",)), {"t": table})
    assert result.status == "error"
    assert result.message == "the query failed: Arrow error: Divide by zero error"
    missing = evaluate(_singular("select * from t", ("t",)), {})
    assert (missing.status, missing.message) == ("error", "table(s) not available: t")


def test_tables_and_lazy_datasets_give_the_same_result() -> None:
    table = pa.table({"k": [1, 1, 2, None, None], "v": ["a", "b", "c", "d", "e"]})
    test = declared_test("t", DeclaredTest(name="u", kind="unique", columns=("k",)))
    in_memory = evaluate(test, {"t": table})
    lazy = evaluate(test, {"t": pads.dataset(table)})
    assert (in_memory.status, in_memory.failing_rows, in_memory.sample, in_memory.details) == (
        lazy.status,
        lazy.failing_rows,
        lazy.sample,
        lazy.details,
    )
    assert in_memory.sample == ({"k": 1, "occurrences": 2}, {"k": None, "occurrences": 2})


def test_the_sample_is_bounded_and_the_count_is_not() -> None:
    table = pa.table({"x": pa.array([None] * 20_000, pa.int64())})
    test = declared_test("t", DeclaredTest(name="n", kind="not_null", columns=("x",)))
    result = evaluate(test, {"t": table}, limits=Limits(sample_rows=3))
    assert (result.failing_rows, len(result.sample)) == (20_000, 3)


@pytest.mark.parametrize("blocked", ["view v is not admitted (2 problem(s))"])
def test_a_blocked_test_is_an_error(blocked: str) -> None:
    test = declared_test(
        "v", DeclaredTest(name="n", kind="not_null", columns=("x",)), blocked=blocked
    )
    result = evaluate(test, {"v": pa.table({"x": [1]})})
    assert (result.status, result.message) == ("error", f"not evaluated: {blocked}")
