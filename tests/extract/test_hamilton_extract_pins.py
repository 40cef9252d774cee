"""Fail loudly if Hamilton changes the internals `cpg_core.extract.hamilton_exec` relies on (1.90)."""

from __future__ import annotations

import inspect

import hamilton.version
from hamilton import driver
from hamilton.execution import executors, state
from hamilton.execution.grouping import NodeGroupPurpose, TaskImplementation


def test_hamilton_version_is_the_pinned_one() -> None:
    assert hamilton.version.VERSION[:2] == (1, 90), (
        "cpg_core.extract.hamilton_exec relies on Hamilton internals checked for 1.90: re-check "
        "SpawnProcessExecutor, _PoolTaskFuture, _UnitRouter and _ProgressHook, then update this pin"
    )


def test_task_executor_contract() -> None:
    assert executors.TaskExecutor.__abstractmethods__ == {
        "init",
        "finalize",
        "submit_task",
        "can_submit_task",
    }
    assert list(inspect.signature(executors.base_execute_task).parameters) == ["task"]


def test_execution_manager_contract() -> None:
    assert executors.ExecutionManager.__abstractmethods__ == {"get_executor_for_task"}
    assert list(inspect.signature(executors.ExecutionManager.__init__).parameters) == [
        "self",
        "executors",
    ]
    assert NodeGroupPurpose.EXECUTE_BLOCK in NodeGroupPurpose
    assert "purpose" in {f.name for f in TaskImplementation.__dataclass_fields__.values()}
    assert hasattr(driver.Builder, "with_execution_manager")


def test_run_loop_polls_every_future_then_reads_its_result() -> None:
    """Our futures block inside `get_state()`; that relies on the loop's polling shape."""
    source = inspect.getsource(executors.run_graph_to_completion)
    assert "execution_manager.get_executor_for_task(next_task)" in source
    assert "task_executor.can_submit_task()" in source
    assert "task_executor.submit_task(next_task)" in source
    assert source.index("task_future.get_state()") < source.index("task_future.get_result()")
    assert "execution_manager.init()" in source and "execution_manager.finalize()" in source


def test_expansion_hook_fires_before_block_tasks_are_released() -> None:
    """`_UnitRouter` routes on the unit count the expansion hook saw."""
    source = inspect.getsource(state.ExecutionState.update_task_state)
    assert source.index("self.realize_parameterized_group(") < source.index('"post_task_expand"')
    assert "parameters=parameterization_values" in source
    release = inspect.getsource(state.ExecutionState.release_next_task)
    assert "self.task_queue" in release
