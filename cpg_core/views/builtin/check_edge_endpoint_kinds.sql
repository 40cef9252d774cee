-- Check (must be empty): edges whose declared src_kind/dst_kind differ from the kind of the node
-- they point at, or whose kinds are not allowed for the edge kind (see docs/cpg_schema.md).
-- @keys: edge_id
-- @layer: check
-- @entity: bad_edge_kind
-- @grain: one row per offending edge
-- @version: 1
-- @stability: stable
-- @owners: cpg
WITH allowed AS (
    SELECT * FROM (
        VALUES
            ('CONTAINS', 'FILE', 'MODULE'),
            ('CONTAINS', 'MODULE|CLASS|FUNCTION|LAMBDA', 'CLASS|FUNCTION|LAMBDA|CALL|REFERENCE|IMPORT'),
            ('HAS_PARAM', 'FUNCTION|LAMBDA', 'PARAMETER'),
            ('DEFINES', 'MODULE|CLASS|FUNCTION|LAMBDA', 'BINDING'),
            ('READS', 'REFERENCE', 'BINDING'),
            ('WRITES', 'REFERENCE', 'BINDING'),
            ('BINDS_TO', 'PARAMETER|IMPORT|CLASS|FUNCTION', 'BINDING'),
            ('RESOLVES_TO', 'REFERENCE|IMPORT', 'MODULE|CLASS|FUNCTION|BINDING|BUILTIN|EXTERNAL'),
            ('CALLS', 'CALL', 'FUNCTION|CLASS|LAMBDA|BUILTIN|EXTERNAL'),
            ('IMPORTS', 'MODULE', 'MODULE|EXTERNAL'),
            ('INHERITS', 'CLASS', 'CLASS|BUILTIN|EXTERNAL'),
            ('DEF_USE', 'REFERENCE|PARAMETER|IMPORT|CLASS|FUNCTION', 'REFERENCE')
    ) AS v(edge_kind, src_kinds, dst_kinds)
),
checked AS (
    SELECT e.edge_id, e.edge_kind, e.src_kind, e.dst_kind,
           s.node_kind AS src_node_kind, d.node_kind AS dst_node_kind,
           max(CASE WHEN strpos('|' || a.src_kinds || '|', '|' || e.src_kind || '|') > 0
                     AND strpos('|' || a.dst_kinds || '|', '|' || e.dst_kind || '|') > 0
                    THEN 1 ELSE 0 END) AS allowed
    FROM cpg_edges AS e
    LEFT JOIN cpg_nodes AS s ON s.node_id = e.src_id
    LEFT JOIN cpg_nodes AS d ON d.node_id = e.dst_id
    LEFT JOIN allowed AS a ON a.edge_kind = e.edge_kind
    GROUP BY e.edge_id, e.edge_kind, e.src_kind, e.dst_kind, s.node_kind, d.node_kind
)
SELECT edge_id, edge_kind, src_kind, dst_kind, src_node_kind, dst_node_kind
FROM checked
WHERE allowed = 0 OR src_kind <> src_node_kind OR dst_kind <> dst_node_kind
