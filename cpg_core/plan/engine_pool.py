"""Where DataFusion plans views: in this process, or in one spawned worker process.

DataFusion planning holds the GIL (a thread gains nothing), but it is independent of the
sqlglot pass over the same view, so on a large cold compile a worker process plans view N while
this process qualifies it: the two passes overlap on two cores. Requests go over a plain pipe
from the calling thread (no executor threads: they would wait for the GIL the sqlglot pass
holds). Small or cached compiles plan in-process (a worker costs a process start). The worker
is a fresh interpreter (`python -m cpg_core.plan.engine_pool FD`), never a fork — forking after
DataFusion ran deadlocks the child (FACTS.md) — and not multiprocessing's spawn either, which
re-imports the caller's `__main__` (a user's unguarded script would run twice).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from types import TracebackType

import pyarrow as pa

from cpg_core.plan import engine_check
from cpg_core.plan.compile_cache import schema_from_bytes, schema_to_bytes

# Fewer views to analyze than this and the worker's start-up (~0.5 s) would not pay off.
PROCESS_ENGINE_MIN_VIEWS = 150


def _serve(conn: Connection) -> None:
    """Worker loop. It remembers schemas by table name, so each is sent (or planned) once:

    ("schema", name, ipc_bytes)        — learn an input's schema, no reply;
    ("plan", name, sql, input_names)   — plan, remember the output, reply a PlanOutcome."""
    engine_check.warm_up()
    conn.send(("ready",))
    schemas: dict[str, pa.Schema] = {}
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message[0] == "schema":
            schemas[message[1]] = schema_from_bytes(message[2])
            continue
        _, name, sql, input_names = message
        outcome = engine_check.plan_outcome(sql, {n: schemas[n] for n in input_names})
        if outcome[0] is not None:
            schemas[name] = outcome[0]
        conn.send(outcome)


class PlanningEngine:
    """`plan(sql, inputs)` starts planning and returns a callable that yields the schema.

    At most one request is in flight: the caller collects a result before planning the next
    view (the compiler's passes over one view overlap, views stay in order)."""

    def __init__(self, *, in_process: bool) -> None:
        self._conn: Connection | None = None
        self._known: set[str] = set()
        self._ready = False
        self._process: subprocess.Popen[bytes] | None = None
        if not in_process:
            ours, theirs = socket.socketpair()
            with theirs:
                self._process = subprocess.Popen(  # boots while the caller parses
                    [sys.executable, "-m", "cpg_core.plan.engine_pool", str(theirs.fileno())],
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL,
                )
            self._conn = Connection(ours.detach())

    def wait_until_ready(self, timeout_s: float = 30.0) -> bool:
        """Block until the worker has booted (tests use it; compiles never wait)."""
        if self._conn is not None and not self._ready and self._conn.poll(timeout_s):
            self._ready = self._conn.recv() == ("ready",)
        return self._ready

    @property
    def uses_worker(self) -> bool:
        """True when planning happens in a worker process."""
        return self._conn is not None

    def plan(self, name: str, sql: str, inputs: Mapping[str, pa.Schema]) -> Callable[[], pa.Schema]:
        """Start planning view `name`; the callable gives its schema or raises EngineError.

        A table's schema must not change within one engine's life (one compile)."""
        conn = self._conn
        if conn is not None and not self._ready:
            # Until the worker has booted, plan here rather than wait for it.
            try:
                self._ready = conn.poll() and conn.recv() == ("ready",)
            except (OSError, EOFError):
                self._drop_worker()
                conn = None
        if conn is None or not self._ready:
            return lambda: engine_check.output_schema(sql, inputs)
        try:
            for table, schema in inputs.items():
                if table not in self._known:
                    conn.send(("schema", table, schema_to_bytes(schema)))
                    self._known.add(table)
            conn.send(("plan", name, sql, tuple(inputs)))
        except (OSError, EOFError):
            self._drop_worker()
            return lambda: engine_check.output_schema(sql, inputs)

        def result() -> pa.Schema:
            try:
                outcome = conn.recv()
            except (OSError, EOFError):  # the worker died: plan here instead, never fail for it
                self._drop_worker()
                return engine_check.output_schema(sql, inputs)
            if outcome[0] is not None:
                self._known.add(name)  # the worker remembers what it planned
            return engine_check.unpack_outcome(outcome)

        return result

    def _drop_worker(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=5)
            self._process = None

    def __enter__(self) -> PlanningEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            self._conn.close()  # the worker sees EOF and exits
            self._conn = None
        if self._process is not None:
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            self._process = None


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
