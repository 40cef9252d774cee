"""The plan compiler: SQL views → one immutable ExecutionPlan.

Names are imported lazily so that light submodules (e.g. the planning worker's) do not pull in
the whole compiler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cpg_core.plan.compiler import CompileError, compile_plan
    from cpg_core.plan.execution_plan import ExecutionPlan, Task

__all__ = ["CompileError", "ExecutionPlan", "Task", "compile_plan"]


def __getattr__(name: str) -> Any:
    if name in ("CompileError", "compile_plan"):
        from cpg_core.plan import compiler

        return getattr(compiler, name)
    if name in ("ExecutionPlan", "Task"):
        from cpg_core.plan import execution_plan

        return getattr(execution_plan, name)
    raise AttributeError(name)
