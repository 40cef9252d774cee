-- WRITES: a REFERENCE that assigns, augments or deletes a name (`x = `, `x += `, `del x`,
-- `for x in`, `except E as x`, `case [x]`, a `global`/`nonlocal` target...) -> the BINDING it
-- changes (resolution_method local / enclosing for `nonlocal` / global for `global`).
-- Attribute stores (`self.x = v`) change no binding and have no WRITES edge.
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path
SELECT
    'WRITES:' || ref_id || '->' || resolved_id AS edge_id,
    'WRITES' AS edge_kind,
    ref_id AS src_id, 'REFERENCE' AS src_kind, resolved_id AS dst_id, 'BINDING' AS dst_kind,
    1.0 AS confidence,
    method AS resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    path
FROM res_ref_bindings
WHERE access IN ('write', 'update', 'delete') AND resolved_kind = 'BINDING'
