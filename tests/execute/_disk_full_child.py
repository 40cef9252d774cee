"""Child process: build with big inputs while files may not grow past LIMIT bytes (a full disk).

Prints the `BuildError`'s view and message, or "built" if the build went through.
"""

from __future__ import annotations

import resource
import signal
import sys
from pathlib import Path

from cpg_core.execute import BuildError, build
from tests.execute.helpers import VIEWS, big_orders, compile_project, read_inputs

# `paid` with an incompressible column, so its Parquet file outgrows the limit; the rest stay small
VIEWS_BIG_PAID = {
    **VIEWS,
    "paid": (
        "select order_id, customer_id, amount, md5(cast(order_id as varchar)) as digest "
        "from orders where status = 'paid'"
    ),
}


def main(root: Path, store: Path, rows: int, limit: int) -> None:
    plan = compile_project(root, VIEWS_BIG_PAID)
    inputs = {**read_inputs(root), "orders": big_orders(rows)}
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        build(plan, store=store, inputs=inputs)
    except BuildError as error:
        print(f"failed view={error.view} kept={','.join(error.kept)}")
        print(str(error))
        return
    print("built")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
