"""Warm rebuilds in real Dagster, shared by the day-two tests: a held-back store writer, runs of
every asset on one instance, and which tables each run changed.

Why hold the writer back (`delay_writes`): a view whose content did not change reports
"finished" at once, a changed one only after its background Delta write. On a small repository
and a quiet machine that race can hide; with every real write delayed, changed tables commit
well after the unchanged ones finished, every time.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.definitions.temporal_context import TemporalContext
from dagster._time import get_current_datetime

from cpg_core.plan import compile_plan
from cpg_core.project import Project
from cpg_core.store.delta_store import DeltaStore
from cpg_dagster.definitions import cpg_definitions
from cpg_dagster.resource import CpgResource
from tests.dagster.projects import materialize_defs

WRITE_DELAY_S = 0.15


def held_back(write: Any, seconds: float = WRITE_DELAY_S) -> Any:
    """`DeltaStore.write` that waits first: unchanged tables (no write) finish long before."""

    def delayed(self: DeltaStore, *args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return write(self, *args, **kwargs)

    return delayed


def delay_writes(monkeypatch: pytest.MonkeyPatch, seconds: float = WRITE_DELAY_S) -> None:
    """Every real Delta write of this test waits first (`held_back`)."""
    monkeypatch.setattr(DeltaStore, "write", held_back(DeltaStore.write, seconds))


def stale_status(defs: dg.Definitions, instance: dg.DagsterInstance, name: str) -> StaleStatus:
    """What the UI's staleness badge of asset `name` says now."""
    graph = defs.get_repository_def().asset_graph
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=graph,
    )
    resolver = CachingStaleStatusResolver(instance, graph, loading_context=view)
    return resolver.get_status(dg.AssetKey(name))


def versions(result: dg.ExecuteInJobResult) -> dict[str, str]:
    """Asset name → the data version this run reported for it."""
    out: dict[str, str] = {}
    for event in result.get_asset_materialization_events():
        tags = event.materialization.tags or {}
        out[event.asset_key.to_user_string()] = tags.get("dagster/data_version", "")
    return out


def failures(result: dg.ExecuteInJobResult) -> list[str]:
    return [str(e.step_failure_data.error) for e in result.get_step_failure_events()]


def assert_dependency_order(defs: dg.Definitions, result: dg.ExecuteInJobResult) -> None:
    """No materialization comes before one of an asset it reads (what Dagster itself enforces,
    checked again here so a test failure names the pair)."""
    graph = defs.get_repository_def().asset_graph
    keys = [e.asset_key for e in result.get_asset_materialization_events()]
    position = {key: i for i, key in enumerate(keys)}
    for key in keys:
        for parent in graph.get(key).parent_keys:
            if parent in position:
                assert position[parent] < position[key], (parent, key)


class Rebuilds:
    """Runs warm rebuilds and says which tables each one changed (data version differs)."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.versions: dict[str, str] = {}
        self.last: dg.ExecuteInJobResult | None = None

    def cold(self, defs: dg.Definitions) -> None:
        result = materialize_defs(defs, self.instance)
        assert result.success, failures(result)
        self.versions = versions(result)
        self.last = result

    def warm(self, defs: dg.Definitions) -> dict[str, bool]:
        """Rebuild everything; asset name → whether its data version changed."""
        result = materialize_defs(defs, self.instance)
        assert result.success, failures(result)
        assert_dependency_order(defs, result)
        now = versions(result)
        changed = {n: v != self.versions.get(n) for n, v in now.items() if n != "cpg/plan"}
        self.versions = now
        self.last = result
        return changed


def cpg_defs(repo: Path, store: Path, mode: str = "serial", **options: Any) -> dg.Definitions:
    """The built-in CPG of `repo` into `store`, as the default code location defines it."""
    project = dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)
    resource = CpgResource(repo=str(repo), store=str(store), mode=mode)
    plan = compile_plan(project, cache=False)
    return cpg_definitions(plan, project=project, resource=resource, **options)


def run_logs(instance: dg.DagsterInstance, result: dg.ExecuteInJobResult) -> list[str]:
    """The user log messages (`context.log`) of a run, in order."""
    return [e.user_message for e in instance.all_logs(result.run_id) if e.dagster_event is None]
