"""Out-of-process executors for view nodes: spawned processes, Dask or Ray (optional extras).

A worker runs the *generated node function itself*: it imports the plan's module from its file
(`codegen.load_module`) and calls the node with the same kwargs Hamilton would. Processes are
spawned, never forked (docs/dependencies.md#fork-after-datafusion: a fork after DataFusion ran deadlocks the child); Dask's nannies
spawn too (`distributed.worker.multiprocessing-method` defaults to spawn). The result comes back
with its data version so the parent does not hash it again.

Dask pickles `call_node` by reference: the worker imports `cpg_core.execute.pools` (installed
package) and then the generated module by its file path, so nothing plan-specific is pickled but
the kwargs (Arrow tables, the `ViewTask`, the fingerprint). As with any spawn-based pool, a
script that builds with a process, Dask or Ray executor must guard its entry point with
``if __name__ == "__main__":`` (spawned children re-import the parent's ``__main__``).
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import pickle
import threading
import traceback
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from cpg_core.execute.codegen import GeneratedModule, load_module
from cpg_core.execute.versions import data_version, remember
from cpg_core.settings import ExecutorKind


class ExtraNotInstalledError(RuntimeError):
    """The executor kind needs an optional extra that is not installed."""


class RemoteTaskError(RuntimeError):
    """A node failed out of process with an exception that cannot travel back as itself
    (e.g. one whose ``__init__`` takes other arguments than its message). The message keeps the
    original type and text; ``remote_traceback`` is the worker's traceback."""

    def __init__(self, message: str, remote_traceback: str = "") -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.remote_traceback))


def _portable(error: Exception) -> Exception:
    """`error` itself if it survives pickling, else a `RemoteTaskError` with its text."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RemoteTaskError(f"{type(error).__name__}: {error}", traceback.format_exc())
    return error


def call_node(
    module_name: str, module_path: str, node: str, kwargs: dict[str, Any]
) -> tuple[Any, str | None, int]:
    """Worker side: import the generated module and run one node.

    Returns (result, its data version or None, the worker's pid). A failure is re-raised as an
    exception that pickles (the view's name is in its message; the runner names the task too).
    """
    module = load_module(module_name, Path(module_path))
    try:
        result = getattr(module, node)(**kwargs)
    except Exception as error:
        portable = _portable(error)
        if portable is error:
            raise
        raise portable from None
    version = data_version(result) if isinstance(result, pa.Table) else None
    return result, version, os.getpid()


class RemotePool(Protocol):
    """Runs one node call out of process and blocks for its result."""

    name: str
    ran_in: dict[str, int]
    """node → pid of the process that ran it (filled as calls complete; for tests and reports)."""

    def call(self, module: GeneratedModule, node: str, kwargs: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...


class _Recorder:
    """Unpacks worker payloads and records where each node ran."""

    def __init__(self) -> None:
        self.ran_in: dict[str, int] = {}
        self._lock = threading.Lock()

    def _unpack(self, node: str, payload: tuple[Any, str | None, int]) -> Any:
        result, version, pid = payload
        with self._lock:
            self.ran_in[node] = pid
        if version is not None and isinstance(result, pa.Table):
            remember(result, version)
        return result


class ProcessPool(_Recorder):
    """A spawn-context process pool."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        super().__init__()
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )

    def call(self, module: GeneratedModule, node: str, kwargs: dict[str, Any]) -> Any:
        future: Future[tuple[Any, str | None, int]] = self._pool.submit(
            call_node, module.name, str(module.path), node, kwargs
        )
        return self._unpack(node, future.result())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskPool(_Recorder):
    """A local Dask cluster of `workers` spawned worker processes, one thread each, listening
    on loopback only; started here and closed by `close` (`pip install 'cpg[remote]'`).

    The client is not made the process-wide default, so a user's own Dask code keeps its
    scheduler while a build runs.
    """

    name = "dask"

    def __init__(self, workers: int) -> None:
        super().__init__()
        try:
            distributed = importlib.import_module("distributed")  # optional extra
        except ImportError as error:
            raise ExtraNotInstalledError(
                "executor kind 'dask' needs the remote extra: pip install 'cpg[remote]' "
                "(or 'dask[distributed]')"
            ) from error
        self._cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        try:
            self._client = distributed.Client(self._cluster, set_as_default=False)
        except BaseException:
            self._cluster.close()
            raise

    @property
    def address(self) -> str:
        """The scheduler's address (loopback)."""
        return str(self._cluster.scheduler_address)

    def call(self, module: GeneratedModule, node: str, kwargs: dict[str, Any]) -> Any:
        future = self._client.submit(
            call_node, module.name, str(module.path), node, kwargs, pure=False
        )
        return self._unpack(node, future.result())

    def close(self) -> None:
        try:
            self._client.close()
        finally:
            self._cluster.close()


class RayPool(_Recorder):
    """A local Ray instance (`pip install ray`)."""

    name = "ray"

    def __init__(self, workers: int) -> None:
        super().__init__()
        try:
            ray = importlib.import_module("ray")  # optional extra
        except ImportError as error:
            raise ExtraNotInstalledError(
                "executor kind 'ray' needs ray: pip install ray"
            ) from error
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        self._remote = ray.remote(call_node)

    def call(self, module: GeneratedModule, node: str, kwargs: dict[str, Any]) -> Any:
        ref = self._remote.remote(module.name, str(module.path), node, kwargs)
        return self._unpack(node, self._ray.get(ref))

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
