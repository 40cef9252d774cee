"""Analysis workers: processes that parse and analyze the views of a large cold compile.

sqlglot and DataFusion planning both hold the GIL, so threads gain nothing; a view's analysis
needs only its text and its inputs' schemas, so it moves to another process cheaply. Each
worker parses the views it is given (pass 1: what each reads) and keeps their ASTs; the
compiler keeps the dependency order and sends each ready view back to the worker that parsed
it (passes 2 and 3: qualify, plan in DataFusion), with the schemas it reads. An idle worker
takes a view another one parsed and parses it again, which is cheaper than shipping an AST.
Every reply is a `CachedView`, exactly what the compiler would have made itself.

Workers are fresh interpreters (`python -m cpg_core.plan.analysis_pool FD`), never forks —
forking after DataFusion ran deadlocks the child (docs/dependencies.md#fork-after-datafusion) — and not multiprocessing's spawn,
which re-imports the caller's `__main__` (a user's unguarded script would run twice). Messages
are msgpack over a socket pair. A worker that dies or fails hands its views back (as None):
the compiler does them itself, so a worker problem never fails a compile.
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Mapping
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Literal

import msgspec
import pyarrow as pa

from cpg_core.plan import engine_check
from cpg_core.plan.compile_cache import CachedView, schema_from_bytes, schema_to_bytes
from cpg_core.plan.sql_parse import ParsedView, parse_view
from cpg_core.plan.view_analysis import analyze_view, front_entry
from cpg_core.views.model import ViewDef

# Fewer views to analyze than this and the workers' start-up (~0.5 s) would not pay off.
POOL_MIN_VIEWS = 150
MAX_WORKERS = 4
_IN_FLIGHT = 3  # requests per worker: it never waits for the compiler's next one
# AST garbage (reference cycles) is left to the worker's exit up to this many young objects
# (~1 GiB): collecting it costs as much as a fifth of the analysis, and a worker's life is one
# compile. A larger compile collects in batches.
_GC_BUDGET = 5_000_000
_MAX_KEPT = 4000  # ASTs a worker keeps between pass 1 and analysis (~85 KB each)
_READY = b"ready"

Kind = Literal["front", "analysis"]
Outcome = tuple[Kind, str, CachedView | None]  # entry None: the caller does the view itself


class _Schema(msgspec.Struct, tag="schema"):
    """An input's schema (Arrow IPC), sent once per worker before a view that reads it."""

    name: str
    ipc: bytes


class _Front(msgspec.Struct, tag="front"):
    view: ViewDef


class Analysis(msgspec.Struct, tag="analysis"):
    """Analyze `view` over `inputs` (names of schemas the worker holds)."""

    view: ViewDef
    front: CachedView
    upstream_hash: str
    inputs: tuple[str, ...]


class _Reply(msgspec.Struct):
    kind: Kind
    name: str
    entry: CachedView | None  # None: the worker raised (a bug); the compiler redoes it


