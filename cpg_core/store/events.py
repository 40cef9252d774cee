"""Run lifecycle events: an append-only Delta table ``_cpg_events`` with msgpack payloads.

Why a table: events are data (which views ran, how long, cache hits) that tools query with SQL next
to the outputs. Why msgpack payloads: one typed, compact column for every event kind, decoded back
into msgspec structs (no JSON string columns). Why buffered: a run appends its events in a few
commits (`flush`), not one commit per event.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any, Final, Literal

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from cpg_core.store.delta_store import META_RUN_ID, DeltaStore
from cpg_core.store.errors import StoreConflictError, TableNotFoundError

EVENTS_TABLE: Final = "_cpg_events"
EVENTS_SCHEMA: Final = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("plan_signature", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("task", pa.string(), nullable=True),
        pa.field("event", pa.string(), nullable=False),
        pa.field("payload", pa.binary(), nullable=False),
    ]
)
_APPEND_ATTEMPTS: Final = 3

Outcome = Literal["built", "unchanged", "cached"]
"""What happened to a table in a run, in the words the CLI and Dagster both use."""


class _Payload(msgspec.Struct, frozen=True, kw_only=True, tag_field="event"):
    """Base of every event payload; the tag is the `event` column's value."""


class RunStart(_Payload, frozen=True, kw_only=True, tag="run_start"):
    mode: str
    tasks: int
    executor: str | None = None
    run_id: str | None = None


class TaskStart(_Payload, frozen=True, kw_only=True, tag="task_start"):
    task: str
    executor: str | None = None


class TaskFinish(_Payload, frozen=True, kw_only=True, tag="task_finish"):
    """A view is in the store: computed or from the cache (`cache_hit`), and a new table
    version written (`written`) or the stored rows already equal to the result."""

    task: str
    duration_s: float
    rows: int | None = None
    bytes: int | None = None
    data_version: str | None = None
    executor: str | None = None
    cache_hit: bool = False
    delta_version: int | None = None
    written: bool = False
    partitions_recomputed: int | None = None  # partition-incremental views only

    @property
    def outcome(self) -> Outcome:
        """`cached` (reused from the cache), `built` (a new table version) or `unchanged`
        (computed, and the same rows as stored)."""
        if self.cache_hit:
            return "cached"
        return "built" if self.written else "unchanged"


class TaskError(_Payload, frozen=True, kw_only=True, tag="task_error"):
    task: str
    duration_s: float
    error: str
    error_type: str | None = None
    executor: str | None = None


class CacheHit(_Payload, frozen=True, kw_only=True, tag="cache_hit"):
    task: str
    data_version: str | None = None
    rows: int | None = None
    bytes: int | None = None


class RunFinish(_Payload, frozen=True, kw_only=True, tag="run_finish"):
    duration_s: float
    tasks_run: int
    cache_hits: int


class InputStored(_Payload, frozen=True, kw_only=True, tag="input_stored"):
    """An input table of the run (evidence) is in the store at this version."""

    task: str
    rows: int | None = None
    bytes: int | None = None
    data_version: str | None = None
    delta_version: int | None = None
    written: bool = False

    @property
    def outcome(self) -> Outcome:
        """`built` (a new table version) or `unchanged` (the stored rows are the same)."""
        return "built" if self.written else "unchanged"


class TaskBlocked(_Payload, frozen=True, kw_only=True, tag="task_blocked"):
    """A view of the run was not run: an error-severity data test of a view it reads (or of
    a view upstream of that) did not pass. It is not stored, and neither are its readers."""

    task: str
    blocked_by: tuple[str, ...]  # ids of the tests that did not pass
    reason: str


