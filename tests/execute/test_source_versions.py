"""Sources get cheap data versions: a build that changes nothing reads no source (issue 17).

Real builds over Parquet, CSV and Delta sources. `read_table` (the one function that reads a
source's rows whole) is wrapped to count calls, and the build's own record of what executed
says which views ran. A Parquet file whose columns need no conversion is never read whole:
DataFusion scans it in the view's query.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from cpg_core.checks.tables import StoredTables
from cpg_core.execute import sources
from cpg_core.pipeline import build_project
from cpg_core.plan.source_versions import source_version
from cpg_core.project import SourceSpec, load_project
from cpg_core.store.delta_store import DeltaStore

VIEWS = {
    "from_parquet": "select sum(amount) as total from orders",
    "from_csv": "select count(*) as n, max(v) as v from events",
    "from_delta": "select sum(q) as q from stock",
}
EXTRA = (
    '[sources.events]\npath = "data/events.csv"\n'
    '[sources.stock]\npath = "data/stock"\nformat = "delta"\n'
)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the sources whose rows were read."""
    seen: list[str] = []
    real = sources.read_table

    def counting(spec: SourceSpec, schema: pa.Schema | None = None) -> pa.Table:
        seen.append(spec.name)
        return real(spec, schema)

    monkeypatch.setattr(sources, "read_table", counting)
    return seen


def _project(root: Path) -> Path:
    from tests.plan.projects import write_project

    toml = write_project(root, VIEWS, extra_toml=EXTRA)
    pacsv.write_csv(pa.table({"v": [1, 2, 3]}), root / "data" / "events.csv")
    write_deltalake(str(root / "data" / "stock"), pa.table({"q": [5, 6]}))
    return toml


def test_a_no_change_build_reads_no_source(tmp_path: Path, reads: list[str]) -> None:
    project = load_project(_project(tmp_path))
    cold = build_project(project)
    assert sorted(cold.result.executed) == sorted(VIEWS)
    assert sorted(reads) == ["events", "stock"]  # the Parquet file: scanned by DataFusion
    reads.clear()
    warm = build_project(project)
    assert warm.result.executed == () and reads == []
    # the manifest records each source's cheap version
    assert set(warm.result.manifest.inputs) == {"orders", "events", "stock"}
    assert warm.result.manifest.inputs == cold.result.manifest.inputs


def test_each_format_changes_version_only_when_its_data_does(
    tmp_path: Path, reads: list[str]
) -> None:
    project = load_project(_project(tmp_path))
    build_project(project)
    csv = tmp_path / "data" / "events.csv"
    stat = csv.stat()
    os.utime(csv, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, same bytes
    reads.clear()
    assert build_project(project).result.executed == () and reads == []

    pacsv.write_csv(pa.table({"v": [1, 2, 4]}), csv)  # same size, new content
    reads.clear()
    assert build_project(project).result.executed == ("from_csv",)
    assert reads == ["events"]

    from tests.plan.projects import ORDERS

    pq.write_table(ORDERS.slice(0, 2), tmp_path / "data" / "orders.parquet")
    write_deltalake(str(tmp_path / "data" / "stock"), pa.table({"q": [7]}), mode="append")
    reads.clear()
    assert sorted(build_project(project).result.executed) == ["from_delta", "from_parquet"]
    assert sorted(reads) == ["stock"]


def test_versions_come_from_metadata_not_rows(tmp_path: Path) -> None:
    """Same bytes rewritten keep the Parquet version only if size, mtime and footer agree;
    Delta's is its table version; a CSV's the hash of its bytes."""
    _project(tmp_path)
    store = tmp_path / "store"
    parquet = SourceSpec("orders", tmp_path / "data" / "orders.parquet", "parquet")
    delta = SourceSpec("stock", tmp_path / "data" / "stock", "delta")
    csv = SourceSpec("events", tmp_path / "data" / "events.csv", "csv")
    first = {s.name: source_version(s, store) for s in (parquet, delta, csv)}
    assert first == {s.name: source_version(s, store) for s in (parquet, delta, csv)}
    assert (store / "_cpg" / "source_versions.msgpack").is_file()
    write_deltalake(str(delta.path), pa.table({"q": [5, 6]}), mode="overwrite")
    assert source_version(delta, store) != first["stock"]  # a new table version
    twin = tmp_path / "twin.csv"
    twin.write_bytes(csv.path.read_bytes())
    assert source_version(SourceSpec("twin", twin, "csv"), store) == first["events"]


def test_tests_and_builds_version_a_source_alike(tmp_path: Path) -> None:
    """One definition: the version a data test's cached result is keyed on is the version a
    build gives the source, and an unreadable source has none (the test then says so)."""
    _project(tmp_path)
    store = DeltaStore(tmp_path / "store")
    specs = [
        SourceSpec("orders", tmp_path / "data" / "orders.parquet", "parquet"),
        SourceSpec("stock", tmp_path / "data" / "stock", "delta"),
        SourceSpec("events", tmp_path / "data" / "events.csv", "csv"),
    ]
    tables = StoredTables(store, specs)
    assert {s.name: tables.version(s.name) for s in specs} == {
        s.name: source_version(s, store.root) for s in specs
    }
    for fmt in ("parquet", "delta", "csv"):  # a source that is not there has no version
        gone = SourceSpec("gone", tmp_path / "data" / f"gone.{fmt}", fmt)
        assert StoredTables(store, [gone]).version("gone") is None


def test_datafusion_scans_a_parquet_file_unless_a_column_needs_converting(
    tmp_path: Path, reads: list[str]
) -> None:
    """`plain` (any file name) is scanned by each view's query; `wide` holds a uint64, which
    views see as decimal(20, 0), so it is read whole once and converted. Rows are right either
    way, and a file rewritten with a column to convert is read whole."""
    views = {
        "plain_sum": "select sum(n) as n, max(s) as s from plain",
        "plain_count": "select count(*) as rows from plain where n > 1",
        "wide_sum": "select sum(u) as u from wide",
    }
    extra = (
        '[sources.plain]\npath = "data/plain.data"\n[sources.wide]\npath = "data/wide.parquet"\n'
    )
    from tests.plan.projects import write_project

    toml = write_project(tmp_path, views, extra_toml=extra)
    pq.write_table(
        pa.table({"n": [1, 2, 3], "s": ["a", "c", "b"]}), tmp_path / "data" / "plain.data"
    )
    wide = pa.table({"u": pa.array([2**64 - 1, 1], pa.uint64())})
    pq.write_table(wide, tmp_path / "data" / "wide.parquet")
    run = build_project(load_project(toml))
    tables = run.result.tables
    assert tables["plain_sum"].to_pylist() == [{"n": 6, "s": "c"}]
    assert tables["plain_count"].to_pylist() == [{"rows": 2}]
    assert tables["wide_sum"].column("u").to_pylist() == [Decimal(2**64)]
    assert reads == ["wide"]
    reads.clear()
    plain = pa.table({"n": pa.array([1, 2, 3], pa.uint64()), "s": ["a", "c", "d"]})
    pq.write_table(plain, tmp_path / "data" / "plain.data")
    run = build_project(load_project(toml))
    assert run.result.tables["plain_sum"].to_pylist() == [{"n": Decimal(6), "s": "d"}]
    assert reads == ["plain"]  # read whole once for both views that ran
