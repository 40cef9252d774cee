"""Out-of-process executors for view nodes: spawned processes, Dask or Ray (optional extras).

A worker runs the *generated node function itself*: it imports the plan's module from its file
(`codegen.load_module`) and calls the node with the same kwargs Hamilton would. Processes are
spawned, never forked (FACTS: a fork after DataFusion ran deadlocks the child). The result comes
back with its data version so the parent does not hash it again.
"""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from cpg_core.execute.codegen import GeneratedModule, load_module
from cpg_core.execute.config import ExecutorKind
from cpg_core.execute.versions import data_version, remember


class ExtraNotInstalledError(RuntimeError):
    """The executor kind needs an optional extra that is not installed."""


def call_node(module_name: str, module_path: str, node: str, kwargs: dict[str, Any]) -> Any:
    """Worker side: import the generated module and run one node (returns result, version)."""
    module = load_module(module_name, Path(module_path))
    result = getattr(module, node)(**kwargs)
    version = data_version(result) if isinstance(result, pa.Table) else None
    return result, version


class RemotePool(Protocol):
    """Runs one node call out of process and blocks for its result."""

    name: str

    def call(self, module: GeneratedModule, node: str, kwargs: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...


def _unpack(payload: tuple[Any, str | None]) -> Any:
    result, version = payload
    if version is not None and isinstance(result, pa.Table):
        remember(result, version)
    return result


class ProcessPool:
    """A spawn-context process pool."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )

    def call(self, module: GeneratedModule, node: str, kwargs: dict[str, Any]) -> Any:
        future: Future[tuple[Any, str | None]] = self._pool.submit(
            call_node, module.name, str(module.path), node, kwargs
        )
        return _unpack(future.result())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """A local Dask cluster (`pip install 'dask[distributed]'`)."""

    name = "dask"

    def __init__(self, workers: int) -> None:
        try:
            distributed = importlib.import_module("distributed")  # optional extra
        except ImportError as error:
            raise ExtraNotInstalledError(
                "executor kind 'dask' needs the dask extra: pip install 'dask[distributed]'"
            ) from error
        self._cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        self._client = distributed.Client(self._cluster)

    def call(self, module: GeneratedModule, node: str, kwargs: dict[str, Any]) -> Any:
        future = self._client.submit(
            call_node, module.name, str(module.path), node, kwargs, pure=False
        )
        return _unpack(future.result())

    def close(self) -> None:
        self._client.close()
        self._cluster.close()


class RayPool:
    """A local Ray instance (`pip install ray`)."""

    name = "ray"

    def __init__(self, workers: int) -> None:
        try:
            ray = importlib.import_module("ray")  # optional extra
        except ImportError as error:
            raise ExtraNotInstalledError(
                "executor kind 'ray' needs the ray extra: pip install ray"
            ) from error
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        self._remote = ray.remote(call_node)

    def call(self, module: GeneratedModule, node: str, kwargs: dict[str, Any]) -> Any:
        ref = self._remote.remote(module.name, str(module.path), node, kwargs)
        return _unpack(self._ray.get(ref))

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()


def open_pool(kind: ExecutorKind, workers: int) -> RemotePool:
    """Start the out-of-process executor of `kind` (threads are not a pool here)."""
    if kind == "processes":
        return ProcessPool(workers)
    if kind == "dask":
        return DaskPool(workers)
    if kind == "ray":
        return RayPool(workers)
    raise ValueError(f"{kind!r} is not an out-of-process executor")
