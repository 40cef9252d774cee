"""cpg_core.execute: run a compiled plan through Hamilton over DataFusion into the Delta store.

Public API: `build`, `ExecutorConfig`, `ExecutionMode`, `RunResult`, `BuildError`,
`RunManifest`; `run_plan_direct` (in `direct`) is the reference executor outputs must equal.
"""

from cpg_core.artifacts.contracts import RunManifest
from cpg_core.execute.build import RunResult, build
from cpg_core.execute.errors import BuildError
from cpg_core.settings import ExecutionMode, ExecutorConfig

__all__ = ["BuildError", "ExecutionMode", "ExecutorConfig", "RunManifest", "RunResult", "build"]
