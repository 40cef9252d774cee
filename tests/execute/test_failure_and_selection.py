"""A failing view fails the run by name and keeps upstream results; selections build closures."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpg_core.execute import BuildError, ExecutionMode, ExecutorConfig, build
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import RunError, decode_payload, read_events
from cpg_core.store.runs import load_state
from tests.execute.helpers import VIEWS, compile_project, direct_hashes, hashes, read_inputs

BOOM = {
    **VIEWS,
    "by_country": "select cast(c.name as int) as n from paid p join customers c using (customer_id)",
}


@pytest.mark.parametrize("mode", [ExecutionMode.SERIAL, ExecutionMode.PARALLEL])
def test_failing_view_fails_the_run_by_name_and_keeps_upstream(
    tmp_path: Path, mode: ExecutionMode
) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path, BOOM)
    inputs = read_inputs(tmp_path)
    config = ExecutorConfig(mode=mode, max_tasks=2)
    with pytest.raises(BuildError, match=r"view 'by_country' failed: .*Cannot cast") as failure:
        build(plan, store=store, inputs=inputs, config=config)
    assert failure.value.view == "by_country"
    assert "paid" in failure.value.kept
    assert DeltaStore(store).exists("paid")
    assert not DeltaStore(store).exists("report")  # downstream never started
    assert load_state(store).state is None  # state recorded only after success
    errors = [
        decode_payload(p) for p in read_events(DeltaStore(store)).column("payload").to_pylist()
    ]
    assert any(isinstance(e, RunError) and e.failed_task == "by_country" for e in errors)

    # the retry (view fixed) reuses what the failed run kept
    fixed = compile_project(tmp_path)
    result = build(fixed, store=store, inputs=inputs, config=config)
    assert "paid" not in result.executed
    assert {"by_country", "report"} <= set(result.executed)
    assert hashes(result.tables) == direct_hashes(fixed, inputs)
    state = load_state(store).state
    assert state is not None and set(VIEWS) <= set(state.datasets)


def test_selection_builds_only_the_upstream_closure(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    result = build(plan, store=store, inputs=inputs, select=["by_customer"])
    assert set(result.executed) == {"paid", "by_customer"}
    assert DeltaStore(store).names() == ["by_customer", "paid"]
    assert result.manifest.reduced_signature != plan.signature


def test_selection_without_upstream_reads_the_rest_from_the_store(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    with pytest.raises(BuildError, match="not in the store"):
        build(plan, store=store, inputs=inputs, select=["report"], upstream=False)
    build(plan, store=store, inputs=inputs)
    changed = compile_project(tmp_path, {**VIEWS, "report": VIEWS["report"] + " where b.total > 0"})
    result = build(changed, store=store, inputs=inputs, select=["report"], upstream=False)
    assert result.executed == ("report",)
    assert result.manifest.read_from_store == ("by_country", "by_customer")
    assert hashes(result.tables) == {"report": direct_hashes(changed, inputs)["report"]}
