"""The event log: buffered, one Delta commit per flush, msgpack payloads decoded back to structs."""

from __future__ import annotations

import datetime as dt
import json
import threading

import msgspec
import pyarrow as pa
import pytest

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.errors import InvalidNameError
from cpg_core.store.events import (
    EVENTS_SCHEMA,
    EVENTS_TABLE,
    CacheHit,
    DataTestFinish,
    EventLog,
    InputStored,
    RunError,
    RunFinish,
    RunStart,
    TaskBlocked,
    TaskError,
    TaskFinish,
    TaskStart,
    decode_payload,
    encode_payload,
    event_name,
    read_events,
)
from tests.golden import check_golden


def test_events_append_in_one_commit_per_flush_and_decode(store: DeltaStore) -> None:
    assert read_events(store).schema == EVENTS_SCHEMA  # empty before the first run
    with EventLog(store, "run-1", "sig-a") as log:
        log.emit(RunStart(mode="serial", tasks=2))
        log.emit(TaskStart(task="nodes", executor="local"))
        log.emit(TaskFinish(task="nodes", duration_s=0.25, rows=10, bytes=800, executor="local"))
        log.emit(CacheHit(task="edges", data_version="abc", rows=5))
        assert log.flush() == 4 and log.pending == 0
        log.emit(RunFinish(duration_s=1.0, tasks_run=1, cache_hits=1))
    assert store.info(EVENTS_TABLE) is not None
    assert len(store.versions(EVENTS_TABLE)) == 2  # two flushes, two commits

    events = read_events(store, run_id="run-1")
    assert events.schema == EVENTS_SCHEMA
    assert events.column("seq").to_pylist() == [0, 1, 2, 3, 4]
    assert events.column("event").to_pylist() == [
        "run_start",
        "task_start",
        "task_finish",
        "cache_hit",
        "run_finish",
    ]
    assert events.column("task").to_pylist() == [None, "nodes", "nodes", "edges", None]
    assert set(events.column("plan_signature").to_pylist()) == {"sig-a"}
    finish = decode_payload(events.column("payload")[2].as_py())
    assert finish == TaskFinish(task="nodes", duration_s=0.25, rows=10, bytes=800, executor="local")


def test_runs_are_kept_apart_and_payload_columns_are_binary(store: DeltaStore) -> None:
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for run in ("a", "b"):
        with EventLog(store, run, "sig") as log:
            log.emit(
                TaskError(task="v", duration_s=0.1, error="boom", error_type="ValueError"), ts=t0
            )
    assert read_events(store, "a").column("run_id").to_pylist() == ["a"]
    assert read_events(store).num_rows == 2
    assert read_events(store, "missing").num_rows == 0
    assert pa.types.is_binary(read_events(store).schema.field("payload").type)


def test_concurrent_emitters_get_unique_sequence_numbers(store: DeltaStore) -> None:
    log = EventLog(store, "r", "s")

    def work(i: int) -> None:
        for _ in range(50):
            log.emit(TaskStart(task=f"t{i}"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.flush() == 200
    assert sorted(read_events(store, "r").column("seq").to_pylist()) == list(range(200))


def test_garbage_payload_is_rejected() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_payload(b"\x93not an event")


def test_events_table_is_reserved(store: DeltaStore) -> None:
    with pytest.raises(InvalidNameError, match="reserved"):
        store.write(EVENTS_TABLE, pa.table({"a": [1]}), fingerprint="f", run_id="r")
    with EventLog(store, "r", "s") as log:
        log.emit(RunStart(mode="serial", tasks=0))
    assert store.names() == []  # not a dataset


# -- the data test payloads: goldens (msgpack as stored, JSON as read) ----------------------------

BLOCKED_EVENT = TaskBlocked(
    task="revenue",
    blocked_by=("orders.keys_unique",),
    reason="not run: data test(s) upstream did not pass: orders.keys_unique",
)
TEST_EVENT = DataTestFinish(
    task="orders",
    id="orders.keys_unique",
    name="keys_unique",
    view="orders",
    kind="unique",
    severity="error",
    status="failed",
    failing_rows=1,
    sample=({"order_id": 7, "occurrences": 2},),
    message="1 key value(s) repeat",
    details={"rows": 4, "distinct_keys": 3, "duplicate_keys": 1, "duplicate_rows": 2},
    reads={"orders": "d" * 64},
    definition_hash="h" * 64,
    duration_s=0.004,
    path="views/orders.sql",
    line=2,
)


def test_data_test_payloads_match_their_goldens() -> None:
    for name, payload in (("task_blocked", BLOCKED_EVENT), ("data_test_finish", TEST_EVENT)):
        encoded = encode_payload(payload)
        check_golden(f"store/{name}.msgpack.hex", encoded.hex() + "\n")
        pretty = json.dumps(msgspec.to_builtins(payload), indent=2, sort_keys=True) + "\n"
        check_golden(f"store/{name}.json", pretty)
        assert decode_payload(encoded) == payload
        assert event_name(payload) == name


def _fields(struct: type[msgspec.Struct]) -> dict[str, msgspec.inspect.Type]:
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.name: f.type for f in info.fields}


def test_a_data_test_event_carries_every_field_of_a_result() -> None:
    """`DataTestFinish` mirrors `DataTestResult` (the store layer cannot import it): the same
    fields with the same types, plus `task` (the view it is a check of)."""
    result_fields, event_fields = _fields(DataTestResult), _fields(DataTestFinish)
    assert event_fields.pop("task") == msgspec.inspect.UnionType(
        (msgspec.inspect.StrType(), msgspec.inspect.NoneType())
    )
    assert event_fields == result_fields


ONE_OF_EACH = [
    RunStart(mode="parallel", tasks=3, executor="threads", run_id="r1"),
    TaskStart(task="nodes", executor="thread"),
    TaskFinish(
        task="nodes",
        duration_s=0.5,
        rows=10,
        bytes=800,
        data_version="dv",
        executor="thread",
        cache_hit=False,
        delta_version=2,
        written=True,
        partitions_recomputed=4,
    ),
    TaskFinish(task="edges", duration_s=0.01, rows=5, cache_hit=True, delta_version=1),
    TaskError(task="bad", duration_s=0.1, error="boom", error_type="ValueError"),
    CacheHit(task="edges", data_version="dv2", rows=5, bytes=40),
    InputStored(task="files", rows=3, bytes=90, data_version="dv3", delta_version=0, written=True),
    RunFinish(duration_s=1.5, tasks_run=1, cache_hits=1),
    RunError(duration_s=0.2, error="failed", failed_task="bad"),
]


def test_event_payloads_match_their_golden_encoding() -> None:
    """The events table's payloads are a contract (tools decode them with SQL next to the
    outputs): a field added, renamed or re-typed shows here and must be accepted on purpose.
    Old payloads, written before a field existed, still decode (the field takes its default)."""
    lines = [f"{event_name(e)} {encode_payload(e).hex()}" for e in ONE_OF_EACH]
    check_golden("store/event_payloads.txt", "\n".join(lines) + "\n")
    assert [decode_payload(encode_payload(e)) for e in ONE_OF_EACH] == ONE_OF_EACH
    before_written = msgspec.msgpack.encode(
        {"event": "task_finish", "task": "v", "duration_s": 1.0, "cache_hit": True}
    )
    assert decode_payload(before_written) == TaskFinish(task="v", duration_s=1.0, cache_hit=True)
