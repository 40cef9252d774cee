-- The assignment graph across files: what each imported name holds.
--   `import a.b`        binds `a` to module a (`import a.b as c`: c to module a.b)
--   `from m import n`   n holds what m's module-level binding n holds (an edge from that binding,
--                       so decorated defs, re-exports and module variables follow), or module m.n
--                       when that is a module
--   outside the repository: the literal `external:<dotted name>`
-- Star imports need no rows: names they provide already resolve to the other module's binding.
-- Cross-file (the only cross-file input of the fixpoint besides idx_class_mro).
-- @keys: kind, a, b
-- @layer: flow
WITH imported AS (
    SELECT i.kind, i.name, i.target_module, i.target, i.bound_target, s.resolved_id AS binding
    FROM imports AS i
    JOIN res_symbol_bindings AS s ON s.scope_id = i.scope_id AND s.name = i.bound_name
    WHERE NOT i.is_star AND s.resolved_kind = 'BINDING' AND i.bound_target IS NOT NULL
),
pairs AS (
    SELECT 'seed' AS kind, i.binding AS a, coalesce(m.module_id, 'external:' || i.bound_target) AS b
    FROM imported AS i
    LEFT JOIN idx_modules AS m ON m.module = i.bound_target AND m.name_rank = 1
    WHERE i.kind = 'import'
    UNION ALL
    SELECT 'edge', b.binding_id, i.binding
    FROM imported AS i
    JOIN idx_modules AS m ON m.module = i.target_module AND m.name_rank = 1
    JOIN idx_bindings AS b ON b.binding_id = 'symbol:' || m.path || '#' || i.name
    WHERE i.kind = 'from'
    UNION ALL
    SELECT 'seed', i.binding, m.module_id
    FROM imported AS i
    JOIN idx_modules AS m ON m.module = i.target AND m.name_rank = 1
    WHERE i.kind = 'from'
    UNION ALL
    SELECT 'seed', i.binding, 'external:' || i.target
    FROM imported AS i
    LEFT JOIN idx_modules AS m ON m.module = i.target_module AND m.name_rank = 1
    WHERE i.kind = 'from' AND m.module_id IS NULL
)
SELECT DISTINCT kind, a, b FROM pairs
