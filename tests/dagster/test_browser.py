"""Smoke test of the Dagster UI in a headless system Chromium, after a build of every asset.

Shares the session's `dg dev` (and its run of every asset) with test_webserver.py through
the fixtures of tests/dagster/webserver.py; the failed-then-fixed rebuild uses the day-two
server (an editable copy of the fixture repository) it shares with test_webserver_day_two.py. Skipped when no Chromium is installed (`apt-get
install chromium`, or set `CPG_CHROMIUM` to a Chromium or Chrome binary).

Column lineage is not asserted here: the open-source UI does not display it (a Dagster+
feature); test_webserver.py reads it over GraphQL instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cpg_dagster.assets import RUN_ID_TAG
from tests.dagster.webserver import Built, Chromium, DayTwo, chromium_executable

pytest_plugins = ["tests.dagster.webserver"]
CHROMIUM = chromium_executable()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium on PATH (apt-get install chromium, or set CPG_CHROMIUM)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    assert CHROMIUM is not None
    with Chromium(CHROMIUM, width=1600, height=2400) as chromium:
        yield chromium


def test_asset_graph_shows_the_groups_and_their_assets(built: Built, browser: Chromium) -> None:
    server = built.server
    groups: dict[str, set[str]] = {}
    nodes = server.asset_nodes()
    for key, node in nodes.items():
        groups.setdefault(node.group, set()).add(key.split("/")[-1])
    assert set(groups) == {"evidence", "cpg", "cpg_plan"}
    assert [k for k, n in nodes.items() if n.materializable and n.latest_run is None] == []

    browser.goto(f"{server.url}/asset-groups")
    text = browser.wait_for_text("Global asset lineage", *groups, timeout_s=120)
    assert "Materialize all" in text
    browser.shortcut("KeyE", alt=True)  # the graph toolbar's "Expand all groups" (⌥E)
    # the graph and the lists render only what is in view (the CPG has well over a hundred
    # views): an asset's own lineage graph shows it with its neighbours; each group's list
    # shows its first rows (all of them materialized, as GraphQL said of every asset above)
    browser.goto(f"{server.url}/assets/cpg_nodes?view=lineage")
    browser.wait_for_text("cpg_nodes", "cpg_edges", timeout_s=120)
    for group, names in sorted(groups.items()):
        browser.goto(f"{server.url}/locations/cpg/asset-groups/{group}/list")
        text = browser.wait_for_text("Asset name", *sorted(names)[:6], timeout_s=120)
        assert "Never materialized" not in text, group


def test_view_page_shows_columns_row_count_and_cpg_metadata(
    built: Built, browser: Chromium
) -> None:
    server = built.server
    [latest] = server.materializations("cpg_nodes", limit=1)
    fingerprint = latest.metadata["cpg.fingerprint"]
    rows = latest.metadata["dagster/row_count"]
    columns = list(server.definition_metadata("cpg_nodes")["dagster/column_schema"])
    assert "node_id" in columns and "parent_id" in columns

    browser.goto(f"{server.url}/assets/cpg_nodes")
    # The page renders its sections as their queries return: wait for all of them.
    text = browser.wait_for_text(
        "Columns",
        *columns,
        "cpg.fingerprint",
        fingerprint,
        "Row count",
        "Every node of the code property graph",  # the view's description
        timeout_s=120,
    )
    assert f"Row count\n{rows}" in text
    for upstream in ("defs", "files", "cpg_edges"):  # the lineage section
        assert upstream in text
    for shown in ("cpg.plan_signature", "cpg.delta_version", "cpg_build_all", "cpg/layer: cpg"):
        assert shown in text


def test_plan_page_shows_summary_manifest_and_schedule(built: Built, browser: Chromium) -> None:
    server = built.server
    [latest] = server.materializations("cpg/plan", limit=1)
    manifest = latest.metadata["cpg.run_manifest_id"]
    path = latest.metadata["critical_path"]

    browser.goto(f"{server.url}/assets/cpg/plan")
    text = browser.wait_for_text("cpg.run_manifest_id", manifest, "summary", timeout_s=120)
    assert latest.metadata["cpg.plan_signature"] in text
    assert "```mermaid" not in text and "flowchart" not in text
    # the summary is Markdown tables the open-source UI renders: planned vs measured seconds
    browser.click_text("[Show Markdown]")
    summary = browser.wait_for_text("Critical path", "planned s", "measured s", "Generations")
    rows = [line for line in summary.splitlines() if line.split("\t")[1:2] in ([v] for v in path)]
    assert [line.split("\t")[1] for line in rows] == list(path), summary
    browser.shortcut("Escape")
    browser.wait_for_text("cpg.run_manifest_id", absent=["planned s"])
    browser.click_text("[Show JSON]")  # the first one is the schedule artifact
    dialog = browser.wait_for_text("ordered_tasks", "generations")
    assert "critical_path_length" in dialog


def test_column_lineage_reads_as_a_table(built: Built, browser: Chromium) -> None:
    server = built.server
    browser.goto(f"{server.url}/assets/cpg_nodes")
    browser.wait_for_text("cpg.column_lineage", timeout_s=120)
    browser.click_text("[Show Markdown]")
    text = browser.wait_for_text("from (asset.column)", "node_id")
    assert "defs.def_id" in text and "files.file_id" in text


def test_a_failed_rebuild_then_the_fixed_one(day_two: DayTwo, browser: Chromium) -> None:
    """Day two in the UI: the repository is gone when a rebuild runs (the run fails saying so,
    in words, not a stack trace); it is back, the next rebuild succeeds and the assets show it."""
    server = day_two.server
    moved = day_two.repo.with_name("repo_moved_away")
    day_two.repo.rename(moved)
    try:
        failed = server.launch(["files", "defs"])
        assert server.wait_for_run(failed, check=False) == "FAILURE"
    finally:
        moved.rename(day_two.repo)
    browser.goto(f"{server.url}/runs/{failed}")
    browser.wait_for_text(
        "cpg build did not start", "does not exist (moved or deleted?)", timeout_s=120
    )
    fixed = server.launch(["files", "defs"])
    server.wait_for_run(fixed)
    browser.goto(f"{server.url}/runs/{fixed}")
    browser.wait_for_text("Success", "evidence files: ", "cpg run ", timeout_s=120)
    assert server.asset_nodes()["files"].latest_run == fixed
    cpg_run = server.runs()[fixed].tags[RUN_ID_TAG]  # the asset page shows cpg's run id
    browser.goto(f"{server.url}/assets/files")
    browser.wait_for_text("Latest materialization", "cpg.outcome", cpg_run, timeout_s=120)
