"""Partitioned tables in the store: partition maps, the replaceWhere commit, map files.

Also pins what cpg relies on in deltalake 1.x: `write_deltalake(mode="overwrite",
predicate=...)` replaces exactly the matching rows in one commit, rewrites only the files whose
statistics may match, refuses new rows outside the predicate, and leaves the previous version
readable.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError
from hypothesis import given, settings
from hypothesis import strategies as st

from cpg_core.store.content_hash import content_hash
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.errors import StoreConflictError
from cpg_core.store.partition_writes import write_partitioned
from cpg_core.store.partitions import (
    changed_keys,
    in_partitions,
    keep_maps,
    key_text,
    load_map,
    map_path,
    partition,
    predicate,
    rows_in,
    rows_outside,
    save_map,
    select_rows,
    table_version,
)

ROWS = pa.table(
    {
        "path": pa.array(["b.py", "a.py", None, "a.py", "c.py", "b.py"]),
        "n": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
        "tags": pa.array([["x"], [], None, ["y", "z"], ["x"], []], pa.list_(pa.string())),
    }
)


def _log(path: Path, version: int) -> list[dict[str, Any]]:
    """The actions of one Delta log commit (JSON objects)."""
    return [json.loads(line) for line in (path / "_delta_log" / f"{version:020d}.json").open()]


# ----------------------------------------------------------------------------- maps


def test_partition_map_is_a_content_hash_by_partition() -> None:
    ordered, pmap = partition(ROWS, "path")
    assert list(pmap.hashes) == ['"a.py"', '"b.py"', '"c.py"', "null"]  # nulls last
    assert ordered.column("path").to_pylist() == ["a.py", "a.py", "b.py", "b.py", "c.py", None]
    shuffled = pa.concat_tables([ROWS.slice(3), ROWS.slice(0, 3)]).take([5, 0, 3, 1, 4, 2])
    assert partition(shuffled, "path")[1] == pmap  # any order, any chunking
    for key, digest in pmap.hashes.items():  # a partition hashes the same alone
        alone = partition(rows_in(ROWS, "path", [key]), "path")[1]
        assert alone.hashes == {key: digest}
    changed = ROWS.set_column(
        1, "n", pc.call_function("add", [ROWS.column("n"), pa.array([0, 0, 0, 0, 1, 0])])
    )
    assert changed_keys(pmap, partition(changed, "path")[1]) == {'"c.py"'}
    assert pmap.version == table_version(ROWS, "path") != content_hash(ROWS)
    assert table_version(ROWS, None) == content_hash(ROWS)


@pytest.mark.parametrize(
    ("values", "type_", "literal"),
    [
        ([3, None, 1], pa.int32(), '"k" IN (1, 3) OR "k" IS NULL'),
        ([True, False], pa.bool_(), '"k" IN (FALSE, TRUE)'),
        (
            [dt.date(2024, 2, 29)],
            pa.date32(),
            "\"k\" IN (CAST('2024-02-29' AS DATE))",
        ),
        (["it's"], pa.string(), "\"k\" IN ('it''s')"),
    ],
)
def test_partition_values_of_every_kind_select_rows(
    values: list[object], type_: pa.DataType, literal: str
) -> None:
    table = pa.table({"k": pa.array(values, type_), "v": pa.array(range(len(values)))})
    pmap = partition(table, "k")[1]
    assert set(pmap.hashes) == {key_text(v) for v in values}
    assert predicate("k", pmap.hashes, type_) == literal
    assert in_partitions(table, "k", pmap.hashes).to_pylist() == [True] * len(values)
    assert predicate("k", [], type_) == "FALSE"


def test_map_files_verify_themselves_and_unreferenced_ones_go(tmp_path: Path) -> None:
    pmap = partition(ROWS, "path")[1]
    save_map(tmp_path, "t", pmap)
    assert load_map(tmp_path, "t", pmap.version) == pmap
    assert load_map(tmp_path, "t", "0" * 64) is None
    other = partition(ROWS.slice(0, 2), "path")[1]
    save_map(tmp_path, "t", other)
    map_path(tmp_path, "t", other.version).write_bytes(b"\x93garbage")
    assert load_map(tmp_path, "t", other.version) is None  # damaged: never trusted
    save_map(tmp_path, "u", other)
    keep_maps(tmp_path, {"t": {pmap.version}})
    assert load_map(tmp_path, "t", pmap.version) == pmap
    assert not map_path(tmp_path, "t", other.version).exists()
    assert not map_path(tmp_path, "u", other.version).parent.exists()


# ----------------------------------------------------------------------------- deltalake pin


def test_deltalake_replace_where_is_one_commit_of_the_matching_files(tmp_path: Path) -> None:
    keys = pa.array([f"f{i:03d}.py" for i in range(200) for _ in range(500)])
    table = pa.table({"path": keys, "n": pa.array(range(len(keys)), pa.int64())})
    path = tmp_path / "t"
    write_deltalake(str(path), table, mode="overwrite", target_file_size=100_000)
    files = len(DeltaTable(str(path)).file_uris())
    assert files >= 10  # sorted by path, split into files
    fresh = pa.table({"path": ["f050.py"], "n": pa.array([-1], pa.int64())})
    write_deltalake(str(path), fresh, mode="overwrite", predicate="path IN ('f050.py')")
    actions = _log(path, 1)
    assert sum("commitInfo" in a for a in actions) == 1
    removed = sum("remove" in a for a in actions)
    assert 1 <= removed <= 2 < files  # only the files whose statistics may hold f050.py
    after = DeltaTable(str(path)).to_pyarrow_table()
    assert after.num_rows == table.num_rows - 499
    assert rows_in(after, "path", ['"f050.py"']).column("n").to_pylist() == [-1]
    with pytest.raises(DeltaError, match="failed validation"):
        write_deltalake(str(path), table.slice(0, 5), mode="overwrite", predicate="path = 'x'")
    assert DeltaTable(str(path)).version() == 1
    assert DeltaTable(str(path), version=0).to_pyarrow_table().num_rows == table.num_rows


# ----------------------------------------------------------------------------- the store


def test_partitioned_writes_replace_only_what_changed(tmp_path: Path) -> None:
    store = DeltaStore(tmp_path / "store")
    first = write_partitioned(
        store, "t", ROWS, partition(ROWS, "path")[1], fingerprint="f", run_id="r1"
    )
    assert first.replaced is None and first.stored.partition_by == "path"
    save_map(store.root, "t", partition(ROWS, "path")[1])
    edited = pa.concat_tables([rows_in(ROWS, "path", ['"a.py"', "null"]), ROWS.slice(0, 1)])
    ordered, pmap = partition(edited, "path")
    second = write_partitioned(store, "t", ordered, pmap, fingerprint="f", run_id="r2")
    assert second.replaced == 2  # b.py lost a row, c.py is gone
    assert second.stored.data_version == pmap.version
    assert table_version(store.read("t"), "path") == pmap.version
    assert table_version(store.read("t", first.stored.version), "path") == first.stored.data_version
    again = write_partitioned(store, "t", ordered, pmap, fingerprint="f", run_id="r3")
    assert again.replaced == 0 and again.stored.version == second.stored.version
    # no trusted map of what is stored (a build killed before saving it): the whole table
    third_rows = ROWS.slice(1)
    third = write_partitioned(
        store, "t", third_rows, partition(third_rows, "path")[1], fingerprint="f", run_id="r4"
    )
    assert third.replaced is None


def test_replace_partitions_refuses_a_moved_table(tmp_path: Path) -> None:
    store = DeltaStore(tmp_path / "store")
    ordered, pmap = partition(ROWS, "path")
    stored = store.write("t", ordered, fingerprint="f", run_id="r", partition_by="path")
    with pytest.raises(StoreConflictError, match="not 7"):
        store.replace_partitions(
            "t",
            ordered.slice(0, 1),
            where=predicate("path", ['"a.py"'], pa.string()),
            partition_by="path",
            base_version=7,
            fingerprint="f",
            data_version="x" * 64,
            run_id="r",
        )
    info = store.info("t")
    assert info is not None and info.version == stored.version
    assert info.partition_by == "path" and info.data_version == pmap.version


def test_deltalake_drops_a_file_holding_only_replaced_rows_without_rewriting(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "t")
    for key in ("a", "b", "c"):
        rows = pa.table({"path": [key] * 1000, "n": pa.array(range(1000), pa.int64())})
        write_deltalake(path, rows, mode="append")
    fresh = pa.table({"path": ["b"] * 3, "n": pa.array([1, 2, 3], pa.int64())})
    write_deltalake(path, fresh, mode="overwrite", predicate="path IN ('b')")
    info = next(a["commitInfo"] for a in _log(tmp_path / "t", 3) if "commitInfo" in a)
    metrics = info["operationMetrics"]
    assert metrics["num_removed_files"] == 1 and metrics["num_added_rows"] == 3  # nothing copied


@settings(max_examples=200, deadline=None)
@given(
    mask=st.lists(st.booleans(), max_size=700),
    chunk=st.integers(min_value=1, max_value=50),
)
def test_selected_rows_are_the_filtered_rows_in_order(mask: list[bool], chunk: int) -> None:
    """Zero-copy slices (few runs) or a filter (many): the same rows, in the same order."""
    rows = pa.table(
        {"k": [i // 3 for i in range(len(mask))], "v": [str(i) for i in range(len(mask))]}
    )
    table = pa.Table.from_batches(rows.to_batches(max_chunksize=chunk), schema=rows.schema)
    for as_chunks in (False, True):
        selector = (
            pa.chunked_array([pa.array(mask, pa.bool_())])
            if as_chunks
            else pa.array(mask, pa.bool_())
        )
        got = select_rows(table, selector)
        assert got.schema == table.schema
        assert got.to_pydict() == table.filter(pa.array(mask, pa.bool_())).to_pydict()


def test_dropping_one_partition_copies_nothing() -> None:
    """A partitioned table's other partitions are slices of it: no buffer is new."""
    n = 100_000
    table = pa.table({"path": [f"f{i // 1000:03d}.py" for i in range(n)], "x": list(range(n))})
    kept = rows_outside(table, "path", [key_text("f050.py")])
    assert kept.num_rows == n - 1000
    assert kept.to_pydict() == table.filter(pc.field("path") != "f050.py").to_pydict()

    def addresses(t: pa.Table) -> set[int]:
        return {b.address for c in t.columns for ch in c.chunks for b in ch.buffers() if b}

    assert addresses(kept) <= addresses(table)
