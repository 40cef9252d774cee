-- HAS_PARAM: FUNCTION/LAMBDA -> each of its PARAMETERs (position and kind are PARAMETER props).
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path; drivers = params, idx_def_nodes
SELECT
    'HAS_PARAM:' || p.def_id || '->' || p.param_id AS edge_id,
    'HAS_PARAM' AS edge_kind,
    p.def_id AS src_id, d.node_kind AS src_kind, p.param_id AS dst_id, 'PARAMETER' AS dst_kind,
    1.0 AS confidence,
    'syntax' AS resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    p.path
FROM params AS p
JOIN idx_def_nodes AS d ON d.path = p.path AND d.def_id = p.def_id
