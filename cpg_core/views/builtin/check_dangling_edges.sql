-- Check (must be empty): edges with an endpoint that is no node of cpg_nodes. `end` says which.
-- @keys: edge_id, end
-- @layer: check
-- @entity: dangling_edge
-- @grain: one row per missing edge endpoint
-- @version: 1
-- @stability: stable
-- @owners: cpg
SELECT e.edge_id, e.edge_kind, 'src' AS "end", e.src_id AS node_id
FROM cpg_edges AS e
LEFT JOIN cpg_nodes AS n ON n.node_id = e.src_id
WHERE n.node_id IS NULL
UNION ALL
SELECT e.edge_id, e.edge_kind, 'dst' AS "end", e.dst_id AS node_id
FROM cpg_edges AS e
LEFT JOIN cpg_nodes AS n ON n.node_id = e.dst_id
WHERE n.node_id IS NULL
