-- Kind-specific node properties in long form: one row per (node, key) with a text value; NULL
-- values are left out. Booleans are 'true'/'false', lists are joined with ', '. See
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
    UNION ALL SELECT file_id, 'is_package', CAST(is_package AS VARCHAR) FROM files
    UNION ALL SELECT file_id, 'source_root', source_root FROM files
    UNION ALL SELECT file_id, 'size', CAST(size AS VARCHAR) FROM files
    UNION ALL SELECT file_id, 'sha256', sha256 FROM files
    UNION ALL SELECT file_id, 'line_count', CAST(line_count AS VARCHAR) FROM files
    UNION ALL SELECT file_id, 'encoding', encoding FROM files
    UNION ALL SELECT file_id, 'status', status FROM files
    UNION ALL SELECT def_id, 'def_kind', kind FROM defs
    UNION ALL SELECT def_id, 'qualname', qualname FROM defs
    UNION ALL SELECT def_id, 'is_method', CAST(is_method AS VARCHAR) FROM defs WHERE kind <> 'module'
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
    UNION ALL SELECT binding_id, 'is_parameter', CAST(is_parameter AS VARCHAR) FROM idx_bindings
    UNION ALL SELECT binding_id, 'is_imported', CAST(is_imported AS VARCHAR) FROM idx_bindings
    UNION ALL SELECT binding_id, 'is_cell', CAST(is_cell AS VARCHAR) FROM idx_bindings
    UNION ALL SELECT ref_id, 'ref_kind', ref_kind FROM refs
    UNION ALL SELECT ref_id, 'ctx', ctx FROM refs
    UNION ALL SELECT ref_id, 'attr', attr FROM refs
    UNION ALL SELECT ref_id, 'augmented', CAST(augmented AS VARCHAR) FROM refs
    UNION ALL SELECT ref_id, 'is_callee', CAST(is_callee AS VARCHAR) FROM refs
    UNION ALL SELECT ref_id, 'in_annotation', CAST(in_annotation AS VARCHAR) FROM refs
    UNION ALL SELECT call_id, 'callee_kind', callee_kind FROM calls
    UNION ALL SELECT call_id, 'callee_name', callee_name FROM calls
    UNION ALL SELECT call_id, 'receiver_call', receiver_call FROM calls
    UNION ALL SELECT call_id, 'n_args', CAST(n_args AS VARCHAR) FROM calls
    UNION ALL SELECT call_id, 'n_keywords', CAST(n_keywords AS VARCHAR) FROM calls
    UNION ALL SELECT call_id, 'keywords', array_to_string(keywords, ', ') FROM calls WHERE array_length(keywords) > 0
    UNION ALL SELECT call_id, 'has_star_args', CAST(has_star_args AS VARCHAR) FROM calls
    UNION ALL SELECT call_id, 'has_star_kwargs', CAST(has_star_kwargs AS VARCHAR) FROM calls
    UNION ALL SELECT import_id, 'import_kind', kind FROM imports
    UNION ALL SELECT import_id, 'module', module FROM imports
    UNION ALL SELECT import_id, 'level', CAST(level AS VARCHAR) FROM imports
    UNION ALL SELECT import_id, 'imported_name', name FROM imports
    UNION ALL SELECT import_id, 'asname', asname FROM imports
    UNION ALL SELECT import_id, 'target_module', target_module FROM imports
    UNION ALL SELECT import_id, 'is_star', CAST(is_star AS VARCHAR) FROM imports
)
SELECT node_id, key, value
FROM props
WHERE value IS NOT NULL
