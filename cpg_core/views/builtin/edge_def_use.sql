-- DEF_USE (position-based, see res_def_use): a definition (REFERENCE target, PARAMETER,
-- IMPORT, FUNCTION/CLASS statement) -> a REFERENCE that may read the value it bound.
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path
SELECT
    'DEF_USE:' || def_node_id || '->' || use_ref_id AS edge_id,
    'DEF_USE' AS edge_kind,
    def_node_id AS src_id, def_kind AS src_kind, use_ref_id AS dst_id, 'REFERENCE' AS dst_kind,
    confidence, resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    path
FROM res_def_use
