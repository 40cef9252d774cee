"""Every kind of data test passing and failing on real data: a real project built into a real
Delta store, tests evaluated by DataFusion over the stored tables, results cached in the store."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cpg_core.artifacts.contracts import DataTestReport, DataTestResult
from cpg_core.checks.cache import CACHE_FILE
from cpg_core.checks.run import SelectionError, run_tests
from cpg_core.pipeline import build_project
from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from tests.checks.projects import VIEWS, write_tests_project
from tests.plan.projects import ORDERS


# orders: order_id 1..4, customer_id 10, 10, 20, 30, amount 5.0, 7.5, 1.25, 9.0,
# status new, paid, paid, void; customers: 10, 20, 30 (countries de, fr, de).
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ExecutionPlan:
    project = write_tests_project(tmp_path_factory.mktemp("tests"))
    plan = compile_plan(project, cache=False)
    assert plan.problems == ()
    build_project(project, plan=plan)
    return plan


def _by_id(report: DataTestReport) -> dict[str, DataTestResult]:
    return {r.id: r for r in report.results}


def test_every_kind_passes_and_fails_on_real_data(built: ExecutionPlan) -> None:
    results = _by_id(run_tests(built, use_cache=False))
    outcome = {i: (r.status, r.failing_rows) for i, r in results.items()}
    assert outcome == {
        "orders_v.keys_unique": ("passed", 0),
        "orders_v.not_null_order_id": ("passed", 0),
        "orders_v.status_ok": ("passed", 0),
        "orders_v.relationships_customer_id_customers": ("passed", 0),
        "orders_v.row_count": ("passed", 0),
        "orders_v.positive": ("passed", 0),
        "orders_v.unique_customer_id": ("failed", 1),
        "orders_v.accepted_values_status": ("failed", 1),
        "orders_v.relationships_customer_id_german": ("failed", 1),
        "orders_v.row_count_2": ("failed", 1),
        "orders_v.big": ("failed", 1),
        "orders_v.not_null_live_status": ("failed", 1),
        "contracted.not_null_order_id": ("passed", 0),  # the plan cannot prove it: tested
        "contracted.not_null_note": ("failed", 2),
        "expensive.is_empty": ("failed", 1),
        "cheap.is_empty": ("passed", 0),
        "void_orders": ("failed", 1),
        "no_negative": ("passed", 0),
    }
    unique = results["orders_v.unique_customer_id"]
    assert unique.sample == ({"customer_id": 10, "occurrences": 2},)
    assert unique.details == {
        "rows": 4,
        "distinct_keys": 3,
        "duplicate_keys": 1,
        "duplicate_rows": 2,
    }
    assert unique.message == "1 key value(s) repeat"
    void = {"order_id": 4, "customer_id": 30, "amount": 9.0, "status": "void", "live_status": None}
    assert results["orders_v.accepted_values_status"].sample == (void,)
    assert results["orders_v.not_null_live_status"].sample == (void,)
    assert results["void_orders"].sample == (void,)
    german = results["orders_v.relationships_customer_id_german"]
    assert [row["order_id"] for row in german.sample] == [3]  # customer 20 is French
    assert german.reads.keys() == {"orders_v", "german"}
    row_count = results["orders_v.row_count_2"]
    assert (row_count.sample, row_count.message) == (({"row_count": 4},), "the view has 4 row(s)")
    big = results["orders_v.big"]
    assert (big.severity, [r["order_id"] for r in big.sample]) == ("warn", [3])
    assert results["expensive.is_empty"].details == {"rows": 1}
    assert results["contracted.not_null_note"].line == 3
    relationships = results["orders_v.relationships_customer_id_customers"]
    assert set(relationships.reads) == {"orders_v", "customers"}  # a source: read from its file


def test_warn_and_error_severity_and_the_report(built: ExecutionPlan) -> None:
    report = run_tests(built, use_cache=False)
    counts = report.counts
    assert (counts.tests, counts.passed, counts.failed, counts.warned, counts.errors) == (
        18,
        9,
        8,
        1,
        0,
    )
    assert not report.ok  # error-severity tests failed
    warnings_only = run_tests(built, select=["orders_v.big", "no_negative"], use_cache=False)
    assert [r.status for r in warnings_only.results] == ["failed", "passed"]
    assert warnings_only.ok  # a failing warn test does not fail the run
    assert warnings_only.plan_signature == built.signature


def test_results_are_cached_on_definition_and_data_version(tmp_path: Path) -> None:
    views = {**VIEWS, "customers_v": "-- @test unique: customer_id\nselect * from customers"}
    project = write_tests_project(tmp_path, views)
    plan = compile_plan(project, cache=False)
    build_project(project, plan=plan)
    first = run_tests(plan)
    assert first.counts.cached == 0 and (tmp_path / ".cpg/store" / CACHE_FILE).is_file()
    second = run_tests(plan)
    assert second.counts.cached == second.counts.tests  # nothing changed: nothing re-tested
    assert [r.status for r in second.results] == [r.status for r in first.results]
    assert all(
        s.cached and s.duration_s == f.duration_s
        for f, s in zip(first.results, second.results, strict=True)
    )
    # new orders: the views over orders change, customers_v does not
    pq.write_table(ORDERS.slice(0, 3), tmp_path / "data" / "orders.parquet")
    build_project(project, plan=plan)
    third = _by_id(run_tests(plan))
    assert third["customers_v.unique_customer_id"].cached
    assert not third["orders_v.not_null_order_id"].cached
    assert third["orders_v.row_count"].status == "failed"  # 3 rows now
    assert third["orders_v.accepted_values_status"].status == "passed"  # the void order is gone
    # a changed test definition is evaluated again, over unchanged data
    views["customers_v"] = "-- @test unique: customer_id ; severity: warn\nselect * from customers"
    plan = compile_plan(write_tests_project(tmp_path, views), cache=False)
    fourth = _by_id(run_tests(plan))
    assert not fourth["customers_v.unique_customer_id"].cached
    assert fourth["orders_v.not_null_order_id"].cached
    assert not _by_id(run_tests(plan, use_cache=False))["orders_v.not_null_order_id"].cached


def test_a_damaged_cache_file_is_ignored(built: ExecutionPlan, tmp_path: Path) -> None:
    store = tmp_path / "store"
    build_project(built.project, plan=built, store=store)
    run_tests(built, store=store)
    (store / CACHE_FILE).write_bytes(b"not msgpack")
    again = run_tests(built, store=store)
    assert again.counts.cached == 0 and again.counts.tests == 18


def test_tests_that_cannot_run_are_errors_never_passes(tmp_path: Path) -> None:
    views = {
        "orders_v": "-- @test not_null: order_id\nselect order_id, amount from orders\n",
        "unbuilt": "-- @test not_null: order_id\nselect order_id from orders\n",
        "broken": "-- @test not_null: order_id\nselect order_id, nope from orders\n",
    }
    project = write_tests_project(tmp_path, views)
    plan = compile_plan(project, cache=False)
    build_project(project, plan=plan, select=["orders_v"])
    # the store's orders_v predates a new column a test needs (rebuild pending)
    views["orders_v"] = (
        "-- @test not_null: order_id, status\nselect order_id, amount, status from orders\n"
    )
    plan = compile_plan(write_tests_project(tmp_path, views), cache=False)
    results = _by_id(run_tests(plan))
    errors = {i: r.message for i, r in results.items() if r.status == "error"}
    store = tmp_path / ".cpg" / "store"
    drift = (
        "not evaluated: the stored table 'orders_v' lacks column(s) status (it was built from "
        "another version of the view: rebuild it)"
    )
    assert errors == {
        "orders_v.not_null_order_id": drift,
        "orders_v.not_null_status": drift,
        "unbuilt.not_null_order_id": f"not evaluated: table 'unbuilt' is not in the store {store} "
        "(run `cpg build`)",
        "broken.not_null_order_id": "not evaluated: view broken is not admitted (1 problem(s))",
        "void_orders": drift,
        "no_negative": drift,
    }
    assert all(results[i].failing_rows is None for i in errors)
    assert results["orders_v.not_null_status"].details == {"missing_columns": ["status"]}
    assert run_tests(plan).counts.cached == 0  # errors are retried, never cached


def test_selection(built: ExecutionPlan) -> None:
    ids = [r.id for r in run_tests(built, select=["expensive", "void_orders"]).results]
    assert ids == ["expensive.is_empty", "void_orders"]
    one = run_tests(built, select=["orders_v.positive"])
    assert [r.id for r in one.results] == ["orders_v.positive"]
    with pytest.raises(SelectionError, match=r"no view or test named 'order_v' \(did you mean"):
        run_tests(built, select=["order_v"])


def test_results_are_deterministic(built: ExecutionPlan) -> None:
    def stable(report: DataTestReport) -> list[tuple[object, ...]]:
        return [
            (r.id, r.status, r.failing_rows, r.sample, r.details, r.reads, r.definition_hash)
            for r in report.results
        ]

    assert stable(run_tests(built, use_cache=False)) == stable(run_tests(built, use_cache=False))


def test_a_table_of_every_type_samples_as_plain_data(tmp_path: Path) -> None:
    view = (
        "-- @test expression: order_id < 0\n"
        "select order_id, tags, address, cast('2024-01-02' as date) as day, "
        "cast(order_id as decimal(10, 2)) as price, arrow_cast('ab', 'Binary') as raw "
        "from orders where order_id = 1\n"
    )
    project = write_tests_project(tmp_path, {"typed": view})
    plan = compile_plan(project, cache=False)
    build_project(project, plan=plan)
    (result,) = [r for r in run_tests(plan).results if r.view == "typed"]
    assert result.sample == (
        {
            "order_id": 1,
            "tags": ["a"],
            "address": {"city": "x", "zip": 1},
            "day": "2024-01-02",
            "price": "1.00",
            "raw": "6162",
        },
    )
