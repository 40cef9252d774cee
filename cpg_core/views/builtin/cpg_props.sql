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
WITH props AS (
    SELECT file_id AS node_id, 'module' AS key, module AS value FROM files
    UNION ALL SELECT file_id, 'is_package', 'true' FROM files WHERE is_package
    UNION ALL SELECT file_id, 'source_root', source_root FROM files
    UNION ALL SELECT file_id, 'size', CAST(size AS VARCHAR) FROM files
    UNION ALL SELECT file_id, 'sha256', sha256 FROM files
    UNION ALL SELECT file_id, 'line_count', CAST(line_count AS VARCHAR) FROM files
    UNION ALL SELECT file_id, 'encoding', encoding FROM files
    UNION ALL SELECT file_id, 'status', status FROM files
    UNION ALL SELECT def_id, 'def_kind', kind FROM defs
    UNION ALL SELECT def_id, 'qualname', qualname FROM defs
    UNION ALL SELECT def_id, 'is_method', 'true' FROM defs WHERE is_method
    UNION ALL SELECT def_id, 'decorators', array_to_string(decorators, ', ') FROM defs WHERE array_length(decorators) > 0
    UNION ALL SELECT def_id, 'bases', array_to_string(bases, ', ') FROM defs WHERE array_length(bases) > 0
    UNION ALL SELECT def_id, 'class_keywords', array_to_string(class_keywords, ', ') FROM defs WHERE array_length(class_keywords) > 0
    UNION ALL SELECT def_id, 'returns', returns FROM defs
    UNION ALL SELECT def_id, 'docstring_head', docstring_head FROM defs
    UNION ALL SELECT param_id, 'param_kind', kind FROM params
    UNION ALL SELECT param_id, 'position', CAST(position AS VARCHAR) FROM params
    UNION ALL SELECT param_id, 'annotation', annotation FROM params
    UNION ALL SELECT param_id, 'default', "default" FROM params
    UNION ALL SELECT binding_id, 'scope_kind', scope_kind FROM idx_bindings
    UNION ALL SELECT binding_id, 'symtable_binding', symtable_binding FROM idx_bindings
    UNION ALL SELECT binding_id, 'is_parameter', 'true' FROM idx_bindings WHERE is_parameter
    UNION ALL SELECT binding_id, 'is_imported', 'true' FROM idx_bindings WHERE is_imported
    UNION ALL SELECT binding_id, 'is_cell', 'true' FROM idx_bindings WHERE is_cell
    UNION ALL SELECT ref_id, 'ref_kind', ref_kind FROM refs
    UNION ALL SELECT ref_id, 'ctx', ctx FROM refs
    UNION ALL SELECT ref_id, 'attr', attr FROM refs
    UNION ALL SELECT ref_id, 'augmented', 'true' FROM refs WHERE augmented
    UNION ALL SELECT ref_id, 'is_callee', 'true' FROM refs WHERE is_callee
    UNION ALL SELECT ref_id, 'in_annotation', 'true' FROM refs WHERE in_annotation
    UNION ALL SELECT call_id, 'callee_kind', callee_kind FROM calls
    UNION ALL SELECT call_id, 'callee_kind', 'implicit_' || kind FROM res_implicit_calls
    UNION ALL SELECT call_id, 'callee_name', callee_name FROM calls
    UNION ALL SELECT call_id, 'receiver_call', receiver_call FROM calls
    UNION ALL SELECT call_id, 'n_args', CAST(n_args AS VARCHAR) FROM calls
    UNION ALL SELECT call_id, 'n_keywords', CAST(n_keywords AS VARCHAR) FROM calls
    UNION ALL SELECT call_id, 'keywords', array_to_string(keywords, ', ') FROM calls WHERE array_length(keywords) > 0
    UNION ALL SELECT call_id, 'has_star_args', 'true' FROM calls WHERE has_star_args
    UNION ALL SELECT call_id, 'has_star_kwargs', 'true' FROM calls WHERE has_star_kwargs
    UNION ALL SELECT import_id, 'import_kind', kind FROM imports
    UNION ALL SELECT import_id, 'module', module FROM imports
    UNION ALL SELECT import_id, 'level', CAST(level AS VARCHAR) FROM imports
    UNION ALL SELECT import_id, 'imported_name', name FROM imports
    UNION ALL SELECT import_id, 'asname', asname FROM imports
    UNION ALL SELECT import_id, 'target_module', target_module FROM imports
    UNION ALL SELECT import_id, 'is_star', 'true' FROM imports WHERE is_star
)
SELECT node_id, key, arrow_cast(value, 'Utf8') AS value
FROM props
WHERE value IS NOT NULL
