"""A partition-incremental view in real Dagster: a warm run after one changed partition says
how many partitions it recomputed, and the data version stays the table's content hash — the
one a cold build of the same inputs reports."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from cpg_dagster.definitions import cpg_definitions
from cpg_dagster.resource import CpgResource
from tests.partitioned_project import PartitionedProject


def _run(project: PartitionedProject, store: Path, instance: dg.DagsterInstance) -> dict[str, dict]:
    """Materialize everything; asset → (metadata of its materialization, data version)."""
    toml = project.root / "cpg.toml"
    loaded = load_project(toml)
    resource = CpgResource(project_file=str(toml), store=str(store))
    defs = cpg_definitions(compile_plan(loaded, cache=False), project=loaded, resource=resource)
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(assets, instance=instance, resources=defs.resources)
    assert result.success
    out: dict[str, dict] = {}
    for event in result.get_asset_materialization_events():
        materialization, key = event.materialization, event.asset_key
        assert key is not None
        out[key.to_user_string()] = {
            "metadata": {k: v.value for k, v in materialization.metadata.items()},
            "data_version": (materialization.tags or {}).get("dagster/data_version"),
        }
    return out


def test_warm_materialization_reports_recomputed_partitions(tmp_path: Path) -> None:
    project = PartitionedProject(tmp_path / "project").write()
    with dg.instance_for_test() as instance:
        cold = _run(project, tmp_path / "store", instance)
        assert cold["daily"]["metadata"]["cpg.partitions_recomputed"] == 4
        assert "cpg.partitions_recomputed" not in cold["overall"]["metadata"]
        project.set_day("d03", 2, salt=5)
        warm = _run(project, tmp_path / "store", instance)
        assert warm["daily"]["metadata"]["cpg.partitions_recomputed"] == 1
        assert warm["ranked"]["metadata"]["cpg.partitions_recomputed"] == 1
        assert warm["daily"]["data_version"] != cold["daily"]["data_version"]
        fresh = _run(project, tmp_path / "fresh", instance)
        assert fresh["daily"]["metadata"]["cpg.partitions_recomputed"] == 4
        for name in ("daily", "ranked", "per_event", "overall"):
            assert warm[name]["data_version"] == fresh[name]["data_version"], name
