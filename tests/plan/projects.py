"""Build small real views projects on disk for tests (Parquet sources + .sql files + cpg.toml)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.project import Project, load_project

ORDERS = pa.table(
    {
        "order_id": pa.array([1, 2, 3, 4], pa.int64()),
        "customer_id": pa.array([10, 10, 20, 30], pa.int64()),
        "amount": pa.array([5.0, 7.5, 1.25, 9.0], pa.float64()),
        "status": pa.array(["new", "paid", "paid", "void"], pa.string()),
        "tags": pa.array([["a"], ["b", "c"], [], ["a"]], pa.list_(pa.string())),
        "address": pa.array(
            [{"city": "x", "zip": 1}, {"city": "y", "zip": 2}, {"city": "x", "zip": 1}, None],
            pa.struct([("city", pa.string()), ("zip", pa.int32())]),
        ),
    }
)
CUSTOMERS = pa.table(
    {
        "customer_id": pa.array([10, 20, 30], pa.int64()),
        "name": pa.array(["ann", "bob", "cy"], pa.string()),
        "country": pa.array(["de", "fr", "de"], pa.string()),
    }
)


def write_project(root: Path, views: Mapping[str, str], *, extra_toml: str = "") -> Path:
    """Write `orders`/`customers` Parquet sources, the views, and a cpg.toml; return the toml."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "views").mkdir(parents=True, exist_ok=True)
    pq.write_table(ORDERS, root / "data" / "orders.parquet")
    pq.write_table(CUSTOMERS, root / "data" / "customers.parquet")
    for name, sql in views.items():
        (root / "views" / f"{name}.sql").write_text(sql, encoding="utf-8")
    toml = root / "cpg.toml"
    toml.write_text(
        'views = ["views"]\ninclude_cpg = false\n'
        '[sources.orders]\npath = "data/orders.parquet"\n'
        '[sources.customers]\npath = "data/customers.parquet"\n' + extra_toml,
        encoding="utf-8",
    )
    return toml


def compile_views(root: Path, views: Mapping[str, str], **kwargs: object) -> ExecutionPlan:
    """Write a project and compile it without the persistent cache."""
    project: Project = load_project(write_project(root, views))
    cache = bool(kwargs.pop("cache", False))
    strict = bool(kwargs.pop("strict", False))
    return compile_plan(project, cache=cache, strict=strict)
