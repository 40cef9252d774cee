"""Hamilton's cache keyed on fingerprints and input data versions, backed by the Delta store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cpg_core.execute import BuildError, build
from cpg_core.execute.driver_cache import CACHE_DIR, forget_drivers
from cpg_core.settings import SERIAL, ExecutionMode, ExecutorConfig
from cpg_core.store.content_hash import content_hash
from cpg_core.store.delta_store import DeltaStore
from tests.execute.helpers import VIEWS, compile_project, read_inputs


def _versions(store: Path) -> dict[str, int]:
    delta = DeltaStore(store)
    return {name: info.version for name in delta.names() if (info := delta.info(name))}


def test_second_run_executes_nothing_and_writes_nothing(tmp_path: Path) -> None:
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    first = build(plan, store=tmp_path / "s", inputs=inputs)
    assert set(first.executed) == set(VIEWS)
    before = _versions(tmp_path / "s")
    forget_drivers()  # a new process would not have the driver either
    second = build(plan, store=tmp_path / "s", inputs=inputs)
    assert second.executed == ()
    assert set(second.cache_hits) == set(VIEWS)
    assert _versions(tmp_path / "s") == before
    assert {o.name: o.data_version for o in second.manifest.outputs} == {
        o.name: o.data_version for o in first.manifest.outputs
    }
    assert all(not o.written for o in second.manifest.outputs)


def test_changed_view_reruns_only_what_really_changed(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    build(plan, store=store, inputs=inputs)

    # same rows, different SQL: paid re-executes, its readers see the same data version
    same_rows = {**VIEWS, "paid": VIEWS["paid"].replace("= 'paid'", "in ('paid', 'unknown')")}
    result = build(compile_project(tmp_path, same_rows), store=store, inputs=inputs)
    assert result.executed == ("paid",)

    # different rows: paid and everything reading it re-execute; statuses does not
    fewer = {**VIEWS, "paid": VIEWS["paid"] + " and amount > 5"}
    result = build(compile_project(tmp_path, fewer), store=store, inputs=inputs)
    assert set(result.executed) == {"paid", "by_customer", "by_country", "report"}
    lineage = {c.view: c for c in result.manifest.cache}
    assert lineage["statuses"].hit and not lineage["paid"].hit
    assert set(lineage["report"].upstream_versions) == {"by_customer", "by_country", "customers"}


def test_cosmetic_edit_executes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    build(plan, store=store, inputs=inputs)
    cosmetic = {
        **VIEWS,
        "paid": "-- reformatted\nSELECT order_id,\n       customer_id,\n       amount\n"
        "  FROM orders\n WHERE status = 'paid'",
    }
    result = build(compile_project(tmp_path, cosmetic), store=store, inputs=inputs)
    assert result.executed == ()


def test_changed_input_reruns_its_readers(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    build(plan, store=store, inputs=inputs)
    customers = inputs["customers"].slice(0, 2)
    result = build(plan, store=store, inputs={**inputs, "customers": customers})
    assert set(result.executed) == {"by_country", "report"}


def test_deleted_or_corrupt_cache_is_rebuilt_never_trusted(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    build(plan, store=store, inputs=inputs)
    before = _versions(store)

    cache = store / CACHE_DIR
    for path in cache.iterdir():
        path.unlink()
    result = build(plan, store=store, inputs=inputs)  # same process, cached driver: detected
    assert set(result.executed) == set(VIEWS)
    assert _versions(store) == before  # recomputed rows equal the stored ones: no new versions

    (cache / "metadata_store.db").write_bytes(b"this is not a database" * 100)
    for extra in cache.glob("metadata_store.db-*"):
        extra.unlink()
    result = build(plan, store=store, inputs=inputs)
    assert set(result.executed) == set(VIEWS)
    assert any("damaged" in w for w in result.manifest.warnings)
    assert build(plan, store=store, inputs=inputs).executed == ()


def test_a_deleted_output_table_is_recomputed(tmp_path: Path) -> None:
    import shutil

    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    build(plan, store=store, inputs=inputs)
    shutil.rmtree(store / "tables" / "by_country")
    result = build(plan, store=store, inputs=inputs)
    assert result.executed == ("by_country",)
    assert DeltaStore(store).exists("by_country")


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int | None]]:
    """Every table the (real) store is asked to read from now on: (name, version)."""
    reads: list[tuple[str, int | None]] = []
    read = DeltaStore.read

    def spy(self: DeltaStore, name: str, version: int | None = None, **kw: Any) -> pa.Table:
        reads.append((name, version))
        return read(self, name, version, **kw)

    monkeypatch.setattr(DeltaStore, "read", spy)
    return reads


@pytest.mark.parametrize("config", [SERIAL, ExecutorConfig(mode=ExecutionMode.PARALLEL)])
def test_a_cache_hit_is_read_only_by_a_reader_that_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: ExecutorConfig
) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    first = build(plan, store=store, inputs=inputs, config=config)
    reads = _reads(monkeypatch)
    forget_drivers()
    again = build(plan, store=store, inputs=inputs, config=config)
    assert again.executed == () and reads == []  # nothing changed: no table read at all

    # `report` changed: it runs and reads its two cached inputs once each, at their versions
    changed = {**VIEWS, "report": VIEWS["report"] + " where b.total > 0"}
    result = build(compile_project(tmp_path, changed), store=store, inputs=inputs, config=config)
    assert result.executed == ("report",)
    stored = {o.name: o.delta_version for o in first.manifest.outputs}
    assert sorted(reads) == [
        ("by_country", stored["by_country"]),
        ("by_customer", stored["by_customer"]),
    ]


def test_a_cached_table_missing_a_data_file_is_recomputed(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    first = build(plan, store=store, inputs=inputs)
    files = sorted((store / "tables" / "by_country").glob("*.parquet"))
    assert files
    files[0].unlink()
    forget_drivers()
    result = build(plan, store=store, inputs=inputs)
    assert result.executed == ("by_country",)  # its readers see the same rows: still hits
    by_country = DeltaStore(store).read("by_country")
    expected = {o.name: o.data_version for o in first.manifest.outputs}["by_country"]
    assert content_hash(by_country) == expected


def test_a_cached_table_damaged_in_place_fails_its_reader_then_is_recomputed(
    tmp_path: Path,
) -> None:
    """A data file overwritten at its size passes the hit's check; the view reading the hit
    fails naming the table, and the next build recomputes it (its cache entry dropped)."""
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    build(plan, store=store, inputs=inputs)
    damaged = sorted((store / "tables" / "by_country").glob("*.parquet"))[0]
    damaged.write_bytes(b"\0" * damaged.stat().st_size)
    changed = compile_project(tmp_path, {**VIEWS, "report": VIEWS["report"] + " where b.total > 0"})
    forget_drivers()
    with pytest.raises(
        BuildError, match=r"'by_country' .* could not be read.*next build recomputes"
    ):
        build(changed, store=store, inputs=inputs)
    forget_drivers()
    again = build(changed, store=store, inputs=inputs)
    assert set(again.executed) == {"by_country", "report"}
