"""Faults with real processes: SIGKILL mid-write, a full disk, concurrent writers, a busy store."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow as pa

from cpg_core.store.content_hash import content_hash
from cpg_core.store.delta_store import DeltaStore
from tests.store._child import big_table
from tests.store.children import run_child, start_child

BIG_ROWS = 1_000_000  # shuffled: ~1 s to sort and hash, ~0.3 s of Parquet here


def assert_consistent(store: DeltaStore, name: str) -> None:
    """Every retained version reads back with exactly the content its commit recorded."""
    for stored in store.versions(name):
        table = store.read(name, version=stored.version)
        assert table.num_rows == stored.rows
        assert content_hash(table) == stored.data_version


def wait_for_new_parquet(directory: Path, known: set[str], child: subprocess.Popen[str]) -> None:
    """Return as soon as the child starts a Parquet file (or has exited)."""
    while child.poll() is None:
        if {p.name for p in directory.iterdir() if ".parquet" in p.name} - known:
            return
        time.sleep(0.002)


def test_sigkill_mid_write_leaves_previous_version(store: DeltaStore, tmp_path: Path) -> None:
    """Kill a writer while it sorts/hashes, while it writes Parquet, and around the commit."""
    data = tmp_path / "big.arrow"
    table = big_table(BIG_ROWS, "big", seed=1)
    with pa.OSFile(str(data), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    previous = store.write("big", pa.table({"id": [1, 2, 3]}), fingerprint="v0", run_id="parent")
    store.write("other", pa.table({"x": ["untouched"]}), fingerprint="o", run_id="parent")
    directory = store.table_path("big")
    kills = 0
    # a kill right after a Parquet file appears lands inside the write, unless the loaded
    # machine let the writer finish first; a timed kill misses when a quiet machine writes
    # everything within the delay: such attempts are retried, sooner (up to 6 more)
    plan = ["0", "parquet", "0.5", "parquet", "1.0"]
    mid_write = 0
    attempt = 0
    while attempt < len(plan):
        when = plan[attempt]
        known = {p.name for p in directory.iterdir()}
        child = start_child("write_big", str(store.root), str(data), str(attempt))
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writing"
        if when == "parquet":
            wait_for_new_parquet(directory, known, child)
        else:
            time.sleep(float(when))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        kills += child.returncode == -signal.SIGKILL
        current = store.info("big")
        assert current is not None
        if current.version == previous.version:  # killed before the commit: nothing visible
            assert current == previous
            new_files = {p.name for p in directory.iterdir() if ".parquet" in p.name} - known
            mid_write += when == "parquet" and bool(new_files)
        else:  # the commit made it just before the kill: the whole new version is visible
            assert current.rows == BIG_ROWS - attempt
            previous = current
        assert content_hash(store.read("big")) == previous.data_version
        assert store.read("other").to_pydict() == {"x": ["untouched"]}
        if when == "parquet" and not mid_write and len(plan) < 11:
            plan.append("parquet")
        elif when != "parquet" and child.returncode == 0 and len(plan) < 11:
            plan.append(str(float(when) / 2))  # a quiet machine wrote it all first: sooner
        attempt += 1
    assert kills >= 4, "the child finished before the kills: raise BIG_ROWS"
    assert mid_write >= 1, "no kill landed inside a Parquet write"
    # proof that those kills left partial files: more Parquet files than committed versions
    files = [p for p in directory.iterdir() if ".parquet" in p.name]
    assert len(files) > len(store.versions("big")), sorted(p.name for p in files)
    assert_consistent(store, "big")
    # the lock died with the child; the next write goes through
    final = store.write("big", pa.table({"id": [9]}), fingerprint="v9", run_id="parent")
    assert final.version == previous.version + 1
    assert store.read("big").to_pydict() == {"id": [9]}


def test_full_disk_fails_cleanly_and_keeps_previous_version(store: DeltaStore) -> None:
    store.write("t", pa.table({"a": [1]}), fingerprint="f", run_id="r")
    out = run_child("write_disk_full", str(store.root), "100000")
    assert out.startswith("write error: writing table 't' failed (version 0 is intact)")
    assert "File too large" in out
    assert store.read("t").to_pydict() == {"a": [1]}
    assert store.write("t", pa.table({"a": [2]}), fingerprint="f", run_id="r").version == 1


def test_two_processes_writing_one_table_both_end_well(store: DeltaStore) -> None:
    store.write("shared", pa.table({"id": [0]}), fingerprint="f", run_id="parent")
    children = [start_child("write_loop", str(store.root), "5", tag) for tag in ("a", "b")]
    outcomes = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        outcomes.extend(out.split())
    # the store lock serializes them: no conflicts, 10 new versions, every one intact
    assert outcomes == ["ok"] * 10
    assert store.info("shared") is not None
    assert len(store.versions("shared")) == 11
    assert_consistent(store, "shared")


def test_a_held_store_makes_other_writers_fail_clearly(store: DeltaStore) -> None:
    with store.run_lock("run r-parent"):
        out = run_child("write_busy", str(store.root), "0.5")
        # the parent can still write under its own run lock (re-entrant within the process)
        store.write("t", pa.table({"a": [1]}), fingerprint="f", run_id="r-parent")
    assert out.startswith("busy after ")
    assert float(out.split()[2].rstrip("s:")) < 5
    assert "store is busy" in out
    assert f"pid {os.getpid()}" in out and "run r-parent" in out
    written = store.info("t")
    assert written is not None and written.run_id == "r-parent"
    # released: the same child now writes
    assert run_child("write_busy", str(store.root), "0.5") == "written"
