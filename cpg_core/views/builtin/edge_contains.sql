-- CONTAINS: syntactic containment. FILE -> its MODULE; MODULE/CLASS/FUNCTION/LAMBDA -> the defs
-- directly inside it, and the CALL, REFERENCE and IMPORT nodes whose innermost def it is
-- (comprehensions belong to their enclosing def). Every node except FILE, PARAMETER (see
-- HAS_PARAM), BINDING (see DEFINES), EXTERNAL and BUILTIN has exactly one CONTAINS parent.
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path
WITH pairs AS (
    SELECT parent_id AS src_id, parent_kind AS src_kind, def_id AS dst_id, node_kind AS dst_kind,
           path
    FROM idx_def_nodes
    UNION ALL
    SELECT c.def_id, d.node_kind, c.call_id, 'CALL', c.path
    FROM calls AS c JOIN idx_def_nodes AS d ON d.path = c.path AND d.def_id = c.def_id
    UNION ALL
    SELECT c.def_id, d.node_kind, c.call_id, 'CALL', c.path
    FROM res_implicit_calls AS c JOIN idx_def_nodes AS d ON d.path = c.path AND d.def_id = c.def_id
    UNION ALL
    SELECT r.def_id, d.node_kind, r.ref_id, 'REFERENCE', r.path
    FROM refs AS r JOIN idx_def_nodes AS d ON d.path = r.path AND d.def_id = r.def_id
    UNION ALL
    SELECT i.def_id, d.node_kind, i.import_id, 'IMPORT', i.path
    FROM imports AS i JOIN idx_def_nodes AS d ON d.path = i.path AND d.def_id = i.def_id
)
SELECT
    'CONTAINS:' || src_id || '->' || dst_id AS edge_id,
    'CONTAINS' AS edge_kind,
    src_id, src_kind, dst_id, dst_kind,
    1.0 AS confidence,
    'syntax' AS resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    path
FROM pairs
