"""Run tests in a child process that is killed when a test passes its time limit.

DataFusion 55 cannot interrupt a running query from Python (measured: neither SIGALRM nor
dropping the result stream stops a 40 s aggregate), so a hard time limit needs a process: one
spawned worker (never forked: a fork after DataFusion ran deadlocks the child) evaluates the
tests one by one, opening the tables itself from the store and the sources. A test that does
not answer within its limit gets the worker killed and an error result; the next test starts a
fresh worker. A worker that dies (killed by the OS for its memory, a crash) is an error too.
The worker's start-up (imports) is not counted against any test.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.checks.evaluate import Limits, error_result, evaluate
from cpg_core.checks.outcome import EvaluationError
from cpg_core.checks.tables import StoredTables
from cpg_core.plan.planned_tests import PlannedTest
from cpg_core.project import SourceSpec
from cpg_core.store.delta_store import DeltaStore

START_TIMEOUT_S = 120.0  # a cold start imports DataFusion, Arrow and deltalake


def _serve(conn: Connection, store: str, sources: Sequence[SourceSpec], limits: Limits) -> None:
    """The worker: answer (test, versions) requests with results until the pipe closes."""
    tables = StoredTables(DeltaStore(Path(store)), sources)
    conn.send("ready")
    while True:
        try:
            test, versions = conn.recv()
        except EOFError:
            return
        try:
            inputs = {name: tables.open(name) for name in test.reads}
        except EvaluationError as error:
            conn.send(error_result(test, f"not evaluated: {error}", error.details, versions))
            continue
        conn.send(evaluate(test, inputs, versions=versions, limits=limits))


class IsolatedRunner:
    """Evaluates tests in a worker process with a hard time limit per test."""

    def __init__(self, store: Path, sources: Sequence[SourceSpec], limits: Limits) -> None:
        if limits.timeout_s is None:
            raise ValueError("an isolated runner needs a time limit")
        self.store = store
        self.sources = tuple(sources)
        self.limits = limits
        self.timeout_s = limits.timeout_s
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> IsolatedRunner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> Connection:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(child, str(self.store), self.sources, self.limits),
            name="cpg-test-worker",
            daemon=True,
        )
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT_S) or parent.recv() != "ready":
            process.kill()
            raise RuntimeError("the test worker process did not start")
        self._process, self._conn = process, parent
        return parent

    def evaluate(self, test: PlannedTest, versions: Mapping[str, str]) -> DataTestResult:
        """`test`'s result, or an error result when it passes its limit or its worker dies."""
        conn = self._conn or self._start()
        started = time.perf_counter()
        timed_out = False
        try:
            conn.send((test, dict(versions)))
            timed_out = not conn.poll(self.timeout_s)
            if not timed_out:
                result: Any = conn.recv()
                if isinstance(result, DataTestResult):
                    return result
        except (EOFError, OSError):
            pass
        process = self._process
        self.close()
        if timed_out:
            message = f"timed out after {self.timeout_s:g} s (its query was stopped)"
        else:
            code = process.exitcode if process is not None else None
            message = f"the test's worker process died (exit code {code}): out of memory?"
        return error_result(test, message, {}, versions, started)

    def close(self) -> None:
        """Stop the worker (killed: a query in flight cannot be asked to stop)."""
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
        self._process, self._conn = None, None
