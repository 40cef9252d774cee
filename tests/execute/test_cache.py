"""Hamilton's cache keyed on fingerprints and input data versions, backed by the Delta store."""

from __future__ import annotations

from pathlib import Path

from cpg_core.execute import build
from cpg_core.execute.driver_cache import CACHE_DIR, forget_drivers
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
