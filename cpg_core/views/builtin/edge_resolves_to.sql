-- RESOLVES_TO: what a REFERENCE or an IMPORT denotes. A REFERENCE -> its best target in
-- res_ref_targets (a def, a MODULE, a BINDING that is a module/class-level variable, a BUILTIN
-- or an EXTERNAL name) with that view's confidence, method and ambiguity. An IMPORT -> the
-- entity it imports (res_import_targets: module, def or module-level binding of the repository,
-- else EXTERNAL; confidence 1.0 in the repository, 0.9 outside it, 0.5 when the repository lacks
-- the name).
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path
WITH pairs AS (
    SELECT ref_id AS src_id, 'REFERENCE' AS src_kind, target_id AS dst_id, target_kind AS dst_kind,
           confidence, resolution_method, ambiguity_count, path
    FROM res_ref_targets
    UNION ALL
    SELECT import_id, 'IMPORT', target_id, target_kind,
           CASE target_method WHEN 'external' THEN 0.9 WHEN 'missing' THEN 0.5
                              WHEN 'unresolved' THEN 0.3 ELSE 1.0 END / CAST(target_candidates AS DOUBLE),
           'import_' || target_method, CAST(target_candidates AS BIGINT), path
    FROM res_import_targets
)
SELECT
    'RESOLVES_TO:' || src_id || '->' || dst_id AS edge_id,
    'RESOLVES_TO' AS edge_kind,
    src_id, src_kind, dst_id, dst_kind, confidence, resolution_method, ambiguity_count, path
FROM pairs
