-- IMPORTS: the module-level import graph. MODULE -> each module it imports (anywhere in the file,
-- also inside functions), once per pair: a repository MODULE, or an EXTERNAL module outside the
-- repository. `from m import n` imports m.n when that is a module, else m. resolution_method is
-- `repository` or `external`.
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path; drivers = res_import_targets, idx_def_nodes
SELECT DISTINCT
    'IMPORTS:' || t.module_id || '->' || t.imported_module_id AS edge_id,
    'IMPORTS' AS edge_kind,
    t.module_id AS src_id, 'MODULE' AS src_kind,
    t.imported_module_id AS dst_id, t.imported_module_kind AS dst_kind,
    1.0 AS confidence,
    CASE WHEN t.imported_module_kind = 'MODULE' THEN 'repository' ELSE 'external' END AS resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    t.path
FROM res_import_targets AS t
JOIN idx_def_nodes AS m ON m.path = t.path AND m.def_id = t.module_id
