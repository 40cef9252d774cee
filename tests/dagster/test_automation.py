"""Sensor, schedule and automation conditions, evaluated by Dagster on real instances."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from cpg_dagster.definitions import JOB_NAME, cpg_definitions
from cpg_dagster.sensors import SCHEDULE_NAME, SENSOR_NAME
from tests.paths import copy_fixture_repo
from tests.plan.projects import write_project

VIEWS = {
    "a": "select order_id, customer_id, amount from orders",
    "b": "select customer_id, sum(amount) as total from a group by customer_id",
    "c": "select count(*) as n from b",
    "other": "select name from customers",
}


def _defs(toml: Path) -> dg.Definitions:
    project = load_project(toml)
    return cpg_definitions(compile_plan(project, cache=False), project=project)


def _tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None
) -> dg.SensorResult:
    sensor = defs.get_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _requested(result: dg.SensorResult) -> set[str]:
    requests = result.run_requests or []
    return {k.to_user_string() for r in requests for k in r.asset_selection or []}


def test_sensor_requests_exactly_the_changed_view_and_its_downstream(tmp_path: Path) -> None:
    toml = write_project(tmp_path, VIEWS)
    defs = _defs(toml)
    with dg.instance_for_test() as instance:
        first = _tick(defs, instance, None)
        assert not first.run_requests and first.cursor
        unchanged = _tick(defs, instance, first.cursor)
        assert not unchanged.run_requests
        # a cosmetic edit keeps the fingerprint: nothing requested
        (tmp_path / "views" / "b.sql").write_text(
            "SELECT customer_id,\n  SUM(amount) AS total -- why\nFROM a GROUP BY customer_id",
            encoding="utf-8",
        )
        cosmetic = _tick(defs, instance, first.cursor)
        assert not cosmetic.run_requests
        (tmp_path / "views" / "b.sql").write_text(
            "select customer_id, max(amount) as total from a group by customer_id",
            encoding="utf-8",
        )
        changed = _tick(defs, instance, first.cursor)
        assert _requested(changed) == {"b", "c", "cpg/plan"}
        assert changed.cursor != first.cursor
        assert not _tick(defs, instance, changed.cursor).run_requests


def test_sensor_requests_evidence_and_downstream_when_the_repository_changes(
    tmp_path: Path,
) -> None:
    repo = copy_fixture_repo(tmp_path / "repo")
    (tmp_path / "cpg.toml").write_text(
        'include_cpg = true\nrepo = "repo"\nstore = "store"\n', encoding="utf-8"
    )
    defs = _defs(tmp_path / "cpg.toml")
    with dg.instance_for_test() as instance:
        first = _tick(defs, instance, None)
        assert not _tick(defs, instance, first.cursor).run_requests
        next(repo.rglob("*.py")).write_text("x = 1\n", encoding="utf-8")
        changed = _tick(defs, instance, first.cursor)
        requested = _requested(changed)
        assert {"files", "defs", "cpg_nodes", "cpg_edges"} <= requested
        assert "cpg/plan" not in requested  # same views, same plan signature


def test_nightly_schedule_targets_every_cpg_asset(tmp_path: Path) -> None:
    defs = _defs(write_project(tmp_path, VIEWS))
    schedule = defs.get_schedule_def(SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.job_name == JOB_NAME
    with dg.instance_for_test() as instance:
        with dg.build_schedule_context(instance=instance) as context:
            data = schedule.evaluate_tick(context)
        assert data.run_requests and len(data.run_requests) == 1
    job = defs.get_job_def(JOB_NAME)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"a", "b", "c", "other", "cpg/plan"} <= keys


def test_automation_reacts_to_code_changes_and_to_upstream_data(tmp_path: Path) -> None:
    toml = write_project(tmp_path, VIEWS)
    defs = _defs(toml)
    with dg.instance_for_test() as instance:
        initial = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert initial.total_requested == 0  # nothing materialized yet, nothing changed
        assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
        assert dg.materialize(assets, instance=instance, resources=defs.resources).success
        settled = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=initial.cursor
        )
        assert settled.total_requested == 0
        (tmp_path / "views" / "c.sql").write_text("select count(*) + 1 as n from b", "utf-8")
        edited = _defs(toml)
        after_edit = dg.evaluate_automation_conditions(
            defs=edited, instance=instance, cursor=settled.cursor
        )
        requested = {
            name
            for name in ("a", "b", "c", "other", "cpg/plan")
            if after_edit.get_num_requested(dg.AssetKey.from_user_string(name))
        }
        assert requested == {"c", "cpg/plan"}  # the edited view, and the plan (new signature)


def test_automation_requests_downstream_after_upstream_data_updates(tmp_path: Path) -> None:
    defs = _defs(write_project(tmp_path, VIEWS))
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    with dg.instance_for_test() as instance:
        assert dg.materialize(assets, instance=instance, resources=defs.resources).success
        settled = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        settled = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=settled.cursor
        )
        assert settled.total_requested == 0
        only_a = dg.materialize(
            assets, instance=instance, resources=defs.resources, selection=["a"]
        )
        assert only_a.success
        after = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=settled.cursor
        )
        assert after.get_num_requested(dg.AssetKey("b")) == 1
        assert after.get_num_requested(dg.AssetKey("other")) == 0
