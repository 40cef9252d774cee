"""Fail loudly if Hamilton changes the internals the plan executor relies on (hamilton 1.90)."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import hamilton.version
from hamilton import driver
from hamilton.caching.adapter import HamiltonCacheAdapter
from hamilton.caching.stores.sqlite import SQLiteMetadataStore
from hamilton.execution import graph_functions
from hamilton.node import Node

from cpg_core.execute import build
from cpg_core.execute.driver_cache import PlanCacheAdapter, driver_for
from cpg_core.store.delta_store import DeltaStore
from tests.execute.helpers import compile_project, read_inputs


def test_hamilton_version_is_the_pinned_one() -> None:
    assert hamilton.version.VERSION[:2] == (1, 90), (
        "cpg_core.execute relies on Hamilton internals checked for 1.90: re-check "
        "runner.py, cache.py and driver_cache.py, then update this pin"
    )


def test_execute_lifecycle_for_node_signature() -> None:
    params = list(inspect.signature(graph_functions.execute_lifecycle_for_node).parameters)
    assert params == ["__node_", "__adapter", "__run_id", "__task_id", "__kwargs"]


def test_driver_runs_its_graph_executor_attribute() -> None:
    assert {"execute", "validate"} <= driver.GraphExecutor.__abstractmethods__
    params = list(inspect.signature(driver.GraphExecutor.execute).parameters)
    assert params == ["self", "fg", "final_vars", "overrides", "inputs", "run_id"]
    source = inspect.getsource(driver.Driver)
    assert "self.graph_executor.execute(" in source
    assert "self.graph_executor = _graph_executor" in source


def test_node_copy_and_tags_api() -> None:
    assert "callabl" in inspect.signature(Node.__init__).parameters
    assert hasattr(Node, "copy_with") and hasattr(Node, "add_tag")


def test_sqlite_metadata_store_connects_per_thread() -> None:
    source = inspect.getsource(SQLiteMetadataStore)
    assert "def _get_connection(self)" in source
    assert "self._thread_local" in source


def test_cache_adapter_versions_code_through_version_code() -> None:
    source = inspect.getsource(HamiltonCacheAdapter.resolve_code_versions)
    assert "self.version_code(run_id=run_id, node_name=node.name)" in source


def test_builds_use_the_generated_modules_code_versions(tmp_path: Path) -> None:
    plan = compile_project(tmp_path)
    build(plan, store=tmp_path / "s", inputs=read_inputs(tmp_path))
    entry, _ = driver_for(plan, DeltaStore(tmp_path / "s"))
    assert isinstance(entry.cache, PlanCacheAdapter)
    (versions,) = entry.cache.code_versions.values()
    paid = entry.module.view_sources["paid"]
    assert "def paid(" in paid and "def by_customer(" not in paid
    assert versions["paid"] == hashlib.sha256(paid.encode()).hexdigest()
    assert len({versions[v] for v in plan.tasks if v in versions}) == len(
        [v for v in plan.tasks if v in versions]
    )  # one version per node
