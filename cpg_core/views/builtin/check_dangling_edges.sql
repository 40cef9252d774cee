-- Check (must be empty): edge endpoints that are not a node of cpg_nodes with the kind the edge
-- declares (src_kind / dst_kind). `end` says which end is dangling.
-- @keys: edge_id, end
-- @layer: check
-- @entity: dangling_edge
-- @grain: one row per dangling edge endpoint
-- @version: 1
-- @stability: stable
-- @owners: cpg
SELECT e.edge_id, e.edge_kind, 'src' AS "end", e.src_id AS node_id, e.src_kind AS node_kind
FROM cpg_edges AS e
LEFT JOIN cpg_nodes AS n ON n.node_id = e.src_id AND n.node_kind = e.src_kind
WHERE n.node_id IS NULL
UNION ALL
SELECT e.edge_id, e.edge_kind, 'dst' AS "end", e.dst_id AS node_id, e.dst_kind AS node_kind
FROM cpg_edges AS e
LEFT JOIN cpg_nodes AS n ON n.node_id = e.dst_id AND n.node_kind = e.dst_kind
WHERE n.node_id IS NULL
