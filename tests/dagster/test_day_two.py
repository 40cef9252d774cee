"""Day two in real Dagster: warm rebuilds after edits, with results in dependency order.

The bug these tests pin: a view whose content did not change reports "finished" at once, a
changed one only after its background Delta write, and a step that yields an asset before one it
reads fails (`... was yielded before its dependency ...`). On a small repository and a quiet
machine the race can hide, so every warm run here holds the store's writer back
(`slow_writes`): changed tables commit well after the unchanged ones have finished.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cpg_core.plan import compile_plan
from cpg_core.project import Project, load_project
from cpg_core.store.delta_store import DeltaStore
from cpg_dagster.definitions import cpg_definitions
from cpg_dagster.resource import CpgResource
from tests.paths import copy_fixture_repo
from tests.plan.projects import ORDERS, write_project

WRITE_DELAY_S = 0.15

VIEWS = {
    "a": "select order_id, customer_id, amount from orders",
    "b": "-- @keys: customer_id\nselect customer_id, sum(amount) as total from a group by customer_id",
    "c": "select count(*) as n from b",
    "d": "select customer_id, count(*) as orders from a group by customer_id",
    "e": "select b.customer_id, b.total, d.orders from b join d using (customer_id)",
    "other": "select name from customers",
}


@pytest.fixture
def slow_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every real Delta write waits first: unchanged tables (no write) finish long before."""
    write = DeltaStore.write

    def delayed(self: DeltaStore, *args: Any, **kwargs: Any) -> Any:
        time.sleep(WRITE_DELAY_S)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(DeltaStore, "write", delayed)


def _materialize(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInJobResult:
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition | dg.SourceAsset)]
    return dg.materialize(assets, instance=instance, resources=defs.resources, raise_on_error=False)


def _versions(result: dg.ExecuteInJobResult) -> dict[str, str]:
    """Asset name → the data version this run reported for it."""
    out: dict[str, str] = {}
    for event in result.get_asset_materialization_events():
        tags = event.materialization.tags or {}
        out[event.asset_key.to_user_string()] = tags.get("dagster/data_version", "")
    return out


class Rebuilds:
    """Runs warm rebuilds and says which tables each one changed (data version differs)."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.versions: dict[str, str] = {}

    def cold(self, defs: dg.Definitions) -> None:
        result = _materialize(defs, self.instance)
        assert result.success
        self.versions = _versions(result)

    def warm(self, defs: dg.Definitions) -> dict[str, bool]:
        """Rebuild everything; asset name → whether its data version changed."""
        result = _materialize(defs, self.instance)
        failures = [str(e.step_failure_data.error) for e in result.get_step_failure_events()]
        assert result.success, failures
        _assert_dependency_order(defs, result)
        now = _versions(result)
        changed = {n: v != self.versions.get(n) for n, v in now.items() if n != "cpg/plan"}
        self.versions = now
        return changed


def _assert_dependency_order(defs: dg.Definitions, result: dg.ExecuteInJobResult) -> None:
    """No materialization comes before one of an asset it reads (what Dagster itself enforces,
    checked again here so a test failure names the pair)."""
    graph = defs.get_repository_def().asset_graph
    keys = [e.asset_key for e in result.get_asset_materialization_events()]
    position = {key: i for i, key in enumerate(keys)}
    for key in keys:
        for parent in graph.get(key).parent_keys:
            if parent in position:
                assert position[parent] < position[key], (parent, key)


def _cpg_defs(repo: Path, store: Path, mode: str) -> dg.Definitions:
    project = dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)
    resource = CpgResource(repo=str(repo), store=str(store), mode=mode)
    return cpg_definitions(compile_plan(project, cache=False), project=project, resource=resource)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    yield copy_fixture_repo(tmp_path / "repo")


@pytest.mark.parametrize("mode", ["serial", "parallel"])
def test_cpg_rebuild_after_a_python_edit_succeeds_in_dependency_order(
    repo: Path, tmp_path: Path, mode: str, slow_writes: None
) -> None:
    defs = _cpg_defs(repo, tmp_path / "store", mode)
    with dg.instance_for_test() as instance:
        runs = Rebuilds(instance)
        runs.cold(defs)
        core = repo / "app" / "core.py"
        core.write_text(
            core.read_text(encoding="utf-8") + "\n\ndef added_on_day_two():\n    return 2\n",
            encoding="utf-8",
        )
        changed = runs.warm(defs)
        # the race really happened: some tables changed (changed late), others did not
        assert changed["defs"] and changed["cpg_nodes"], changed
        assert not all(changed.values()), changed

        # a comment-only edit: evidence of that file changes (lines), most views do not
        core.write_text(core.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
        runs.warm(defs)
        # nothing changed at all: every table reused, every result still reported in order
        changed = runs.warm(defs)
        assert not any(changed.values()), changed


@pytest.mark.parametrize("mode", ["serial", "parallel"])
def test_views_rebuild_after_view_and_source_edits_succeeds_in_dependency_order(
    tmp_path: Path, mode: str, slow_writes: None
) -> None:
    toml = write_project(tmp_path, VIEWS)

    def defs_now() -> dg.Definitions:  # as a code location reload would see the project
        project = load_project(toml)
        resource = CpgResource(project_file=str(toml), mode=mode)
        plan = compile_plan(project, cache=False)
        return cpg_definitions(plan, project=project, resource=resource)

    with dg.instance_for_test() as instance:
        runs = Rebuilds(instance)
        runs.cold(defs_now())
        # a semantic edit of `d`: d and e change, a/b/c/other are unchanged and finish at once
        (tmp_path / "views" / "d.sql").write_text(
            "select customer_id, count(*) + 1 as orders from a group by customer_id",
            encoding="utf-8",
        )
        changed = runs.warm(defs_now())
        assert changed["d"] and changed["e"] and not changed["b"], changed
        # a comment-only edit of a view: same fingerprint, nothing rechanged
        path = tmp_path / "views" / "c.sql"
        path.write_text("-- counted\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
        changed = runs.warm(defs_now())
        assert not any(changed.values()), changed
        # a source changes: a new order for customer 30 → a, b, d, e change; other does not
        more = pa.concat_tables(
            [ORDERS, ORDERS.slice(3, 1).set_column(0, "order_id", pa.array([5], pa.int64()))]
        )
        pq.write_table(more, tmp_path / "data" / "orders.parquet")
        changed = runs.warm(defs_now())
        assert changed["a"] and changed["e"] and not changed["other"], changed
