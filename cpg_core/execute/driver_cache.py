"""One Hamilton driver per (plan signature, store): generated module, cache, adapters, executor.

Why cached: building the function graph costs per node; a process that builds the same plan
again (Dagster, a watch loop, the tests) reuses it. Nothing of a run is set on an entry: the run
travels as a `Driver.execute` input to the plan executor (`cpg_core.execute.run.Run`). What an
entry learns across runs is the store's own facts (which table holds which data version).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hamilton import driver
from hamilton.caching.adapter import HamiltonCacheAdapter
from hamilton.lifecycle.base import LifecycleAdapterSet

from cpg_core.execute.cache import (
    METADATA_FILE,
    DeltaResultStore,
    WalMetadataStore,
    check_cache_dir,
)
from cpg_core.execute.codegen import (
    PLAN_INPUT,
    PLAN_NODES,
    GeneratedModule,
    generate,
    task_input,
)
from cpg_core.execute.hamilton_logs import CpgRunSpans
from cpg_core.execute.runner import PlanGraphExecutor
from cpg_core.execute.tags import apply_schedule_tags
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.store.delta_store import DeltaStore
from cpg_core.views.names import RUN_INPUT

MODULES_DIR = Path("_cpg") / "modules"
CACHE_DIR = Path("_cpg") / "hamilton_cache"


class PlanCacheAdapter(HamiltonCacheAdapter):
    """Hamilton's cache adapter with code versions from the text codegen wrote for each node.

    Hamilton versions a node's code by `inspect.getsource` + hashing, about 2 ms per node and
    run. A view node's code is exactly the function text `codegen` generated for it (the same
    text in every plan where the view's inputs are the same), so its hash is the version; plan
    nodes are never cached. `HamiltonCacheAdapter.resolve_code_versions` calls `version_code`
    for every node (pinned by tests/execute/test_hamilton_pins.py).
    """

    def __init__(self, *, view_sources: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._versions = {
            name: hashlib.sha256(text.encode()).hexdigest() for name, text in view_sources.items()
        }

    def version_code(self, node_name: str, run_id: str | None = None) -> str:
        version = self._versions.get(node_name)
        return version if version is not None else super().version_code(node_name, run_id)


@dataclass
class DriverEntry:
    """A built driver and the parts a run configures."""

    driver: driver.Driver
    module: GeneratedModule
    executor: PlanGraphExecutor
    cache: HamiltonCacheAdapter
    results: DeltaResultStore
    cache_path: Path
    lock: threading.Lock


_entries: dict[tuple[str, Path], DriverEntry] = {}
_entries_lock = threading.Lock()


def _new_entry(plan: ExecutionPlan, store: DeltaStore) -> DriverEntry:
    module = generate(plan, store.root / MODULES_DIR)
    cache_path = store.root / CACHE_DIR
    results = DeltaResultStore(store)
    cache = PlanCacheAdapter(
        view_sources=module.view_sources,
        path=cache_path,
        metadata_store=WalMetadataStore(path=str(cache_path)),
        result_store=results,
        # The plan and the SQL text never enter a view's key: the fingerprint input does.
        ignore=[PLAN_INPUT, RUN_INPUT, *(task_input(v) for v in module.views)],
        disable=list(PLAN_NODES),
    )
    # CpgRunSpans first: a failing node is reported by cpg, not by Hamilton's logs on stderr.
    dr = driver.Builder().with_modules(module.module).with_adapters(CpgRunSpans(), cache).build()
    adapters = dr.adapter
    assert isinstance(adapters, LifecycleAdapterSet)
    executor = PlanGraphExecutor(adapters, module, cache)
    dr.graph_executor = executor  # pinned: Driver.execute runs self.graph_executor
    return DriverEntry(
        driver=dr,
        module=module,
        executor=executor,
        cache=cache,
        results=results,
        cache_path=cache_path,
        lock=threading.Lock(),
    )


def driver_for(plan: ExecutionPlan, store: DeltaStore) -> tuple[DriverEntry, list[str]]:
    """The cached driver of `plan.signature` on `store` (checked and rebuilt if the cache was
    damaged or deleted), with the plan's schedule tags applied; returns warnings too."""
    key = (plan.signature, store.root)
    warnings: list[str] = []
    cache_path = store.root / CACHE_DIR
    with _entries_lock:
        warning = check_cache_dir(cache_path)  # wipes a damaged cache directory
        gone = not (cache_path / METADATA_FILE).exists()
        if warning or gone:
            if warning:
                warnings.append(warning)
            # connections of cached drivers point at the old file: drop them all for this store
            for other in [k for k in _entries if k[1] == store.root]:
                del _entries[other]
        entry = _entries.get(key)
        if entry is None:
            entry = _entries[key] = _new_entry(plan, store)
    apply_schedule_tags(entry.driver.graph, plan)
    return entry, warnings


def forget_drivers() -> None:
    """Drop every cached driver (tests; a long-lived process that wants to free memory)."""
    with _entries_lock:
        _entries.clear()
