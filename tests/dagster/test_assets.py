"""The assets factory run by real Dagster (`materialize` on real instances, real stores on disk)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._core.definitions.observe import observe

from cpg_core.plan import compile_plan
from cpg_core.project import Project, load_project
from cpg_core.store.delta_store import DeltaStore
from cpg_dagster.definitions import cpg_definitions
from cpg_dagster.resource import CpgResource
from tests.dagster.projects import materialize_defs
from tests.dagster.rebuilds import stale_status
from tests.paths import FIXTURE_REPO, copy_fixture_repo
from tests.plan.projects import write_project

VIEWS = {
    "a": "select order_id, customer_id, amount from orders",
    "b": "-- @keys: customer_id\nselect customer_id, sum(amount) as total from a group by customer_id",
    "c": "select count(*) as n from b",
    "other": "select name from customers",
}


def _defs(toml: Path) -> tuple[dg.Definitions, Project]:
    project = load_project(toml)
    return cpg_definitions(compile_plan(project, cache=False), project=project), project


def _keys(result: dg.ExecuteInJobResult) -> list[str]:
    return [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]


def plan_run_id(result: dg.ExecuteInJobResult) -> str:
    """cpg's run id, from the full run manifest on the plan asset's materialization."""
    for event in result.get_asset_materialization_events():
        if event.asset_key == dg.AssetKey(["cpg", "plan"]):
            manifest = event.materialization.metadata["run_manifest"].value
            assert isinstance(manifest, dict)
            return str(manifest["run_id"])
    raise AssertionError("no plan materialization")


def test_materialize_everything_then_a_subset(tmp_path: Path) -> None:
    defs, project = _defs(write_project(tmp_path, VIEWS))
    plan = compile_plan(project, cache=False)  # as loaded: before any measured duration
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        assert result.success
        keys = _keys(result)
        assert keys[-1] == "cpg/plan"
        assert set(keys) == {"a", "b", "c", "other", "cpg/plan"}
        assert keys.index("a") < keys.index("b") < keys.index("c")  # topological
        store = DeltaStore(project.store)
        events = {
            e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()
        }
        b = events["b"].materialization
        assert b.metadata["dagster/row_count"] == dg.IntMetadataValue(3)
        assert b.tags is not None
        info = store.info("b")
        assert info is not None and b.tags["dagster/data_version"] == info.data_version
        assert b.metadata["cpg.fingerprint"].value == plan.tasks["b"].fingerprint
        assert b.metadata["cpg.plan_signature"].value == plan.signature
        assert b.metadata["cpg.outcome"].value == "built"
        assert b.metadata["cpg.run_id"].value == plan_run_id(result)
        assert isinstance(b.metadata["dagster/column_lineage"], dg.TableColumnLineageMetadataValue)
        plan_event = events["cpg/plan"].materialization
        assert plan_event.tags is not None
        assert plan_event.tags["dagster/data_version"] == plan.signature
        assert plan_event.metadata["cpg.run_manifest_id"].value
        manifest = plan_event.metadata["run_manifest"].value
        assert isinstance(manifest, dict) and manifest["plan_signature"] == plan.signature
        assert "Critical path" in str(plan_event.metadata["summary"].value)
        schedule = plan_event.metadata["schedule"].value
        assert isinstance(schedule, dict) and schedule["ordered_tasks"] == list(plan.schedule.order)
        checks = {
            (c.asset_key.to_user_string(), c.check_name): c.passed
            for c in result.get_asset_check_evaluations()
        }
        assert checks[("b", "keys_unique")]
        assert not any(name == "admitted" for _, name in checks)  # every view was admitted

        before = {n: store.info(n) for n in ("a", "other")}
        subset = materialize_defs(defs, instance, ["c"])
        assert subset.success
        assert _keys(subset) == ["c"]  # only the selection; a and b read from the store
        assert {n: store.info(n) for n in ("a", "other")} == before


def test_subset_with_nothing_stored_upstream_fails_naming_the_view(tmp_path: Path) -> None:
    defs, _ = _defs(write_project(tmp_path, VIEWS))
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance, ["c"])
        assert not result.success
        failure = result.get_step_failure_events()[0]
        assert "'b' is read by the selection but is not in the store" in str(
            failure.step_failure_data.error
        )


def test_invalid_view_fails_its_check_and_valid_branches_materialize(tmp_path: Path) -> None:
    views = {**VIEWS, "bad": "select nope from a", "after_bad": "select * from bad"}
    defs, _ = _defs(write_project(tmp_path, views))
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        # the failed blocking checks fail the step (Dagster raises after it), once everything
        # valid was materialized
        assert not result.success
        failure = str(result.get_step_failure_events()[0].step_failure_data.error)
        assert "bad: admitted" in failure
        keys = set(_keys(result))
        assert {"a", "b", "c", "other"} <= keys
        assert not keys & {"bad", "after_bad"}
        checks = {
            (c.asset_key.to_user_string(), c.check_name): c
            for c in result.get_asset_check_evaluations()
        }
        assert not checks[("bad", "admitted")].passed
        assert "unknown column 'nope'" in str(checks[("bad", "admitted")].metadata)
        assert not checks[("after_bad", "admitted")].passed
        assert ("c", "admitted") not in checks  # admitted: no check that could only pass


def test_a_failing_view_fails_the_run_and_keeps_what_finished(tmp_path: Path) -> None:
    views = {
        **VIEWS,
        "boom": "select cast(o.status as int) as s from orders o join a using (order_id)",
    }
    defs, project = _defs(write_project(tmp_path, views))
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        assert not result.success
        assert "a" in _keys(result)  # upstream finished and was reported before the failure
        message = str(result.get_step_failure_events()[0].step_failure_data.error)
        assert "view 'boom' failed" in message
        assert DeltaStore(project.store).info("a") is not None


def test_staleness_follows_code_versions_and_data_versions(tmp_path: Path) -> None:
    toml = write_project(tmp_path, VIEWS)
    defs, _ = _defs(toml)
    with dg.instance_for_test() as instance:
        assert materialize_defs(defs, instance).success
        assert {stale_status(defs, instance, n) for n in ("a", "b", "c")} == {StaleStatus.FRESH}

        # a semantic edit whose output is the same: b is stale by code version, c is not
        b_sql = tmp_path / "views" / "b.sql"
        b_sql.write_text(
            "-- @keys: customer_id\nselect customer_id, sum(amount) as total from a "
            "where amount > -1 group by customer_id",
            encoding="utf-8",
        )
        defs, _ = _defs(toml)
        assert stale_status(defs, instance, "b") == StaleStatus.STALE
        assert stale_status(defs, instance, "a") == StaleStatus.FRESH
        assert stale_status(defs, instance, "c") == StaleStatus.FRESH
        assert materialize_defs(defs, instance, ["b"]).success
        assert stale_status(defs, instance, "b") == StaleStatus.FRESH
        assert stale_status(defs, instance, "c") == StaleStatus.FRESH  # same data version

        # an edit that changes the output: after rebuilding b, its child c is stale
        b_sql.write_text(
            "-- @keys: customer_id\nselect customer_id, sum(amount) as total from a "
            "where amount > 2 group by customer_id",
            encoding="utf-8",
        )
        defs, _ = _defs(toml)
        assert materialize_defs(defs, instance, ["b"]).success
        assert stale_status(defs, instance, "b") == StaleStatus.FRESH
        assert stale_status(defs, instance, "c") == StaleStatus.STALE


@pytest.mark.slow
def test_cpg_of_a_repository_with_evidence_assets_and_checks(tmp_path: Path) -> None:
    project = dataclasses.replace(
        Project.from_views([], include_cpg=True), repo=FIXTURE_REPO, store=tmp_path / "store"
    )
    defs = cpg_definitions(compile_plan(project, cache=False), project=project)
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        assert result.success
        keys = _keys(result)
        assert {"files", "defs", "cpg_nodes", "cpg_edges", "cpg/plan"} <= set(keys)
        assert keys.index("defs") < keys.index("cpg_nodes")
        checks = {
            (c.asset_key.to_user_string(), c.check_name): c.passed
            for c in result.get_asset_check_evaluations()
        }
        assert checks[("cpg_edges", "no_dangling_edges")]
        assert checks[("check_edge_endpoint_kinds", "is_empty")]
        assert all(checks.values()), [k for k, v in checks.items() if not v]
        repo_key = dg.AssetKey(["cpg", "repo"])
        logged = instance.get_latest_data_version_record(repo_key)  # observed by the build
        assert logged is not None
        sources = [a for a in defs.assets or [] if isinstance(a, dg.SourceAsset)]
        observed = observe(sources, instance=instance, resources=defs.resources)
        assert observed.success
        version = instance.get_latest_data_version_record(dg.AssetKey(["cpg", "repo"]))
        assert version is not None


@pytest.mark.slow
def test_evidence_alone_then_a_view_reading_stored_evidence(tmp_path: Path) -> None:
    project = dataclasses.replace(
        Project.from_views([], include_cpg=True), repo=FIXTURE_REPO, store=tmp_path / "store"
    )
    defs = cpg_definitions(compile_plan(project, cache=False), project=project)
    with dg.instance_for_test() as instance:
        evidence = materialize_defs(defs, instance, ["files", "defs"])
        assert evidence.success
        assert sorted(_keys(evidence)) == ["defs", "files"]
        store = DeltaStore(project.store)
        assert store.info("files") is not None and store.info("refs") is None
        view = materialize_defs(defs, instance, ["idx_modules"])  # reads files (stored)
        assert view.success, view.get_step_failure_events()
        assert _keys(view) == ["idx_modules"]


@pytest.mark.slow
def test_dynamic_partitions_build_each_repository_into_its_own_store(tmp_path: Path) -> None:

    from cpg_dagster.assets import partition_store
    from cpg_dagster.definitions import PARTITIONS_NAME

    first, second = tmp_path / "first", tmp_path / "second"
    copy_fixture_repo(first)
    copy_fixture_repo(second)
    (second / "extra.py").write_text("def added():\n    return 1\n", encoding="utf-8")
    project = dataclasses.replace(
        Project.from_views([], include_cpg=True), repo=first, store=tmp_path / "store"
    )
    defs = cpg_definitions(compile_plan(project, cache=False), project=project, partitioned=True)
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(PARTITIONS_NAME, [str(first), str(second)])
        for repo in (first, second):
            result = dg.materialize(
                assets,
                instance=instance,
                resources=defs.resources,
                partition_key=str(repo),
                raise_on_error=False,
            )
            assert result.success
            events = result.get_asset_materialization_events()
            assert {e.partition for e in events} == {str(repo)}
        counts = {
            repo.name: DeltaStore(partition_store(project.store, str(repo))).info("files")
            for repo in (first, second)
        }
        assert counts["first"] is not None and counts["second"] is not None
        assert counts["second"].rows == counts["first"].rows + 1
        assert instance.get_dynamic_partitions(PARTITIONS_NAME) == [str(first), str(second)]


def test_memory_limit_on_the_resource_fails_the_view_that_cannot_fit(tmp_path: Path) -> None:
    views = {
        **VIEWS,
        # a hash join whose build side (a million rows) cannot fit in 1 MiB nor spill
        "wide": "select count(*) as n from generate_series(1, 1000000) g "
        "join (select order_id from a) o on g.value = o.order_id",
    }
    toml = write_project(tmp_path, views)
    project = load_project(toml)
    resource = CpgResource(project_file=str(toml), memory_limit_mb=1)
    assert resource.executor_config().memory_limit_mb == 1
    defs = cpg_definitions(compile_plan(project, cache=False), project=project, resource=resource)
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        assert not result.success
        message = str(result.get_step_failure_events()[0].step_failure_data.error)
        assert "view 'wide' failed" in message and "memory limit of 1 MiB" in message
