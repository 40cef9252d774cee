"""A small user project for the Dagster tests: groups, inline, invalid and check views, owners, tags."""

from __future__ import annotations

from pathlib import Path

from tests.plan.projects import write_project

# A user project: sub-folders (groups), an inline view, an invalid view and its reader, a check
# view marked with `@tags: check`, owners and tags.
USER_VIEWS = {
    "stg/orders_clean": "-- Orders that count.\n-- @materialize: inline\n"
    "SELECT order_id, customer_id, amount FROM orders WHERE status <> 'void'\n",
    "stg/customer_totals": "-- Money per customer.\n-- @keys: customer_id\n"
    "-- @owners: alice@example.com, team-x\n-- @tags: nightly, pii\n-- @layer: staging\n"
    "SELECT c.customer_id, c.name, sum(o.amount) AS total\n"
    "FROM orders_clean AS o JOIN customers AS c ON c.customer_id = o.customer_id\n"
    "GROUP BY c.customer_id, c.name\n",
    "marts/by_country": "-- @keys: country\n"
    "SELECT c.country, sum(t.total) AS total FROM customer_totals AS t\n"
    "JOIN customers AS c ON c.customer_id = t.customer_id GROUP BY c.country\n",
    "broken": "SELECT nope FROM orders\n",
    "after_broken": "SELECT * FROM broken\n",
    "negative_totals": "-- Customers with a negative total.\n-- @tags: check\n"
    "SELECT customer_id FROM customer_totals WHERE total < 0\n",
}


def write_user_project(root: Path) -> Path:
    toml = write_project(root, {})
    for name, sql in USER_VIEWS.items():
        path = root / "views" / f"{name}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
    return toml
