-- Kind-specific node properties in long form: one row per (node, key) with a text value; NULL
-- values are left out. Boolean properties are present (value 'true') only when true; lists are
-- joined with ', '. See
-- docs/cpg_schema.md for the keys of each node kind.
-- @keys: node_id, key
-- @layer: cpg
-- @entity: node_property
-- @grain: one row per (node_id, key)
-- @entity_keys: node_id, key
-- @join_keys: node_id
-- @version: 1
-- @stability: stable
-- @owners: cpg
-- @incremental: partition_by = path
WITH props AS (
    SELECT file_id AS node_id, 'module' AS key, module AS value, path FROM files
    UNION ALL SELECT file_id, 'is_package', 'true', path FROM files WHERE is_package
    UNION ALL SELECT file_id, 'source_root', source_root, path FROM files
    UNION ALL SELECT file_id, 'size', CAST(size AS VARCHAR), path FROM files
    UNION ALL SELECT file_id, 'sha256', sha256, path FROM files
    UNION ALL SELECT file_id, 'line_count', CAST(line_count AS VARCHAR), path FROM files
    UNION ALL SELECT file_id, 'encoding', encoding, path FROM files
    UNION ALL SELECT file_id, 'status', status, path FROM files
    UNION ALL SELECT def_id, 'def_kind', kind, path FROM defs
    UNION ALL SELECT def_id, 'qualname', qualname, path FROM defs
    UNION ALL SELECT def_id, 'is_method', 'true', path FROM defs WHERE is_method
    UNION ALL SELECT def_id, 'decorators', array_to_string(decorators, ', '), path FROM defs WHERE array_length(decorators) > 0
    UNION ALL SELECT def_id, 'bases', array_to_string(bases, ', '), path FROM defs WHERE array_length(bases) > 0
    UNION ALL SELECT def_id, 'class_keywords', array_to_string(class_keywords, ', '), path FROM defs WHERE array_length(class_keywords) > 0
    UNION ALL SELECT def_id, 'returns', returns, path FROM defs
    UNION ALL SELECT def_id, 'docstring_head', docstring_head, path FROM defs
    UNION ALL SELECT param_id, 'param_kind', kind, path FROM params
    UNION ALL SELECT param_id, 'position', CAST(position AS VARCHAR), path FROM params
    UNION ALL SELECT param_id, 'annotation', annotation, path FROM params
    UNION ALL SELECT param_id, 'default', "default", path FROM params
    UNION ALL SELECT binding_id, 'scope_kind', scope_kind, path FROM idx_bindings
    UNION ALL SELECT binding_id, 'symtable_binding', symtable_binding, path FROM idx_bindings
    UNION ALL SELECT binding_id, 'is_parameter', 'true', path FROM idx_bindings WHERE is_parameter
    UNION ALL SELECT binding_id, 'is_imported', 'true', path FROM idx_bindings WHERE is_imported
    UNION ALL SELECT binding_id, 'is_cell', 'true', path FROM idx_bindings WHERE is_cell
    UNION ALL SELECT ref_id, 'ref_kind', ref_kind, path FROM refs
    UNION ALL SELECT ref_id, 'ctx', ctx, path FROM refs
    UNION ALL SELECT ref_id, 'attr', attr, path FROM refs
    UNION ALL SELECT ref_id, 'augmented', 'true', path FROM refs WHERE augmented
    UNION ALL SELECT ref_id, 'is_callee', 'true', path FROM refs WHERE is_callee
    UNION ALL SELECT ref_id, 'in_annotation', 'true', path FROM refs WHERE in_annotation
    UNION ALL SELECT call_id, 'callee_kind', callee_kind, path FROM calls
    UNION ALL SELECT call_id, 'callee_kind', 'implicit_' || kind, path FROM res_implicit_calls
    UNION ALL SELECT call_id, 'callee_name', callee_name, path FROM calls
    UNION ALL SELECT call_id, 'receiver_call', receiver_call, path FROM calls
    UNION ALL SELECT call_id, 'n_args', CAST(n_args AS VARCHAR), path FROM calls
    UNION ALL SELECT call_id, 'n_keywords', CAST(n_keywords AS VARCHAR), path FROM calls
    UNION ALL SELECT call_id, 'keywords', array_to_string(keywords, ', '), path FROM calls WHERE array_length(keywords) > 0
    UNION ALL SELECT call_id, 'has_star_args', 'true', path FROM calls WHERE has_star_args
    UNION ALL SELECT call_id, 'has_star_kwargs', 'true', path FROM calls WHERE has_star_kwargs
    UNION ALL SELECT import_id, 'import_kind', kind, path FROM imports
    UNION ALL SELECT import_id, 'module', module, path FROM imports
    UNION ALL SELECT import_id, 'level', CAST(level AS VARCHAR), path FROM imports
    UNION ALL SELECT import_id, 'imported_name', name, path FROM imports
    UNION ALL SELECT import_id, 'asname', asname, path FROM imports
    UNION ALL SELECT import_id, 'target_module', target_module, path FROM imports
    UNION ALL SELECT import_id, 'is_star', 'true', path FROM imports WHERE is_star
)
SELECT node_id, key, arrow_cast(value, 'Utf8') AS value, path
FROM props
WHERE value IS NOT NULL
