"""The lifecycle adapter that persists view outputs and records task events.

Why an adapter: it runs in the worker that ran the node, right after Hamilton's cache adapter,
so each output is handed to the store as soon as it exists (a later failure keeps it) and events
carry what really happened: start, finish, duration, rows, bytes, cache hit, executor. The write
itself runs on the run's `BackgroundWriter` (the next view computes meanwhile); the task's finish
event is emitted once its table is committed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from hamilton.caching.adapter import HamiltonCacheAdapter
from hamilton.lifecycle.api import NodeExecutionHook

from cpg_core.execute.cache import DeltaResultStore
from cpg_core.execute.manifest import CacheLineage
from cpg_core.execute.runner import RunRecord
from cpg_core.execute.sources import SourceTable
from cpg_core.execute.versions import data_version
from cpg_core.execute.writer import BackgroundWriter
from cpg_core.store.content_hash import CanonicalTable
from cpg_core.store.delta_store import DeltaStore, StoredVersion
from cpg_core.store.events import EventLog, TaskError, TaskFinish, TaskStart


@dataclass
class RunContext:
    """What the adapter needs for one run (set by the build, cleared after it)."""

    store: DeltaStore
    run_id: str
    events: EventLog
    record: RunRecord
    writer: BackgroundWriter
    fingerprints: dict[str, str]  # persisted views of this run → fingerprint
    stored: dict[str, StoredVersion] = field(default_factory=dict)  # latest at run start
    written: dict[str, tuple[StoredVersion, bool]] = field(default_factory=dict)
    lineage: dict[str, CacheLineage] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)


class StoreAdapter(NodeExecutionHook):
    """Writes each persisted view output to the store and emits its task events."""

    def __init__(self, results: DeltaResultStore) -> None:
        self.results = results
        self.cache: HamiltonCacheAdapter | None = None
        self.context: RunContext | None = None
        self._starts: dict[str, float] = {}
        self._upstream: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def run_before_node_execution(
        self, *, node_name: str, node_kwargs: dict[str, Any], **future_kwargs: Any
    ) -> None:
        context = self.context
        if context is None or node_name not in context.fingerprints:
            return
        context.writer.check()  # an earlier output could not be stored: start nothing new
        upstream = {
            name: data_version(value)
            for name, value in sorted(node_kwargs.items())
            if isinstance(value, pa.Table | SourceTable)
        }
        with self._lock:
            self._starts[node_name] = time.perf_counter()
            self._upstream[node_name] = upstream
        context.events.emit(
            TaskStart(task=node_name, executor=context.record.executor_of.get(node_name))
        )

    def run_after_node_execution(
        self,
        *,
        node_name: str,
        result: Any,
        error: Exception | None,
        success: bool,
        run_id: str,
        **future_kwargs: Any,
    ) -> None:
        current = self.context
        if current is None or node_name not in current.fingerprints:
            return
        context: RunContext = current  # bound for the write closures below
        with self._lock:
            duration = time.perf_counter() - self._starts.pop(node_name, time.perf_counter())
            upstream = self._upstream.pop(node_name, {})
        executor = context.record.executor_of.get(node_name)
        if not success:
            context.events.emit(
                TaskError(
                    task=node_name,
                    duration_s=duration,
                    error=str(error),
                    error_type=type(error).__name__ if error is not None else None,
                    executor=executor,
                )
            )
            return
        assert isinstance(result, pa.Table)
        fingerprint = context.fingerprints[node_name]
        version = data_version(result)
        hit = node_name not in context.record.executed
        cache_key = self.cache.cache_keys.get(run_id, {}).get(node_name) if self.cache else None
        with self._lock:
            context.lineage[node_name] = CacheLineage(
                view=node_name,
                cache_key=cache_key if isinstance(cache_key, str) else None,
                hit=hit,
                fingerprint=fingerprint,
                upstream_versions=upstream,
            )
            if not hit:
                context.durations[fingerprint] = context.record.executed[node_name]

        def finish(stored: StoredVersion, written: bool) -> None:
            self.results.remember(version, node_name, stored.version)
            with self._lock:
                context.written[node_name] = (stored, written)
            context.events.emit(
                TaskFinish(
                    task=node_name,
                    duration_s=duration,
                    rows=stored.rows,
                    bytes=stored.bytes,
                    data_version=version,
                    executor=executor,
                    cache_hit=hit,
                    delta_version=stored.version,
                )
            )

        previous = context.stored.get(node_name)
        if previous is not None and previous.data_version == version:
            finish(previous, False)  # unchanged rows (e.g. a cache hit): no Delta work
            return

        def write() -> None:
            stored = context.store.write(
                node_name,
                CanonicalTable(result),
                fingerprint=fingerprint,
                data_version=version,
                run_id=context.run_id,
            )
            finish(stored, previous is None or previous.version != stored.version)

        context.writer.submit(node_name, write)
