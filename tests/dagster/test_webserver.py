"""End to end through a real `dagster dev -w workspace.yaml` and its GraphQL API.

The default code location (`cpg_dagster/defaults.py`) builds the CPG of the fixture repository
into a store under the test's temporary folder. A run of every asset of `cpg_build_all` is
launched over GraphQL (the session fixture `built`, shared with test_browser.py), then what the
webserver reports is compared with the plan compiled here, in the test process.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import dagster as dg
import msgspec
import pytest

from cpg_core.artifacts.contracts import PlanScheduleArtifact
from cpg_core.artifacts.envelope import artifact_id
from cpg_core.artifacts.from_plan import schedule_artifact, validation_artifact
from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project
from cpg_core.store.delta_store import DeltaStore
from cpg_dagster.definitions import JOB_NAME, cpg_definitions
from cpg_dagster.translator import CpgTranslator, asset_kind
from tests.dagster.webserver import Built
from tests.paths import FIXTURE_REPO

pytest_plugins = ["tests.dagster.webserver"]
pytestmark = pytest.mark.slow

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _plan(empty_store: Path) -> ExecutionPlan:
    """The plan the code location compiled when it loaded: built-in views, fixture repository.

    Compiled over an empty store, as the server's was (it loaded before the first run): a
    store's observed durations change planned costs, hence the schedule, not the signature.
    """
    project = dataclasses.replace(
        Project.from_views([], include_cpg=True), repo=FIXTURE_REPO, store=empty_store
    )
    return compile_plan(project, cache=False)


def _built_keys(plan: ExecutionPlan) -> set[str]:
    """Keys the job's multi_asset materializes (evidence, persisted views, the plan)."""
    defs = cpg_definitions(plan, project=plan.project)
    multi = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition) and a.can_subset]
    assert len(multi) == 1
    return {key.to_user_string() for key in multi[0].keys}


def test_a_run_of_every_asset_materializes_each_with_its_metadata(
    built: Built, tmp_path: Path
) -> None:
    server = built.server
    plan = _plan(tmp_path / "store")
    nodes = server.asset_nodes()
    expected = _built_keys(plan)
    assert {"files", "defs", "cpg_nodes", "cpg_edges", "cpg/plan"} <= expected
    assert {k for k, n in nodes.items() if JOB_NAME in n.jobs} == expected
    assert {k for k, n in nodes.items() if n.latest_run == built.run_id} == expected
    assert not nodes["cpg/repo"].materializable  # the observable source

    # every check of every asset ran in that run and passed
    checks = {(k, name): v for k, n in nodes.items() for name, v in n.checks.items()}
    assert ("cpg_nodes", "keys_unique") in checks
    assert ("cpg_edges", "no_dangling_edges") in checks
    assert all(v == (built.run_id, "SUCCEEDED") for v in checks.values()), checks

    # the plan asset: signature, schedule and validation artifacts, run manifest ID
    [latest] = server.materializations("cpg/plan", limit=1)
    meta = latest.metadata
    assert latest.run_id == built.run_id
    assert meta["cpg.plan_signature"] == plan.signature
    assert meta["cpg.schedule_artifact_id"] == artifact_id(schedule_artifact(plan))
    published = msgspec.convert(meta["schedule"], PlanScheduleArtifact)
    assert artifact_id(published) == meta["cpg.schedule_artifact_id"]  # the JSON is that artifact
    assert meta["cpg.validation_artifact_id"] == artifact_id(validation_artifact(plan))
    assert SHA256.match(meta["cpg.run_manifest_id"])
    schedule = meta["schedule"]
    assert schedule["ordered_tasks"] == list(plan.schedule.order)
    assert schedule["critical_path"] == list(plan.schedule.critical_path)
    assert meta["critical_path"] == list(plan.schedule.critical_path)
    assert meta["problems"] == 0 and meta["validation"]["problems"] == []
    assert "Critical path" in meta["summary"]
    assert meta["graph"].startswith("```mermaid")

    # view assets: row counts, fingerprints, store URIs of this run
    store = DeltaStore(server.store)
    translator = CpgTranslator()
    views = [k for k in expected if k in plan.tasks]
    assert "cpg_nodes" in views and "cpg_edges" in views
    for view in views:
        [m] = server.materializations(view, limit=1)
        assert m.run_id == built.run_id
        assert m.metadata["cpg.fingerprint"] == plan.tasks[view].fingerprint
        assert m.metadata["cpg.plan_signature"] == plan.signature
        info = store.info(view)
        assert info is not None, view
        assert m.metadata["dagster/row_count"] == info.rows, view
        assert m.metadata["dagster/uri"] == str(store.table_path(view))
    for view in ("cpg_nodes", "cpg_edges"):
        [m] = server.materializations(view, limit=1)
        assert m.metadata["dagster/row_count"] > 0

        # definition metadata: column schema and column lineage, as the translator made them
        definition = server.definition_metadata(view)
        schema = plan.tasks[view].output_schema
        assert schema is not None
        assert list(definition["dagster/column_schema"]) == schema.names
        lineage = translator.get_column_lineage(plan, view)
        assert lineage is not None
        assert definition["dagster/column_lineage"] == {
            column: [(d.asset_key.to_user_string(), d.column_name) for d in deps]
            for column, deps in lineage.deps_by_column.items()
        }
        assert definition["cpg.fingerprint"] == plan.tasks[view].fingerprint
    nodes_lineage = server.definition_metadata("cpg_nodes")["dagster/column_lineage"]
    assert ("defs", "def_id") in nodes_lineage["node_id"]

    # evidence tables: their own metadata (no fingerprint, a Delta version)
    [files] = server.materializations("files", limit=1)
    assert asset_kind(plan, "files") == "evidence"
    assert files.metadata["dagster/row_count"] > 0
    assert files.metadata["cpg.delta_version"] >= 0


def test_a_subset_run_materializes_only_the_selected_asset(built: Built) -> None:
    server = built.server
    before = server.asset_nodes()
    [previous] = server.materializations("cpg_nodes", limit=1)

    run_id = server.launch(["cpg_nodes"])
    server.wait_for_run(run_id)

    after = server.asset_nodes()
    changed = {k for k in after if after[k].latest_run != before[k].latest_run}
    assert changed == {"cpg_nodes"}
    assert after["cpg_nodes"].latest_run == run_id
    assert {name for name, (run, _) in after["cpg_nodes"].checks.items() if run == run_id} == set(
        before["cpg_nodes"].checks
    )  # the selected asset's checks ran with it
    assert all(status == "SUCCEEDED" for _, status in after["cpg_nodes"].checks.values())

    [latest, older] = server.materializations("cpg_nodes", limit=2)
    assert latest.run_id == run_id and older.run_id == previous.run_id
    assert latest.metadata["dagster/row_count"] == previous.metadata["dagster/row_count"]
    assert latest.metadata["cpg.fingerprint"] == previous.metadata["cpg.fingerprint"]
    assert previous.metadata["cpg.cache_hit"] is False
    assert latest.metadata["cpg.cache_hit"] is True  # same SQL, same inputs: from the cache
