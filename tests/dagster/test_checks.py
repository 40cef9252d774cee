"""Data tests as Dagster asset checks, run by real Dagster (`materialize` on real instances, real
stores): results come from the build's core evaluation, blocking checks keep downstream assets
from being materialized, warnings do not, check-only runs evaluate against the store, and a
check whose table does not exist yet fails saying what to build."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from cpg_core.plan import compile_plan
from cpg_core.project import Project, load_project
from cpg_core.store.delta_store import DeltaStore
from cpg_dagster.definitions import cpg_definitions
from tests.dagster.projects import materialize_defs
from tests.plan.projects import write_project

CHECKED = (
    "-- @test accepted_values: status in ('new', 'paid')\n"
    "select order_id, customer_id, amount, status from orders\n"
)
VIEWS = {
    "checked": CHECKED,  # fails, error severity: its readers are not materialized
    "after_checked": "select order_id, status from checked\n",
    "big": "-- @test expression: amount >= 5 ; severity: warn\nselect order_id, amount from orders\n",
    "after_big": "select order_id from big\n",  # a warning does not block
    "paid": (
        "-- @keys: order_id\n"
        "-- @test not_null: customer_id\n"
        "-- @test relationships: customer_id -> customers.customer_id\n"
        "-- @test row_count: >= 1\n"
        "-- @contract: enforced\n"
        "-- @column order_id: bigint not null\n"
        "-- @column customer_id: bigint\n"
        "select order_id, customer_id from orders where status = 'paid'\n"
    ),
    "per_customer": "select customer_id, count(*) as n from paid group by customer_id\n",
}
SINGULAR = "-- Paid orders have customers.\nselect * from paid where customer_id is null\n"


def _project(root: Path, views: dict[str, str] = VIEWS) -> Project:
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "paid_have_customers.sql").write_text(SINGULAR)
    return load_project(write_project(root, views))


def _defs(project: Project) -> dg.Definitions:
    return cpg_definitions(compile_plan(project, cache=False), project=project)


def _checks(result: dg.ExecuteInJobResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    out: dict[tuple[str, str], dg.AssetCheckEvaluation] = {}
    for event in result.get_asset_check_evaluations():
        out[(event.asset_key.to_user_string(), event.check_name)] = event
    return out


def _materialized(result: dg.ExecuteInJobResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_check_specs_block_and_depend_like_the_tests(tmp_path: Path) -> None:
    defs = _defs(_project(tmp_path))
    specs = {
        (s.asset_key.to_user_string(), s.name): s
        for a in defs.assets or []
        if isinstance(a, dg.AssetsDefinition)
        for s in a.check_specs
    }
    assert set(specs) == {
        ("checked", "accepted_values_status"),
        ("big", "expression"),
        ("paid", "keys_unique"),
        ("paid", "not_null_customer_id"),
        ("paid", "relationships_customer_id_customers"),
        ("paid", "row_count"),
        ("paid", "not_null_order_id"),  # the contract's `not null`, tested on the data
        ("paid", "paid_have_customers"),  # a singular test: a check of the view it reads
    }
    assert specs[("checked", "accepted_values_status")].blocking
    assert not specs[("big", "expression")].blocking  # warn
    relationships = specs[("paid", "relationships_customer_id_customers")]
    assert [d.asset_key for d in relationships.additional_deps] == [dg.AssetKey("customers")]
    assert specs[("paid", "paid_have_customers")].description == "Paid orders have customers."


def test_materialize_reports_the_builds_results_and_blocks_downstream(tmp_path: Path) -> None:
    project = _project(tmp_path)
    defs = _defs(project)
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        assert not result.success  # a blocking check failed with ERROR severity
        failure = result.get_step_failure_events()[0].step_failure_data.error
        assert failure is not None and "blocking asset check" in failure.message
        materialized = _materialized(result)
        assert "after_checked" not in materialized  # blocked: never run
        assert {"checked", "big", "after_big", "paid", "per_customer"} <= materialized
        assert not DeltaStore(project.store).exists("after_checked")
        checks = _checks(result)
        failed = checks[("checked", "accepted_values_status")]
        assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
        assert failed.description is not None
        assert failed.description.splitlines()[:3] == [
            "FAIL  checked.accepted_values_status [accepted_values, severity error]  "
            "views/checked.sql:1",
            "      1 failing row(s)",
            '      {"order_id":4,"customer_id":30,"amount":9.0,"status":"void"}',
        ]
        assert failed.metadata["failing_rows"] == dg.IntMetadataValue(1)
        warned = checks[("big", "expression")]
        assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
        passing = [
            "keys_unique",
            "not_null_customer_id",
            "relationships_customer_id_customers",
            "row_count",
            "not_null_order_id",
            "paid_have_customers",
        ]
        assert all(checks[("paid", name)].passed for name in passing)
        assert ("after_checked", "admitted") not in checks  # planned fine: no such check
        assert len(checks) == 2 + len(passing)  # every selected check reported


def test_a_warm_rerun_reports_cached_results_and_a_fix_heals(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with dg.instance_for_test() as instance:
        materialize_defs(_defs(project), instance)
        again = materialize_defs(_defs(project), instance)  # nothing changed
        checks = _checks(again)
        failed = checks[("checked", "accepted_values_status")]
        assert not failed.passed and failed.metadata["cached"] == dg.BoolMetadataValue(True)
        assert "after_checked" not in _materialized(again)
        (tmp_path / "views" / "checked.sql").write_text(
            CHECKED.replace("('new', 'paid')", "('new', 'paid', 'void')")
        )
        fixed = materialize_defs(_defs(load_project(tmp_path / "cpg.toml")), instance)
        assert fixed.success
        assert _checks(fixed)[("checked", "accepted_values_status")].passed
        assert "after_checked" in _materialized(fixed)


def test_a_check_only_run_evaluates_against_the_store(tmp_path: Path) -> None:
    project = _project(tmp_path)
    defs = _defs(project)
    key = dg.AssetCheckKey(dg.AssetKey("paid"), "keys_unique")
    failing = dg.AssetCheckKey(dg.AssetKey("checked"), "accepted_values_status")
    with dg.instance_for_test() as instance:
        before = materialize_defs(defs, instance, dg.AssetSelection.checks(key))
        assert _materialized(before) == set()
        missing = _checks(before)[("paid", "keys_unique")]
        assert not missing.passed  # never a silent success
        assert missing.description is not None
        assert "table 'paid' is not in the store" in missing.description
        assert "cpg build --select paid" in missing.description
        materialize_defs(defs, instance)
        alone = materialize_defs(defs, instance, dg.AssetSelection.checks(key, failing))
        assert _materialized(alone) == set()
        checks = _checks(alone)
        assert set(checks) == {("paid", "keys_unique"), ("checked", "accepted_values_status")}
        assert checks[("paid", "keys_unique")].passed
        assert checks[("paid", "keys_unique")].metadata["cached"] == dg.BoolMetadataValue(True)
        assert not checks[("checked", "accepted_values_status")].passed


def test_a_failed_admitted_check_describes_the_problem(tmp_path: Path) -> None:
    views = {**VIEWS, "broken": "select nope from orders\n"}
    project = _project(tmp_path, views)
    defs = _defs(project)
    plan = compile_plan(project, cache=False)
    key = dg.AssetCheckKey(dg.AssetKey("broken"), "admitted")
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance, dg.AssetSelection.checks(key))
        check = _checks(result)[("broken", "admitted")]
        assert not check.passed
        assert check.description == plan.tasks["broken"].problems[0].format()
        assert check.description is not None and check.description.startswith("views/broken.sql:1:")


@pytest.mark.parametrize("executor", ["serial", "parallel"])
def test_blocking_holds_in_both_modes(tmp_path: Path, executor: str) -> None:
    from cpg_dagster.resource import CpgResource

    project = _project(tmp_path)
    defs = _defs(project)
    resource = CpgResource(project_file=str(tmp_path / "cpg.toml"), mode=executor, max_tasks=2)
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition | dg.SourceAsset)]
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets, instance=instance, resources={"cpg": resource}, raise_on_error=False
        )
        assert "after_checked" not in _materialized(result)
        assert "after_big" in _materialized(result)
