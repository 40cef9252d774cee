-- DEFINES: the MODULE/CLASS/FUNCTION/LAMBDA whose scope binds a name -> that BINDING (its local
-- variables, parameters, imported names, nested def names; a comprehension's targets belong to
-- the enclosing def; `global x` assignments define x in the MODULE).
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path; drivers = idx_bindings, idx_def_nodes
SELECT
    'DEFINES:' || b.def_id || '->' || b.binding_id AS edge_id,
    'DEFINES' AS edge_kind,
    b.def_id AS src_id, d.node_kind AS src_kind, b.binding_id AS dst_id, 'BINDING' AS dst_kind,
    1.0 AS confidence,
    'symtable' AS resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    b.path
FROM idx_bindings AS b
JOIN idx_def_nodes AS d ON d.path = b.path AND d.def_id = b.def_id
