"""Day two in real Dagster: runs and plans a person can read (issue 14, item 4).

One log line per table as it is reported (built / unchanged / cached, rows, seconds); the same
metadata names on views and evidence, `dagster/uri` in the definition's form, rounded floats,
the Dagster run tagged with cpg's run id; the plan's summary as Markdown tables naming only
views that are tables, with measured next to planned seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest

from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from cpg_dagster.assets import RUN_ID_TAG
from cpg_dagster.definitions import cpg_definitions
from tests.dagster.projects import materialize_defs, write_user_project
from tests.dagster.rebuilds import Rebuilds, cpg_defs, delay_writes, run_logs
from tests.paths import copy_fixture_repo
from tests.plan.projects import write_project

VIEWS = {
    "a": "select order_id, customer_id, amount from orders",
    "b": "select customer_id, sum(amount) as total from a group by customer_id",
    "c": "select count(*) as n from b",
    "other": "select name from customers",
}
VIEW_LINE = re.compile(r"^view (\w+): (built|unchanged|cached), ([\d,]+) rows, (\d+\.\d\d) s$")
COMMON = {
    "dagster/row_count",
    "dagster/uri",
    "cpg.outcome",
    "cpg.written",
    "cpg.bytes",
    "cpg.delta_version",
    "cpg.plan_signature",
    "cpg.run_id",
}


@pytest.fixture
def slow_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    delay_writes(monkeypatch)


def _defs(toml: Path) -> dg.Definitions:
    project = load_project(toml)
    return cpg_definitions(compile_plan(project, cache=False), project=project)


def _outcomes(lines: list[str]) -> dict[str, str]:
    """View → outcome from the run's log lines (each view exactly once)."""
    found = [m.groups() for line in lines if (m := VIEW_LINE.match(line))]
    names = [name for name, *_ in found]
    assert len(names) == len(set(names)), names
    return {name: outcome for name, outcome, *_ in found}


def test_one_log_line_per_view_says_built_unchanged_or_cached(
    tmp_path: Path, slow_writes: None
) -> None:
    toml = write_project(tmp_path, VIEWS)
    with dg.instance_for_test() as instance:
        runs = Rebuilds(instance)
        runs.cold(_defs(toml))
        assert runs.last is not None
        assert _outcomes(run_logs(instance, runs.last)) == dict.fromkeys(VIEWS, "built")
        # b computes the same rows another way: b unchanged, its reader c reused from the cache
        (tmp_path / "views" / "b.sql").write_text(
            "select customer_id, sum(amount) as total from a where amount > -1 "
            "group by customer_id",
            encoding="utf-8",
        )
        runs.warm(_defs(toml))
        assert runs.last is not None
        logs = run_logs(instance, runs.last)
        assert _outcomes(logs) == {
            "a": "cached",
            "b": "unchanged",
            "c": "cached",
            "other": "cached",
        }
        assert any(line.startswith("cpg run ") and "(dagster run " in line for line in logs)
        metadata = {
            e.asset_key.to_user_string(): e.materialization.metadata
            for e in runs.last.get_asset_materialization_events()
        }
        assert metadata["b"]["cpg.outcome"].value == "unchanged"
        assert metadata["b"]["cpg.written"].value is False


@pytest.mark.slow
def test_evidence_and_views_report_the_same_metadata_names(tmp_path: Path) -> None:
    repo = copy_fixture_repo(tmp_path / "repo")
    defs = cpg_defs(repo, tmp_path / "store")
    graph = defs.get_repository_def().asset_graph
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        assert result.success
        logs = run_logs(instance, result)
        assert any(line.startswith("evidence files: built, ") for line in logs)
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        cpg_run = run.tags[RUN_ID_TAG]  # the Dagster run names cpg's run
        events = result.get_asset_materialization_events()
        kinds: set[object] = set()
        for event in events:
            key = event.asset_key
            if key.to_user_string() == "cpg/plan":
                assert event.materialization.metadata["cpg.run_id"].value == cpg_run
                continue
            metadata = event.materialization.metadata
            assert set(metadata) >= COMMON, (key, sorted(metadata))
            assert "cpg.cache_hit" not in metadata  # one name: cpg.outcome
            assert metadata["cpg.run_id"].value == cpg_run
            definition = graph.get(key).metadata
            assert metadata["dagster/uri"].value == definition["dagster/uri"]
            assert metadata["dagster/uri"].value.startswith("file://")
            for value in metadata.values():
                if isinstance(value, dg.FloatMetadataValue) and value.value:
                    assert float(f"{value.value:.4g}") == value.value, (key, value)
            kinds.add(definition.get("cpg.dataset_kind", "view"))
        assert kinds == {"evidence", "view"}


def test_the_plan_summary_is_tables_of_views_that_exist(tmp_path: Path) -> None:
    toml = write_user_project(tmp_path)  # an inline view, an invalid view and its reader
    project = load_project(toml)
    plan = compile_plan(project, cache=False)
    defs = cpg_definitions(plan, project=project)
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        [event] = [
            e
            for e in result.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey(["cpg", "plan"])
        ]
    metadata = event.materialization.metadata
    assert "graph" not in metadata  # no Mermaid blob
    summary = str(metadata["summary"].value)
    assert "(1 inline)" in summary
    path = plan.schedule.critical_path
    assert path and all(plan.tasks[n].view.persisted for n in path)
    assert "orders_clean" not in path  # the inline view is folded into its reader
    rows = [line for line in summary.splitlines() if line.startswith("| 1 | `")]
    assert rows and rows[0].startswith(f"| 1 | `{path[0]}` |")
    assert re.search(
        r"\| \d[\d.e-]* \| (default|estimated|measured) \| \d[\d.e-]* \| built \|", rows[0]
    )
    assert "measured in this run" in summary
    assert "| generation | tables | views |" in summary
    assert "| view | where | code | problem |" in summary
    assert "| `broken` | views/broken.sql:1:8 | unknown_column | unknown column 'nope'" in summary