def worker_count() -> int:
    """One worker per core this process may use, at most MAX_WORKERS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_WORKERS))


def _serve(conn: Connection) -> None:
    """Worker loop: parse views, learn schemas, analyze views, remember output schemas."""
    engine_check.warm_up()
    conn.send_bytes(_READY)
    decoder = msgspec.msgpack.Decoder(_Schema | _Front | Analysis)
    encoder = msgspec.msgpack.Encoder()
    schemas: dict[str, pa.Schema] = {}
    kept: dict[str, ParsedView] = {}
    gc.disable()
    while True:
        try:
            message = decoder.decode(conn.recv_bytes())
        except EOFError:
            os._exit(0)  # nothing to flush; finalizing would collect every AST first
        if isinstance(message, _Schema):
            schemas[message.name] = schema_from_bytes(message.ipc)
            continue
        name = message.view.name
        entry: CachedView | None = None
        try:
            if isinstance(message, _Front):
                parsed = parse_view(message.view)
                entry = front_entry(parsed)
                if parsed.ast is not None and len(kept) < _MAX_KEPT:
                    kept[name] = parsed
            else:
                parsed = kept.pop(name, None) or parse_view(message.view)
                inputs = {n: schemas[n] for n in message.inputs}
                entry = analyze_view(parsed, inputs, message.front, message.upstream_hash)
                if entry.output_schema is not None:
                    schemas[name] = schema_from_bytes(entry.output_schema)
            del parsed
        except Exception:  # a bug of ours or sqlglot's: the compiler redoes this view itself
            entry = None
        kind: Kind = "front" if isinstance(message, _Front) else "analysis"
        conn.send_bytes(encoder.encode(_Reply(kind, name, entry)))
        if gc.get_count()[0] > _GC_BUDGET:
            gc.collect(1)


class _Worker:
    """One worker process and what the compiler has sent it."""

    def __init__(self, number: int) -> None:
        self.number = number
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(  # boots while the compiler reads the project
                [sys.executable, "-m", "cpg_core.plan.analysis_pool", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        self.conn = Connection(ours.detach())
        self.ready = False
        self.known: set[str] = set()  # schemas it holds
        self.in_flight: list[tuple[Kind, str]] = []

    @property
    def room(self) -> bool:
        return self.ready and len(self.in_flight) < _IN_FLIGHT

    def stop(self, *, kill: bool) -> None:
        self.conn.close()  # the worker sees EOF and exits
        try:
            if kill:
                self.process.kill()
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


class AnalysisPool:
    """Worker processes for pass 1 (`front`) and passes 2 and 3 (`analyze`) of many views.

    The caller queues work with `front` and `analyze`, then `collect`s replies: (kind, name,
    entry). An entry of None means the view's worker died or failed: the caller does it itself.
    """

    def __init__(self, workers: int) -> None:
        self._workers = [_Worker(number) for number in range(workers)]
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(_Reply)
        self._fronts: deque[ViewDef] = deque()
        self._analyses: dict[int | None, deque[tuple[Analysis, Mapping[str, pa.Schema]]]] = {}
        self._parsed_by: dict[str, int] = {}  # view -> the worker holding its AST
        self._returned: list[Outcome] = []

    @property
    def alive(self) -> bool:
        """False once every worker has died: the caller then does everything itself."""
        return bool(self._workers)

    @property
    def busy(self) -> bool:
        """Requests are queued, in flight, or handed back and not yet collected."""
        return (
            bool(self._returned or self._fronts)
            or any(self._analyses.values())
            or any(w.in_flight for w in self._workers)
        )

    def wait_until_ready(self, timeout_s: float = 30.0) -> bool:
        """Block until every worker has booted (tests use it; compiles never wait)."""
        for worker in list(self._workers):
            if not worker.ready and worker.conn.poll(timeout_s):
                self._receive(worker)
        return bool(self._workers) and all(w.ready for w in self._workers)

    def front(self, view: ViewDef) -> None:
        """Queue pass 1 of a view."""
        self._fronts.append(view)

    def analyze(self, request: Analysis, schemas: Mapping[str, pa.Schema]) -> None:
        """Queue passes 2 and 3 of a view whose inputs are all known (`schemas`: name -> schema)."""
        holder = self._parsed_by.pop(request.view.name, None)
        self._analyses.setdefault(holder, deque()).append((request, schemas))

    def collect(self, *, block: bool) -> list[Outcome]:
        """Send queued work to workers with room, then take replies (at least one if `block`
        and anything is outstanding). Everything still queued when the last worker died is
        handed back too."""
        self._feed()
        waiting = [w for w in self._workers if w.in_flight or not w.ready]
        if waiting and not self._returned:
            by_conn = {id(w.conn): w for w in waiting}
            for conn in wait([w.conn for w in waiting], None if block else 0):
                assert isinstance(conn, Connection)
                self._receive(by_conn[id(conn)])
            self._feed()  # keep the workers busy while the caller digests
        if not self._workers:
            self._return_queued()
        returned, self._returned = self._returned, []
        return returned

    def _feed(self) -> None:
        """Each worker first gets views it parsed, then new views to parse; leftovers of other
        workers (or of dead ones) go to whoever still has room."""
        for worker in list(self._workers):
            own = self._analyses.get(worker.number)
            while worker.room and own:
                self._send(worker, "analysis", *own.popleft())
            while worker.room and self._fronts:
                self._send(worker, "front", self._fronts.popleft(), {})
        for worker in list(self._workers):
            for queue in self._analyses.values():
                while worker.room and queue:
                    self._send(worker, "analysis", *queue.popleft())

    def _send(
        self,
        worker: _Worker,
        kind: Kind,
        request: Analysis | ViewDef,
        schemas: Mapping[str, pa.Schema],
    ) -> None:
        name = request.view.name if isinstance(request, Analysis) else request.name
        try:
            for table in request.inputs if isinstance(request, Analysis) else ():
                if table not in worker.known:
                    ipc = schema_to_bytes(schemas[table])
                    worker.conn.send_bytes(self._encoder.encode(_Schema(table, ipc)))
                    worker.known.add(table)
            message = request if isinstance(request, Analysis) else _Front(request)
            worker.conn.send_bytes(self._encoder.encode(message))
        except OSError:
            self._returned.append((kind, name, None))
            self._drop(worker)
            return
        worker.in_flight.append((kind, name))

    def _receive(self, worker: _Worker) -> None:
        try:
            data = worker.conn.recv_bytes()
        except (OSError, EOFError):
            self._drop(worker)
            return
        if data == _READY:
            worker.ready = True
            return
        reply = self._decoder.decode(data)
        kind = reply.kind
        worker.in_flight.remove((kind, reply.name))
        if kind == "front" and reply.entry is not None:
            self._parsed_by[reply.name] = worker.number
        elif reply.entry is not None and reply.entry.output_schema is not None:
            worker.known.add(reply.name)  # it remembers what it analyzed
        self._returned.append((kind, reply.name, reply.entry))

    def _drop(self, worker: _Worker) -> None:
        """A dead worker: its in-flight views go back to the caller, its ASTs to nobody."""
        if worker not in self._workers:
            return
        self._workers.remove(worker)
        worker.ready = False
        for kind, name in worker.in_flight:
            self._returned.append((kind, name, None))
        worker.in_flight.clear()
        orphans = self._analyses.pop(worker.number, deque())
        self._analyses.setdefault(None, deque()).extend(orphans)
        worker.stop(kill=True)

    def _return_queued(self) -> None:
        for view in self._fronts:
            self._returned.append(("front", view.name, None))
        self._fronts.clear()
        for queue in self._analyses.values():
            for request, _ in queue:
                self._returned.append(("analysis", request.view.name, None))
            queue.clear()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop(kill=False)
        self._workers.clear()

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
