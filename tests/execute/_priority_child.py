"""Child process: compile a project and print the serial and parallel submission orders."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cpg_core.execute import ExecutionMode, ExecutorConfig, build
from tests.execute.helpers import WIDE, compile_wide, read_inputs


def main(root: Path) -> None:
    plan = compile_wide(root)
    inputs = read_inputs(root)
    serial = build(plan, store=root / "serial", inputs=inputs)
    parallel = build(
        plan,
        store=root / "parallel",
        inputs=inputs,
        config=ExecutorConfig(mode=ExecutionMode.PARALLEL, max_tasks=2),
    )
    assert len(WIDE) == len(serial.manifest.submission_order)
    print(
        json.dumps(
            {
                "plan": list(plan.schedule.order),
                "serial": list(serial.manifest.submission_order),
                "parallel_first": list(parallel.manifest.submission_order[:2]),
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
