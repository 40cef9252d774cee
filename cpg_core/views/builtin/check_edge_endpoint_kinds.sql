-- Check (must be empty): (edge kind, source kind, target kind) combinations the schema does not
-- allow (see docs/cpg_schema.md), with how many edges have them. Together with
-- cpg_edges' no_dangling_edges test (declared kinds are the nodes' kinds) this pins every edge's
-- endpoints.
-- @keys: edge_kind, src_kind, dst_kind
-- @layer: check
-- @entity: bad_edge_kind
-- @grain: one row per disallowed (edge_kind, src_kind, dst_kind)
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
used AS (
    SELECT edge_kind, src_kind, dst_kind, count(*) AS edges
    FROM cpg_edges
    GROUP BY edge_kind, src_kind, dst_kind
),
checked AS (
    SELECT u.edge_kind, u.src_kind, u.dst_kind, u.edges,
           max(CASE WHEN strpos('|' || a.src_kinds || '|', '|' || u.src_kind || '|') > 0
                     AND strpos('|' || a.dst_kinds || '|', '|' || u.dst_kind || '|') > 0
                    THEN 1 ELSE 0 END) AS allowed
    FROM used AS u
    LEFT JOIN allowed AS a ON a.edge_kind = u.edge_kind
    GROUP BY u.edge_kind, u.src_kind, u.dst_kind, u.edges
)
SELECT edge_kind, src_kind, dst_kind, edges
FROM checked
WHERE allowed = 0 OR allowed IS NULL
