-- Bindings (variables): one row per name bound in a scope, the BINDING nodes of the graph.
-- A name is bound in a scope when symtable says it is local there (assigned, a parameter, an
-- import, a def/class name, a loop or `with` target...) or, at module level, when it is bound at
-- all. A `global x` assignment inside a function binds `x` in the module even when the module body
-- never mentions it: those module bindings are added here too. The id is the symtable symbol id
-- (`symbol:<path>[:<scope span>]#<mangled name>`); the owner is the def whose scope it is (a
-- comprehension's bindings belong to the enclosing def).
-- @keys: binding_id
-- @layer: index
-- @entity: binding
-- @incremental: partition_by = path; drivers = symbols, scopes
WITH local_symbols AS (
    SELECT
        s.symbol_id AS binding_id,
        s.scope_id,
        s.def_id,
        s.path,
        s.name,
        s.mangled_name,
        c.scope_kind,
        s.is_parameter,
        s.is_imported,
        s.is_assigned,
        s.is_namespace,
        s.is_cell,
        s.binding AS symtable_binding
    FROM symbols AS s
    JOIN scopes AS c ON c.path = s.path AND c.scope_id = s.scope_id
    WHERE s.is_local AND s.name NOT LIKE '.%'
),
declared_globals AS (
    SELECT DISTINCT
        'symbol:' || s.path || '#' || s.mangled_name AS binding_id,
        'scope:' || s.path AS scope_id,
        'module:' || s.path AS def_id,
        s.path,
        s.mangled_name AS name,
        s.mangled_name
    FROM symbols AS s
    WHERE s.is_declared_global AND s.is_assigned AND s.scope_id <> 'scope:' || s.path
)
SELECT * FROM local_symbols
UNION ALL
SELECT
    g.binding_id, g.scope_id, g.def_id, g.path, g.name, g.mangled_name, 'module' AS scope_kind,
    false AS is_parameter, false AS is_imported, true AS is_assigned, false AS is_namespace,
    false AS is_cell, 'global_explicit' AS symtable_binding
FROM declared_globals AS g
LEFT JOIN local_symbols AS l ON l.path = g.path AND l.binding_id = g.binding_id
WHERE l.binding_id IS NULL
