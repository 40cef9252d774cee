-- CALLS: a CALL site -> the best candidate callee (res_calls): FUNCTION, CLASS (instantiation),
-- BUILTIN or EXTERNAL, with confidence, resolution_method and ambiguity_count. The calling def is
-- the CALL's CONTAINS parent (and its `parent_id` in cpg_nodes).
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path
SELECT
    'CALLS:' || call_id || '->' || target_id AS edge_id,
    'CALLS' AS edge_kind,
    call_id AS src_id, 'CALL' AS src_kind, target_id AS dst_id, target_kind AS dst_kind,
    confidence, resolution_method, ambiguity_count, path
FROM res_calls