class DataTestFinish(_Payload, frozen=True, kw_only=True, tag="data_test_finish"):
    """A data test of the run was decided. `task` is the view it is a check of (a singular
    test: the last view it reads in plan order); the other fields are its result, field for
    field `cpg_core.artifacts.contracts.DataTestResult` (a test pins that they agree: this
    layer sits below the artifacts)."""

    task: str | None
    id: str
    name: str
    view: str | None
    kind: str
    severity: Literal["error", "warn"]
    status: Literal["passed", "failed", "error"]
    failing_rows: int | None
    sample: tuple[dict[str, Any], ...] = ()
    message: str | None = None
    details: dict[str, Any] = {}
    reads: dict[str, str] = {}
    definition_hash: str
    duration_s: float
    cached: bool = False
    path: str | None = None
    line: int | None = None


class RunError(_Payload, frozen=True, kw_only=True, tag="run_error"):
    duration_s: float
    error: str
    failed_task: str | None = None


EventPayload = (
    RunStart
    | TaskStart
    | TaskFinish
    | TaskError
    | TaskBlocked
    | CacheHit
    | InputStored
    | DataTestFinish
    | RunFinish
    | RunError
)

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(EventPayload)


def encode_payload(payload: EventPayload) -> bytes:
    return _encoder.encode(payload)


def decode_payload(data: bytes) -> EventPayload:
    """Decode a `payload` cell back into its struct (raises `msgspec.DecodeError` if invalid)."""
    return _decoder.decode(data)


def event_name(payload: EventPayload) -> str:
    tag = type(payload).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


class EventLog:
    """Buffers one run's events in memory; `flush` appends them to the store in one commit.

    Thread-safe (the executor emits from worker threads). Use as a context manager to flush on exit.
    """

    def __init__(
        self,
        store: DeltaStore,
        run_id: str,
        plan_signature: str,
        listener: Callable[[EventPayload], None] | None = None,
    ) -> None:
        self.store = store
        self.listener = listener
        self.run_id = run_id
        self.plan_signature = plan_signature
        self._rows: list[tuple[int, dt.datetime, str | None, str, bytes]] = []
        self._seq = 0
        self._lock = threading.Lock()

    def emit(self, payload: EventPayload, *, ts: dt.datetime | None = None) -> int:
        """Buffer one event; returns its sequence number within the run."""
        when = ts or dt.datetime.now(dt.UTC)
        task = getattr(payload, "task", None)
        row_payload = encode_payload(payload)
        with self._lock:
            seq = self._seq
            self._seq += 1
            self._rows.append((seq, when, task, event_name(payload), row_payload))
        if self.listener is not None:
            self.listener(payload)
        return seq

    @property
    def pending(self) -> int:
        return len(self._rows)

    def flush(self) -> int:
        """Append the buffered events in one Delta commit; returns how many were written."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        seq, ts, task, event, payload = (list(column) for column in zip(*rows, strict=True))
        table = pa.table(
            {
                "run_id": [self.run_id] * len(rows),
                "plan_signature": [self.plan_signature] * len(rows),
                "seq": seq,
                "ts": ts,
                "task": task,
                "event": event,
                "payload": payload,
            },
            schema=EVENTS_SCHEMA,
        )
        for attempt in range(_APPEND_ATTEMPTS):  # only a racing *creation* of the table conflicts
            try:
                self.store.append_internal(EVENTS_TABLE, table, {META_RUN_ID: self.run_id})
                break
            except StoreConflictError:
                if attempt == _APPEND_ATTEMPTS - 1:
                    with self._lock:
                        self._rows[:0] = rows  # keep them for a later flush
                    raise
        return len(rows)

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.flush()


def read_events(store: DeltaStore, run_id: str | None = None) -> pa.Table:
    """Events (of one run, or all), ordered by time, run and sequence number."""
    try:
        table = store.read(EVENTS_TABLE)
    except TableNotFoundError:
        return EVENTS_SCHEMA.empty_table()
    if run_id is not None:
        table = table.filter(pc.field("run_id") == run_id)
    return table.sort_by([("ts", "ascending"), ("run_id", "ascending"), ("seq", "ascending")])
