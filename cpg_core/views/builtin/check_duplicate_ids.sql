-- Check (must be empty): node ids or edge ids that occur more than once.
-- @keys: table_name, id
-- @layer: check
-- @entity: duplicate_id
-- @grain: one row per repeated id
-- @version: 1
-- @stability: stable
-- @owners: cpg
SELECT 'cpg_nodes' AS table_name, node_id AS id, count(*) AS occurrences
FROM cpg_nodes
GROUP BY node_id
HAVING count(*) > 1
UNION ALL
SELECT 'cpg_edges', edge_id, count(*)
FROM cpg_edges
GROUP BY edge_id
HAVING count(*) > 1
