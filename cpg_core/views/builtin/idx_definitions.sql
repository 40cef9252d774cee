-- Every definition of a BINDING, for res_def_use: an assignment/augmented/`except as`/`case`
-- target (REFERENCE), a PARAMETER, an IMPORT, or a `def`/`class` statement (FUNCTION/CLASS),
-- with its scope and position. `path` is the file of the binding, not of the definition: they
-- differ when a `global` write resolves to a star-imported binding, so the view cannot be
-- proven per file; it is rebuilt whole and publishes its partitions by binding file, which
-- res_def_use reads through its `dependencies`.
-- @keys: def_node_id, binding_id
-- @layer: index
-- @incremental: partition_by = path; drivers = none
SELECT resolved_id AS binding_id, ref_id AS def_node_id, 'REFERENCE' AS def_kind,
       scope_id, bstart AS pos, resolved_path AS path
FROM res_ref_bindings
WHERE access IN ('write', 'update') AND resolved_kind = 'BINDING'
UNION ALL
SELECT s.resolved_id, p.param_id, 'PARAMETER', p.scope_id, p.bstart, s.resolved_path
FROM params AS p
JOIN res_symbol_bindings AS s ON s.scope_id = p.scope_id AND s.name = p.name
WHERE s.resolved_kind = 'BINDING'
UNION ALL
SELECT s.resolved_id, i.import_id, 'IMPORT', i.scope_id, i.bstart, s.resolved_path
FROM imports AS i
JOIN res_symbol_bindings AS s ON s.scope_id = i.scope_id AND s.name = i.bound_name
WHERE s.resolved_kind = 'BINDING' AND NOT i.is_star
UNION ALL
SELECT s.resolved_id, d.def_id,
       CASE WHEN d.kind = 'class' THEN 'CLASS' ELSE 'FUNCTION' END,
       d.outer_scope_id, coalesce(d.name_bstart, d.bstart), s.resolved_path
FROM defs AS d
JOIN res_symbol_bindings AS s ON s.scope_id = d.outer_scope_id AND s.name = d.name
WHERE d.kind IN ('class', 'function', 'async_function') AND s.resolved_kind = 'BINDING'
