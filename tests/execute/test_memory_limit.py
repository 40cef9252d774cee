"""A memory limit: queries run within it, or fail naming the view — never an OOM kill.

DataFusion may spill sorts and aggregates under a limit, but its external sort fails at some
limits it could meet (apache/datafusion#16979, #12136), so the tests pin what cpg promises:
a limit the queries fit in gives the same rows, one they do not fit in fails the view by name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cpg_core.execute import BuildError, ExecutionMode, ExecutorConfig, build
from cpg_core.settings import ExecutorConfigError
from tests.execute.helpers import (
    VIEWS,
    big_orders,
    compile_project,
    direct_hashes,
    hashes,
    read_inputs,
)

ROWS = 300_000
# a sort over every order (sorts are the operators that take the most pool memory)
SORTED = {
    **VIEWS,
    "ordered": (
        "select order_id, customer_id, amount, status from orders order by amount desc, order_id"
    ),
}
# a join whose build side is all orders: hash joins cannot spill
JOINED = {
    **VIEWS,
    "self_join": (
        "select a.order_id, b.amount from orders a join orders b on a.order_id = b.order_id"
    ),
}


@pytest.mark.parametrize("mode", [ExecutionMode.SERIAL, ExecutionMode.PARALLEL])
def test_a_limit_the_queries_fit_in_gives_the_same_rows(
    tmp_path: Path, mode: ExecutionMode
) -> None:
    plan = compile_project(tmp_path, SORTED)
    inputs = {**read_inputs(tmp_path), "orders": big_orders(ROWS)}
    config = ExecutorConfig(mode=mode, max_tasks=2, memory_limit_mb=256 * config_tasks(mode))
    assert config.task_memory_bytes() == 256 * 2**20  # split between the tasks that run at once
    result = build(plan, store=tmp_path / "s", inputs=inputs, config=config)
    assert hashes(result.tables) == direct_hashes(plan, inputs)


def test_a_query_that_cannot_fit_fails_naming_the_view(tmp_path: Path) -> None:
    plan = compile_project(tmp_path, JOINED)
    inputs = {**read_inputs(tmp_path), "orders": big_orders(ROWS)}
    config = ExecutorConfig(memory_limit_mb=1)
    with pytest.raises(BuildError, match=r"view 'self_join' .*memory limit of 1 MiB") as failure:
        build(plan, store=tmp_path / "s", inputs=inputs, config=config)
    assert failure.value.view == "self_join"
    # unlimited, the same build goes through
    result = build(plan, store=tmp_path / "s", inputs=inputs)
    assert result.tables["self_join"].num_rows == ROWS


def config_tasks(mode: ExecutionMode) -> int:
    return 2 if mode is ExecutionMode.PARALLEL else 1


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ExecutorConfigError, match="memory_limit_mb must be >= 1"):
        ExecutorConfig(memory_limit_mb=0)
