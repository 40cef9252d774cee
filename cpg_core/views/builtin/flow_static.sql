-- The assignment graph's static part, per file: `edge` rows (values at `a` also reach `b`) and
-- `seed` rows (node `a` holds value `b`) that need no value flow to be known.
--   assign / flow        the value's node -> the target (a binding, an attribute chain ...)
--   return, yield        the returned node -> `ret:<def>`; a yielded node -> the generator's
--                        elements `gen:<def>|*`; a generator function returns `gen:<def>`
--   default              a parameter's default -> the parameter's binding
--   container, elem      a display or comprehension holds itself (its allocation site) and its
--                        items are its elements: `<container>|*` (any element), `|#<key>` (a
--                        constant key or position), `|~` (an element whose key is unknown)
--   def / class          the name a `def`/`class` statement binds holds the def, or, when it is
--                        decorated, what the outermost decorator returns (`bind_def`); a
--                        decorator that is not a repository function or class (a builtin, an
--                        import from outside, an unknown name) is taken to return its argument
--   literals             `def:`, `builtin:`, `external:` nodes hold themselves; `*args` holds
--                        `args:<def>` and `**kw` holds `kwargs:<def>` (containers of the extra
--                        arguments)
--   elements             `<node>|elems` (the elements of node's containers, flow_triggers
--                        `elems`) -> a `for` target, `yield from`'s generator, `[*xs]`,
--                        `*rest = xs`, `xs[i]`
-- Field nodes are `<value>|<field>`: `|.name` an attribute, `|*` `|~` `|#k` elements.
-- Per file.
-- @keys: kind, a, b
-- @layer: flow
WITH facts AS (
    SELECT kind, node, src, name, pos FROM flow_facts
),
def_bindings AS (
    SELECT d.def_id, s.resolved_id AS binding
    FROM defs AS d
    JOIN res_symbol_bindings AS s ON s.scope_id = d.outer_scope_id AND s.name = d.name
    WHERE d.kind IN ('class', 'function', 'async_function') AND s.resolved_kind = 'BINDING'
),
-- decorator sites whose callee is statically a repository function, class or lambda
repo_decorators AS (
    SELECT f.node_id AS site
    FROM flows AS f
    JOIN res_ref_targets AS t ON t.ref_id = f.src_id
    WHERE f.kind = 'callee' AND t.target_kind IN ('FUNCTION', 'CLASS', 'LAMBDA')
    UNION
    SELECT f.node_id
    FROM flows AS f
    JOIN calls AS c ON c.call_id = f.src_id
    JOIN res_ref_targets AS t ON t.ref_id = c.callee_ref_id
    WHERE f.kind = 'callee' AND t.target_kind IN ('FUNCTION', 'CLASS', 'LAMBDA')
),
pairs AS (
    SELECT 'edge' AS kind, src AS a, node AS b FROM facts
    WHERE kind IN ('assign', 'flow') AND src IS NOT NULL
    UNION ALL
    SELECT 'edge', src, 'ret:' || node FROM facts WHERE kind = 'return'
    UNION ALL
    SELECT 'edge', src, 'gen:' || node || '|*' FROM facts WHERE kind = 'yield' AND src IS NOT NULL
    UNION ALL
    SELECT 'seed', 'ret:' || def_id, 'gen:' || def_id FROM flow_defs WHERE is_generator
    UNION ALL
    SELECT 'edge', f.src, p.node FROM facts AS f JOIN flow_params AS p ON p.param_id = f.node
    WHERE f.kind = 'default'
    UNION ALL
    SELECT 'seed', node AS a, node AS b FROM facts WHERE kind = 'container'
    UNION ALL
    SELECT 'edge', src, node || '|*' FROM facts WHERE kind = 'elem'
    UNION ALL
    SELECT 'edge', src, node || CASE WHEN name IS NULL THEN '|~' ELSE '|#' || name END
    FROM facts WHERE kind = 'elem'
    UNION ALL
    SELECT 'edge', f.src, b.binding
    FROM facts AS f JOIN def_bindings AS b ON b.def_id = f.node
    WHERE f.kind = 'bind_def'
    UNION ALL
    SELECT 'seed', b.binding, b.def_id
    FROM def_bindings AS b JOIN flow_defs AS d ON d.def_id = b.def_id
    WHERE NOT d.is_decorated
    UNION ALL
    SELECT 'edge', a.src, a.node
    FROM facts AS a
    JOIN sites AS s ON s.site_id = a.node AND s.kind = 'decorator'
    LEFT JOIN repo_decorators AS r ON r.site = a.node
    WHERE a.kind = 'arg' AND r.site IS NULL
    UNION ALL
    SELECT 'seed', x AS a, x AS b
    FROM (SELECT src AS x FROM facts UNION SELECT node FROM facts) AS lits
    WHERE x LIKE 'def:%' OR x LIKE 'builtin:%' OR x LIKE 'external:%'
    UNION ALL
    SELECT 'seed', node, CASE kind WHEN 'vararg' THEN 'args:' ELSE 'kwargs:' END || def_id
    FROM flow_params WHERE kind IN ('vararg', 'kwarg')
    UNION ALL
    -- elements (flow_triggers `elems`) reach what iterates or spreads them
    SELECT 'edge', src || '|elems', node FROM facts WHERE kind = 'for_iter'
    UNION ALL
    SELECT 'edge', 'iter:' || node || '|elems', node FROM facts WHERE kind = 'for_iter'
    UNION ALL
    SELECT 'edge', src || '|elems', 'gen:' || node || '|*' FROM facts WHERE kind = 'yield_from'
    UNION ALL
    SELECT 'edge', f.src || '|elems', f.node || t.field
    FROM facts AS f CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE f.kind = 'elem_all'
    UNION ALL
    SELECT 'edge', src || '|elems', node FROM facts WHERE kind = 'unpack' AND pos IS NULL
    UNION ALL
    SELECT 'edge', src || '|elems', node FROM facts WHERE kind = 'getitem' AND name IS NULL
    UNION ALL
    SELECT 'edge', src, node FROM facts WHERE kind = 'unpack_all'
)
SELECT DISTINCT kind, a, b FROM pairs
