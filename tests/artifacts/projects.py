"""The project the contract goldens are made from: documented views, a broken one and its reader,
and a typo, so every artifact has something to say."""

from __future__ import annotations

VIEWS = {
    "paid": "-- Paid orders.\n-- @keys: order_id\nselect order_id, customer_id, amount from orders where status = 'paid'",
    "per_customer": "-- Revenue per customer.\n-- @keys: customer_id\n-- @layer: mart\n-- @entity: customer\n"
    "-- @grain: one row per customer\n-- @entity_keys: customer_id\n-- @owners: team-cpg\n"
    "-- @stability: stable\n-- @version: 1\n"
    "-- @column customer_id: bigint -- the paying customer\n"
    "-- @column total: double -- revenue from paid orders, in euros\n"
    "select p.customer_id, c.name, sum(p.amount) as total\n"
    "from paid p join customers c on c.customer_id = p.customer_id group by p.customer_id, c.name",
    "ranked": "select customer_id, total, rank() over (order by total desc) as pos from per_customer",
    "broken": "select customer_id, nope from paid",
    "downstream_of_broken": "select * from broken",
    "typo": "select 1 as x from custmers",
}
