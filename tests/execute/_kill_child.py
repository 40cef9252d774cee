"""Child process: build the project at ROOT into STORE with big inputs (the parent kills it)."""

from __future__ import annotations

import sys
from pathlib import Path

from cpg_core.execute import build
from tests.execute.helpers import big_orders, compile_project, read_inputs


def main(root: Path, store: Path, rows: int) -> None:
    plan = compile_project(root)
    inputs = {**read_inputs(root), "orders": big_orders(rows)}
    print("building", flush=True)
    build(plan, store=store, inputs=inputs)
    print("done", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
