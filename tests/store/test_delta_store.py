"""DeltaStore on real Delta tables in tmp dirs: round trips, skip-unchanged, names, metadata."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pytest

from cpg_core.store.content_hash import canonicalize, content_hash
from cpg_core.store.delta_store import DeltaStore, validate_name
from cpg_core.store.errors import InvalidNameError, StoreWriteError, TableNotFoundError

RICH = pa.table(
    {
        "id": pa.array([3, 1, 2], pa.int64()),
        "name": pa.array(["c", None, "a"], pa.large_string()),
        "tags": pa.array([["x", None], [], None], pa.list_(pa.string())),
        "pos": pa.array(
            [{"line": 1, "col": 2}, None, {"line": None, "col": 0}],
            pa.struct([("line", pa.int32()), ("col", pa.int32())]),
        ),
        "attrs": pa.array([[("k", "v")], None, []], pa.map_(pa.string(), pa.string())),
        "ts": pa.array(
            [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), None, None], pa.timestamp("us", "UTC")
        ),
        "blob": pa.array([b"\x00", b"", None], pa.binary()),
        "ok": pa.array([True, None, False]),
        "score": pa.array([0.5, float("nan"), -0.0]),
        "small": pa.array([1, 2, 255], pa.uint8()),
    }
)


def test_round_trip_keeps_content_and_data_version(store: DeltaStore) -> None:
    stored = store.write("rich", RICH, fingerprint="fp1", run_id="run1")
    assert (stored.version, stored.rows, stored.fingerprint, stored.run_id) == (0, 3, "fp1", "run1")
    assert stored.data_version == content_hash(RICH)
    assert stored.bytes > 0
    back = store.read("rich")
    assert back.schema.field("tags").type == pa.list_(pa.field("element", pa.string()))
    assert back.schema.field("small").type == pa.int16()  # Delta has no unsigned ints
    assert content_hash(back) == stored.data_version  # hash(write) == hash(read)
    assert repr(back.to_pylist()) == repr(canonicalize(RICH).table.to_pylist())
    assert store.info("rich") == stored


def test_unchanged_content_commits_nothing(store: DeltaStore) -> None:
    first = store.write("t", RICH, fingerprint="fp1", run_id="run1")
    log = store.table_path("t") / "_delta_log"
    before = sorted(p.name for p in log.iterdir())
    again = store.write("t", RICH.take([2, 0, 1]), fingerprint="fp1", run_id="run2")
    by_version = store.write(
        "t", RICH, fingerprint="fp1", data_version=first.data_version, run_id="r3"
    )
    assert again == first == by_version
    assert sorted(p.name for p in log.iterdir()) == before


def test_new_content_is_a_new_version_and_old_versions_stay(store: DeltaStore) -> None:
    v0 = store.write("t", pa.table({"a": [1, 2]}), fingerprint="f0", run_id="r0")
    v1 = store.write("t", pa.table({"b": ["schema", "changed"]}), fingerprint="f1", run_id="r1")
    assert (v0.version, v1.version) == (0, 1)
    assert store.read("t", version=0).to_pydict() == {"a": [1, 2]}
    assert store.read("t").to_pydict() == {"b": ["changed", "schema"]}  # canonical order
    assert store.info("t", version=0) == v0
    assert store.versions("t") == [v0, v1]
    with pytest.raises(TableNotFoundError):
        store.read("t", version=7)


def test_same_content_gives_identical_parquet_bytes(store: DeltaStore) -> None:
    store.write("t", RICH, fingerprint="f", run_id="r")
    store.write("t", pa.table({"a": [1]}), fingerprint="f", run_id="r")
    store.write("t", RICH.take([1, 2, 0]), fingerprint="f", run_id="r")
    files = sorted(store.table_path("t").glob("*.parquet"), key=os.path.getmtime)
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    assert len(digests) == 3 and digests[0] == digests[2] != digests[1]


def test_missing_tables(store: DeltaStore) -> None:
    assert store.info("nope") is None
    assert not store.exists("nope")
    assert store.names() == []
    with pytest.raises(TableNotFoundError, match="'nope' does not exist"):
        store.read("nope")


def test_names_lists_datasets_only(store: DeltaStore) -> None:
    store.write("b_table", pa.table({"a": [1]}), fingerprint="f", run_id="r")
    store.write("a_table", pa.table({"a": [1]}), fingerprint="f", run_id="r")
    (store.tables_dir / "not_a_table").mkdir()
    (store.tables_dir / "Bad-Name").mkdir()
    assert store.names() == ["a_table", "b_table"]


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..",
        ".",
        "",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "x\n",
        "UPPER",
        "9lives",
        "a-b",
        "é",
        "a b",
        "t" * 129,
        "_cpg_events",
        "_cpg",
    ],
)
def test_hostile_names_are_rejected(store: DeltaStore, name: str) -> None:
    with pytest.raises(InvalidNameError):
        store.write(name, pa.table({"a": [1]}), fingerprint="f", run_id="r")
    with pytest.raises(InvalidNameError):
        validate_name(name)
    if not name.startswith("_cpg"):  # reserved tables are readable (events), never writable
        with pytest.raises(InvalidNameError):
            store.read(name)
    assert not any(store.root.parent.glob("x"))


def test_non_string_name_is_rejected() -> None:
    with pytest.raises(InvalidNameError):
        validate_name(cast(Any, 42))  # a non-string is the point of the test


def test_symlinked_table_dir_cannot_escape(store: DeltaStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store.tables_dir.mkdir(parents=True)
    (store.tables_dir / "evil").symlink_to(outside)
    with pytest.raises(InvalidNameError, match="outside the store"):
        store.write("evil", pa.table({"a": [1]}), fingerprint="f", run_id="r")
    assert list(outside.iterdir()) == []
    assert store.names() == []


def test_unstorable_types_fail_before_anything_is_written(store: DeltaStore) -> None:
    store.write("t", pa.table({"a": [1]}), fingerprint="f", run_id="r")
    with pytest.raises(StoreWriteError, match=r"cannot store table 't'.*DECIMAL"):
        store.write(
            "t", pa.table({"d": pa.array([1], pa.decimal256(40, 0))}), fingerprint="f", run_id="r"
        )
    assert store.read("t").to_pydict() == {"a": [1]}


def test_canonical_table_is_written_without_resorting(store: DeltaStore) -> None:
    canonical = canonicalize(RICH)
    stored = store.write("t", canonical, fingerprint="f", run_id="r")
    assert stored.data_version == canonical.data_version
