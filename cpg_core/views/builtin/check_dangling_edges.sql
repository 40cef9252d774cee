-- Check (must be empty): edge endpoints that are not a node of cpg_nodes with the kind the edge
-- declares (src_kind / dst_kind). `end` says which end is dangling. The distinct endpoints are
-- checked first (a small hash table), so the check stays cheap on millions of edges.
-- @keys: edge_id, end
-- @layer: check
-- @entity: dangling_edge
-- @grain: one row per dangling edge endpoint
-- @version: 1
-- @stability: stable
-- @owners: cpg
WITH endpoints AS (
    SELECT src_id AS node_id, src_kind AS node_kind FROM cpg_edges
    UNION
    SELECT dst_id, dst_kind FROM cpg_edges
),
missing AS (
    SELECT p.node_id, p.node_kind
    FROM endpoints AS p
    LEFT JOIN cpg_nodes AS n ON n.node_id = p.node_id AND n.node_kind = p.node_kind
    WHERE n.node_id IS NULL
)
SELECT e.edge_id, e.edge_kind, 'src' AS "end", e.src_id AS node_id, e.src_kind AS node_kind
FROM cpg_edges AS e JOIN missing AS m ON m.node_id = e.src_id AND m.node_kind = e.src_kind
UNION ALL
SELECT e.edge_id, e.edge_kind, 'dst', e.dst_id, e.dst_kind
FROM cpg_edges AS e JOIN missing AS m ON m.node_id = e.dst_id AND m.node_kind = e.dst_kind
