-- READS: a REFERENCE that reads a name (a load, the root of a dotted chain, the read half of an
-- augmented assignment) -> the BINDING it reads, by LEGB scope resolution (resolution_method
-- local / enclosing / global / star_import). Confidence 1.0 (symtable scopes are exact), 0.75
-- through a star import. Names that resolve to builtins or nothing have no READS edge (see
-- RESOLVES_TO).
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path
SELECT
    'READS:' || ref_id || '->' || resolved_id AS edge_id,
    'READS' AS edge_kind,
    ref_id AS src_id, 'REFERENCE' AS src_kind, resolved_id AS dst_id, 'BINDING' AS dst_kind,
    CASE WHEN method = 'star_import' THEN 0.75 ELSE 1.0 END AS confidence,
    method AS resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    path
FROM res_ref_bindings
WHERE access IN ('read', 'update') AND resolved_kind = 'BINDING'
