"""The plan compiler: SQL views → one immutable ExecutionPlan."""

from cpg_core.plan.compiler import CompileError, compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan, Task

__all__ = ["CompileError", "ExecutionPlan", "Task", "compile_plan"]
