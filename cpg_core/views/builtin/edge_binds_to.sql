-- BINDS_TO: a declaration that binds a name -> the BINDING: a PARAMETER in its function, an
-- IMPORT's bound name (`import a.b` binds `a`), a `def`/`class` statement's name in the enclosing
-- scope (FUNCTION/CLASS). A `global`-declared name binds the module's BINDING.
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path; drivers = params, imports, defs, idx_def_nodes, res_symbol_bindings
WITH pairs AS (
    SELECT p.param_id AS src_id, 'PARAMETER' AS src_kind, s.resolved_id AS dst_id, s.method, p.path
    FROM params AS p
    JOIN res_symbol_bindings AS s ON s.path = p.path AND s.scope_id = p.scope_id AND s.name = p.name
    WHERE s.resolved_kind = 'BINDING'
    UNION ALL
    SELECT i.import_id, 'IMPORT', s.resolved_id, s.method, i.path
    FROM imports AS i
    JOIN res_symbol_bindings AS s ON s.path = i.path AND s.scope_id = i.scope_id AND s.name = i.bound_name
    WHERE s.resolved_kind = 'BINDING' AND NOT i.is_star
    UNION ALL
    SELECT d.def_id, d2.node_kind, s.resolved_id, s.method, d.path
    FROM defs AS d
    JOIN idx_def_nodes AS d2 ON d2.path = d.path AND d2.def_id = d.def_id
    JOIN res_symbol_bindings AS s
      ON s.path = d.path AND s.scope_id = d.outer_scope_id AND s.name = d.name
    WHERE d.kind IN ('class', 'function', 'async_function') AND s.resolved_kind = 'BINDING'
)
SELECT
    'BINDS_TO:' || src_id || '->' || dst_id AS edge_id,
    'BINDS_TO' AS edge_kind,
    src_id, src_kind, dst_id, 'BINDING' AS dst_kind,
    1.0 AS confidence,
    method AS resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    path
FROM pairs
