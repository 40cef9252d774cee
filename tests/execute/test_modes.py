"""Serial, thread-parallel and process-parallel builds produce the reference executor's tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpg_core.execute import ExecutionMode, ExecutorConfig, build
from cpg_core.execute.task_spec import view_task
from cpg_core.settings import ExecutorConfigError
from tests.execute.helpers import compile_project, direct_hashes, hashes, read_inputs


def test_serial_and_parallel_equal_the_reference(tmp_path: Path) -> None:
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    expected = direct_hashes(plan, inputs)
    threshold = max(plan.costs[v].seconds for v in expected)  # the costliest view goes remote
    configs = {
        "serial": ExecutorConfig(),
        "threads": ExecutorConfig(mode=ExecutionMode.PARALLEL, executor="threads", max_tasks=2),
        "processes": ExecutorConfig(mode=ExecutionMode.PARALLEL, executor="processes", max_tasks=2),
        "remote": ExecutorConfig(
            mode=ExecutionMode.REMOTE,
            executor="processes",
            max_tasks=2,
            remote_threshold_s=threshold,
        ),
    }
    for label, config in configs.items():
        result = build(plan, store=tmp_path / label, inputs=inputs, config=config)
        assert hashes(result.tables) == expected, label
        assert set(result.executed) == set(expected), label
        assert {o.name: o.data_version for o in result.manifest.outputs} == expected
        routing = {r.task: r for r in result.manifest.routing}
        if label == "remote":
            for view, decision in routing.items():
                remote = plan.costs[view].seconds >= threshold
                assert decision.executor == ("processes" if remote else "threads"), decision
                assert ("<" not in decision.reason) == remote
            assert {r.executor for r in routing.values()} == {"processes", "threads"}
        else:
            executors = {r.executor for r in routing.values()}
            assert executors == {label if label != "serial" else "main"}


def test_parallel_really_overlaps_independent_views(tmp_path: Path) -> None:
    """Two ready views are in flight together: both are submitted before either finishes."""
    plan = compile_project(tmp_path)
    config = ExecutorConfig(mode=ExecutionMode.PARALLEL, max_tasks=2)
    result = build(plan, store=tmp_path / "s", inputs=read_inputs(tmp_path), config=config)
    # the two entry views (paid, statuses) are ready at once and submitted back to back
    assert set(result.manifest.submission_order[:2]) == {"paid", "statuses"}


def test_inline_views_fold_into_their_readers(tmp_path: Path) -> None:
    views = {
        "big": "-- @materialize: inline\nselect order_id, amount from orders where amount > 2",
        "bigger": "-- @materialize: inline\nselect order_id from big where amount > 6",
        "summary": "select count(*) as n, (select count(*) from bigger) as m from big",
    }
    plan = compile_project(tmp_path, views)
    inputs = read_inputs(tmp_path)
    result = build(plan, store=tmp_path / "s", inputs=inputs)
    assert set(result.tables) == {"summary"}
    assert result.tables["summary"].to_pylist() == [{"n": 3, "m": 2}]
    assert hashes(result.tables) == direct_hashes(plan, inputs)


def test_config_is_validated() -> None:
    with pytest.raises(ExecutorConfigError, match="max_tasks"):
        ExecutorConfig(max_tasks=0)
    with pytest.raises(ExecutorConfigError, match="parallel mode"):
        ExecutorConfig(mode=ExecutionMode.PARALLEL, executor="ray")
    assert (
        ExecutorConfig(
            mode=ExecutionMode.PARALLEL, max_tasks=2, target_partitions=None
        ).partitions()
        >= 1
    )


RECURSIVE = {
    "chain": (
        "with recursive steps(n) as (select 1 union all select n + 1 from steps where n < 5) "
        "select n from steps"
    ),
    "inlined": (
        "-- @materialize: inline\n"
        "with recursive r(n) as (select n from chain union all select n + 1 from r where n < 3) "
        "select n from r"
    ),
    "reads_inlined": "select n * 2 as m from inlined",
    "plain": "select n from chain where n > 2",
    "spelled": "-- not WITH RECURSIVE: a comment\nselect 'with recursive' as s, n from chain",
}


def test_a_recursive_query_runs_on_one_partition(tmp_path: Path) -> None:
    """Each iteration of a recursive query is small: spread over partitions it would
    repartition its join's large side every time. Other views keep the configured count;
    the words in a comment or a string do not count."""
    plan = compile_project(tmp_path, RECURSIVE)
    assert plan.valid, plan.problems
    partitions = {
        name: view_task(plan, name, target_partitions=4).target_partitions
        for name in ("chain", "reads_inlined", "plain", "spelled")
    }
    assert partitions == {"chain": 1, "reads_inlined": 1, "plain": 4, "spelled": 4}
    serial = build(plan, store=tmp_path / "serial", inputs=read_inputs(tmp_path))
    assert serial.tables["chain"].column("n").to_pylist() == [1, 2, 3, 4, 5]
