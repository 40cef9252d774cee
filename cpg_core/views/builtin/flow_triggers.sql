-- The rules of the value-flow fixpoint that fire on a node's values, from the per-file facts:
-- one row per (rule, watched node). When a value reaches `node` the rule `tkind` fires with it
-- (flow_rules_N): `site` is the call site it may call from, `target` the node it writes,
-- `attr` an attribute, key, dunder or builtin name, `slot` an argument slot or stage.
--   callee    a call's callee: functions, classes, bound methods, instances, builtins are called
--   load      `x.a` reads a field, a class attribute (along the MRO), a module's binding ...
--   store     `x.a = v` writes v into the field of every value of x
--   keyed     element `attr` of a container (`x[0]`, `a, b = x`) -> target
--   elems     any element of a container or generator -> `<node>|elems` (iteration, `*args`,
--             `**kw`, `yield from`, `[*xs]`, arguments of builtins and of container methods)
--   iter      `for`: `__iter__` (slot 1) / `__next__` (slot 2, watching `iter:<site>`)
--   with, raise, except_as, getitem, setitem, operator: dunders, instantiation, instances
--   cmethod   `x.append(v)`, `x.get(k)`, `x.items()`... on containers x
-- Per file.
-- @keys: tkind, node, site, target, attr, slot
-- @layer: flow
WITH facts AS (
    SELECT kind, node, src, name, pos FROM flow_facts
),
-- calls whose arguments' elements builtins or container methods may read
element_callees AS (
    SELECT call_id FROM calls
    WHERE callee_name IN ('map', 'filter', 'sorted', 'min', 'max', 'reduce', 'list', 'tuple', 'set',
                          'frozenset', 'iter', 'reversed', 'dict', 'enumerate', 'zip', 'next',
                          'extend', 'update')
),
rows AS (
    SELECT 'callee' AS tkind, src AS node, node AS site, CAST(NULL AS VARCHAR) AS target, CAST(NULL AS VARCHAR) AS attr, 0 AS slot
    FROM facts WHERE kind = 'callee'
    UNION ALL
    SELECT 'load' AS tkind, src AS node, NULL AS site, node AS target, name AS attr, 0 AS slot FROM facts WHERE kind IN ('load', 'load_root')
    UNION ALL
    SELECT 'store' AS tkind, node AS node, NULL AS site, src AS target, name AS attr, 0 AS slot FROM facts WHERE kind IN ('store', 'store_root')
    UNION ALL
    SELECT 'keyed' AS tkind, src AS node, NULL AS site, node AS target, 'i:' || CAST(pos AS VARCHAR) AS attr, 0 AS slot
    FROM facts WHERE kind = 'unpack' AND pos IS NOT NULL
    UNION ALL
    SELECT 'keyed' AS tkind, src AS node, NULL AS site, node AS target, name AS attr, 0 AS slot FROM facts WHERE kind = 'getitem' AND name IS NOT NULL
    UNION ALL
    SELECT 'elems' AS tkind, src AS node, NULL AS site, NULL AS target, NULL AS attr, 0 AS slot
    FROM facts
    WHERE kind IN ('for_iter', 'yield_from', 'elem_all', 'arg_star', 'arg_kwstar')
       OR (kind = 'unpack' AND pos IS NULL) OR (kind = 'getitem' AND name IS NULL)
    UNION ALL
    -- `f(*xs)`: element k of xs (its own key, or an unknown one) -> `<xs>|at:k`, for the k-th
    -- parameter from the star on
    SELECT 'keyed' AS tkind, f.src AS node, NULL AS site, f.src || '|at:' || CAST(k.k AS VARCHAR) AS target,
           'i:' || CAST(k.k AS VARCHAR) AS attr, 0 AS slot
    FROM facts AS f CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5)) AS k(k)
    WHERE f.kind = 'arg_star'
    UNION ALL
    SELECT 'elems' AS tkind, a.src AS node, NULL AS site, NULL AS target, NULL AS attr, 0 AS slot
    FROM facts AS a
    JOIN facts AS o ON o.kind = 'operator' AND o.node = a.node AND o.pos = a.pos
    WHERE a.kind = 'operator_arg' AND o.name IN ('__add__', '__iadd__', '__or__', '__ior__')
    UNION ALL
    SELECT 'elems' AS tkind, 'iter:' || node AS node, NULL AS site, NULL AS target, NULL AS attr, 0 AS slot FROM facts WHERE kind = 'for_iter'
    UNION ALL
    SELECT 'elems' AS tkind, f.src AS node, NULL AS site, NULL AS target, NULL AS attr, 0 AS slot
    FROM facts AS f JOIN element_callees AS c ON c.call_id = f.node
    WHERE f.kind = 'arg'
    UNION ALL
    SELECT 'iter' AS tkind, f.src AS node, f.node AS site, NULL AS target, CASE WHEN s.kind = 'async_for' THEN 'async' END AS attr, 1 AS slot
    FROM facts AS f JOIN sites AS s ON s.site_id = f.node
    WHERE f.kind = 'for_iter'
    UNION ALL
    SELECT 'iter' AS tkind, 'iter:' || f.node AS node, f.node AS site, NULL AS target, CASE WHEN s.kind = 'async_for' THEN 'async' END AS attr, 2 AS slot
    FROM facts AS f JOIN sites AS s ON s.site_id = f.node
    WHERE f.kind = 'for_iter'
    UNION ALL
    SELECT 'with' AS tkind, f.src AS node, f.node AS site, NULL AS target, CASE WHEN s.kind = 'async_with' THEN 'async' END AS attr, 0 AS slot
    FROM facts AS f JOIN sites AS s ON s.site_id = f.node
    WHERE f.kind = 'with_ctx'
    UNION ALL
    SELECT 'raise' AS tkind, src AS node, node AS site, NULL AS target, NULL AS attr, 0 AS slot FROM facts WHERE kind = 'raise'
    UNION ALL
    SELECT 'except_as' AS tkind, src AS node, NULL AS site, node AS target, NULL AS attr, 0 AS slot FROM facts WHERE kind = 'except_as'
    UNION ALL
    SELECT 'getitem' AS tkind, src AS node, node AS site, NULL AS target, NULL AS attr, 0 AS slot FROM facts WHERE kind = 'getitem'
    UNION ALL
    SELECT 'setitem' AS tkind, f.src AS node, f.node AS site, v.src AS target, f.name AS attr, 0 AS slot
    FROM facts AS f JOIN facts AS v ON v.kind = 'setitem_value' AND v.node = f.node
    WHERE f.kind = 'setitem'
    UNION ALL
    SELECT 'operator' AS tkind, src AS node, node AS site, NULL AS target, name AS attr, pos AS slot FROM facts WHERE kind = 'operator'
    UNION ALL
    SELECT 'cmethod' AS tkind, l.src AS node, k.node AS site, NULL AS target, l.name AS attr, 0 AS slot
    FROM facts AS k
    JOIN facts AS l ON l.node = k.src AND l.kind IN ('load', 'load_root')
    WHERE k.kind = 'callee'
      AND l.name IN ('append', 'add', 'insert', 'setdefault', 'extend', 'update', 'get', 'pop',
                     'values', 'copy', '__iter__', 'items', 'keys', 'remove', 'discard', 'clear',
                     'sort', 'reverse', 'index', 'count', 'popitem', 'union', 'intersection',
                     'difference', 'issubset', 'issuperset', 'symmetric_difference',
                     'fromkeys', 'isdisjoint', 'difference_update', 'intersection_update',
                     'symmetric_difference_update')
)
SELECT DISTINCT tkind, node, site, target, attr, slot FROM rows WHERE node IS NOT NULL
