"""One background thread that writes a run's tables to the store while the next views compute.

Why: a Delta write (Parquet encoding, compression, the commit) is mostly native code that
releases the GIL, and a view's query rarely keeps every core busy, so writing view *n* while
view *n+1* runs takes the write off the critical path. Writes stay in submission order on one
thread (the store's commits are serial anyway). At most `depth` tables wait for the writer, so a
writer that falls behind slows the run down instead of holding every output in memory.

A failed write is kept: nothing is written after it, `check` raises it (the run stops before its
next view) and `drain` raises it at the end. `close` always waits for the thread, so no write
outlives the run's store lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait


class TableWriteError(RuntimeError):
    """Writing `table` to the store failed; `error` is the store's exception."""

    def __init__(self, table: str, error: BaseException) -> None:
        self.table = table
        self.error = error
        super().__init__(f"storing {table!r} failed: {error}")


class BackgroundWriter:
    """Runs write callables one at a time on a background thread, in submission order."""

    def __init__(self, depth: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cpg-writer")
        self._slots = threading.BoundedSemaphore(depth)
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()
        self.failure: TableWriteError | None = None

    def submit(self, table: str, write: Callable[[], None], *, wait: bool = True) -> None:
        """Queue `write` (which stores `table`). With `wait`, block while `depth` writes are
        waiting; without, queue it regardless (a table that is held in memory anyway)."""
        self.check()
        if wait:
            self._slots.acquire()
        future = self._pool.submit(self._run, table, write, wait)
        with self._lock:
            self._futures.append(future)

    def _run(self, table: str, write: Callable[[], None], slot: bool) -> None:
        try:
            if self.failure is None:
                write()
        except Exception as error:
            with self._lock:
                self.failure = self.failure or TableWriteError(table, error)
        finally:
            if slot:
                self._slots.release()

    def check(self) -> None:
        """Raise the first failed write, if any."""
        if self.failure is not None:
            raise self.failure

    def drain(self) -> None:
        """Wait for every queued write; raise the first failure."""
        with self._lock:
            futures = list(self._futures)
        wait(futures)
        self.check()

    def close(self) -> None:
        """Wait for the thread to finish what is queued and stop it (never raises)."""
        self._pool.shutdown(wait=True)
