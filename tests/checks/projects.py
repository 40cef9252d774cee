"""The project the data-test tests share: views declaring every kind of test (passing and
failing), a contract, and singular tests."""

from __future__ import annotations

from pathlib import Path

from cpg_core.project import Project, load_project
from tests.plan.projects import write_project

VIEWS = {
    "orders_v": (
        "-- @keys: order_id\n"
        "-- @test not_null: order_id\n"
        "-- @test accepted_values: status in ('new', 'paid', 'void') ; name: status_ok\n"
        "-- @test relationships: customer_id -> customers.customer_id\n"
        "-- @test row_count: = 4\n"
        "-- @test expression: amount > 0 ; name: positive\n"
        "-- @test unique: customer_id\n"
        "-- @test accepted_values: status in ('new', 'paid')\n"
        "-- @test relationships: customer_id -> german.customer_id\n"
        "-- @test row_count: >= 5\n"
        "-- @test expression: amount >= 5 ; name: big ; severity: warn\n"
        "-- @test not_null: live_status\n"
        "select order_id, customer_id, amount, status,\n"
        "  case when status = 'void' then null else status end as live_status\n"
        "from orders\n"
    ),
    "german": "select customer_id from customers where country = 'de'\n",
    "contracted": (
        "-- @contract: enforced\n"
        "-- @column order_id: bigint not null\n"
        "-- @column note: text not null -- null for paid orders\n"
        "select order_id, case when status = 'paid' then null else status end as note "
        "from orders\n"
    ),
    "expensive": "-- @tags: check\nselect order_id, amount from orders where amount > 8\n",
    "cheap": "-- @layer: check\nselect order_id from orders where amount < 0\n",
}
SINGULAR = {
    "void_orders": "-- Void orders must not exist.\nselect * from orders_v where status = 'void'\n",
    "no_negative": "-- @severity: warn\nselect * from orders_v where amount < 0\n",
}


def write_tests_project(root: Path, views: dict[str, str] = VIEWS) -> Project:
    toml = write_project(root, views)
    (root / "tests").mkdir(exist_ok=True)
    for name, sql in SINGULAR.items():
        (root / "tests" / f"{name}.sql").write_text(sql, encoding="utf-8")
    return load_project(toml)
