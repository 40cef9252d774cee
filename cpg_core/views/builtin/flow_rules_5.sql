-- Value flow, round 5: what the fired rules (flow_fired_5: a rule
-- and a value at its node; new rules flow_spawn_5) and their invocations (flow_inv_5) do. Output rows: `seed` (node holds value), `edge` (values at node also reach value),
-- `trigger` (a new rule on node, its fields packed with chr(31)), `call` (site node calls the
-- target `value` packed with the rule name).
--   callee     a function or lambda: invoked (below); a class: the site holds `inst:<class>`,
--              calls the class, and `__init__` (C3 MRO) is invoked with the instance; a bound
--              method `bm:<function>|<self>`: invoked with self; an instance: its `__call__`; a
--              builtin or EXTERNAL name: called (builtins below)
--   invoke     arguments -> parameters (positional, keyword, `*xs`/`**kw` elements, extra ones
--              into `args:<def>`/`kwargs:<def>`), self -> the first parameter, `ret:<def>` -> the
--              call; a `call` row
--   load       fields `<value>|.a`; on an instance or class the attribute found along the MRO
--              becomes a `bind` rule on that class attribute's node (functions bind: a bound
--              method; a staticmethod does not; a classmethod binds the class; a property getter
--              is invoked at the attribute); on a module its binding or submodule; on an
--              EXTERNAL name the dotted name; on `super:<class>|<self>` the MRO after <class>
--   store, keyed, elems: fields and elements; iter, with, raise, getitem, setitem, operator:
--              dunder methods of instances (`invoke` rules on the method's node), elements of
--              containers; except_as: an instance of the class
--   builtins   map/filter/sorted/min/max(key=)/functools.reduce invoke their function argument
--              with elements; list/tuple/set/frozenset/iter/reversed/sorted/dict/enumerate/zip
--              build `res:<site>` (pairs `pair:<site>`); next, getattr/setattr with a constant
--              name, type(x), functools.partial, staticmethod/classmethod/property(f), super()
--   cmethod    append/add/insert/extend/update/setdefault store into a container; get/pop/
--              setdefault read (a constant key reads its own element); values/copy/__iter__
--              pass it on; items() makes pairs
-- Cross-file. Generated from cpg_core/views/templates/flow_rules.sql.tmpl.
-- @materialize: inline
-- @keys: kind, node, value
-- @layer: flow
WITH
f AS (
    SELECT tkind, node, site, target, attr, slot, self_value, how, value, bound, is_container,
           inst_class
    FROM flow_fired_5
),
fdefs AS (
    SELECT def_id, kind, class_id, method_kind FROM flow_defs
),
args AS (
    SELECT site, pos, kw, src,
           CASE mode WHEN 'value' THEN 'arg' WHEN 'star' THEN 'arg_star'
                     WHEN 'kwstar' THEN 'arg_kwstar' ELSE 'arg_const' END AS kind
    FROM flow_args
    WHERE slot = 0
),
builtin_calls AS (
    SELECT f.site,
           CASE WHEN f.value LIKE 'builtin:%' THEN substr(f.value, 9) ELSE substr(f.value, 20) END AS fname
    FROM f
    WHERE f.tkind = 'callee' AND f.slot = 0
      AND (f.value LIKE 'builtin:%'
           OR f.value IN ('external:functools.partial', 'external:functools.reduce'))
),
inv AS (
    SELECT site, slot, fn, self_value, result, how, cb,
           CASE WHEN self_value IS NULL THEN 0 ELSE 1 END AS shift
    FROM flow_inv_5
),
inv_args AS (
    SELECT site, slot, pos, kw, src, mode FROM flow_args WHERE mode <> 'const'
),
callback_args AS (
    -- (site, builtin, parameter position, node whose elements it gets)
    SELECT a.site, b.cb, a.pos - 1 AS pos, a.src
    FROM args AS a JOIN (SELECT DISTINCT site, cb FROM inv WHERE cb = 'map') AS b ON b.site = a.site
    WHERE a.kind = 'arg' AND a.pos >= 1
    UNION ALL
    SELECT a.site, b.cb, k.pos, a.src
    FROM args AS a
    JOIN (SELECT DISTINCT site, cb FROM inv WHERE cb IN ('filter', 'reduce')) AS b ON b.site = a.site
    CROSS JOIN (VALUES (0), (1)) AS k(pos)
    WHERE a.kind = 'arg' AND a.pos = 1 AND (b.cb = 'reduce' OR k.pos = 0)
    UNION ALL
    SELECT a.site, b.cb, 0, a.src
    FROM args AS a
    JOIN (SELECT DISTINCT site, cb FROM inv WHERE cb IN ('sorted', 'min', 'max')) AS b ON b.site = a.site
    WHERE a.kind = 'arg' AND a.pos = 0
),
super_outside AS (
    SELECT target, attr, ancestor_id
    FROM (
        SELECT s.target, s.attr, o.ancestor_id,
               row_number() OVER (PARTITION BY s.target, s.attr, s.self_value, s.after_cls
                                  ORDER BY o.depth) AS rn
        FROM (
            SELECT f.target, f.attr, substr(f.value, 7, strpos(f.value, '|') - 7) AS after_cls,
                   substr(f.value, strpos(f.value, '|') + 1) AS self_value
            FROM f
            WHERE f.tkind = 'load' AND f.value LIKE 'super:%'
        ) AS s
        JOIN idx_class_mro AS me
          ON me.class_id = CASE WHEN s.self_value LIKE 'inst:%' THEN substr(s.self_value, 6)
                                ELSE s.self_value END
         AND me.ancestor_id = s.after_cls
        JOIN idx_class_mro AS o ON o.class_id = me.class_id AND o.depth > me.depth
        LEFT JOIN flow_class_attrs AS m ON m.class_id = o.ancestor_id AND m.name = s.attr
        WHERE m.class_id IS NOT NULL OR o.ancestor_id NOT LIKE 'def:%'
    ) AS ranked
    WHERE rn = 1 AND ancestor_id NOT LIKE 'def:%'
),
out AS (
    -- invocations: arguments -> parameters
    SELECT 'edge' AS kind,
           a.src AS node,
           coalesce(pp.node, 'args:' || i.fn || '|*') AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode = 'value' AND a.kw IS NULL
    LEFT JOIN flow_params AS pp
      ON pp.def_id = i.fn AND pp.kind IN ('posonly', 'positional') AND pp.position = a.pos + i.shift
    UNION ALL
    SELECT 'edge' AS kind,
           CASE WHEN a.mode = 'value' THEN a.src ELSE a.src || '|elems' END AS node,
           'args:' || i.fn || '|~' AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode IN ('value', 'star')
     AND a.kw IS NULL
    LEFT JOIN flow_params AS pp
      ON pp.def_id = i.fn AND pp.kind IN ('posonly', 'positional') AND pp.position = a.pos + i.shift
    WHERE pp.node IS NULL
    UNION ALL
    -- `f(*xs)`: element k of xs -> the k-th parameter from the star's position on, and any
    -- element -> `*args`
    SELECT 'edge' AS kind,
           a.src || '|at:' || CAST(pp.position - a.pos - i.shift AS VARCHAR) AS node,
           pp.node AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode = 'star'
    JOIN flow_params AS pp
      ON pp.def_id = i.fn AND pp.kind IN ('posonly', 'positional')
     AND pp.position >= a.pos + i.shift AND pp.position < a.pos + i.shift + 6
    UNION ALL
    SELECT 'edge' AS kind,
           a.src || '|elems' AS node,
           'args:' || i.fn || t.field AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode = 'star'
    CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    UNION ALL
    SELECT 'edge' AS kind,
           a.src AS node,
           coalesce(pp.node, 'kwargs:' || i.fn || '|#s:' || a.kw) AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode = 'value' AND a.kw IS NOT NULL
    LEFT JOIN flow_params AS pp
      ON pp.def_id = i.fn AND pp.name = a.kw AND pp.kind IN ('positional', 'kwonly')
    UNION ALL
    SELECT 'edge' AS kind,
           a.src AS node,
           'kwargs:' || i.fn || '|*' AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode = 'value' AND a.kw IS NOT NULL
    LEFT JOIN flow_params AS pp
      ON pp.def_id = i.fn AND pp.name = a.kw AND pp.kind IN ('positional', 'kwonly')
    WHERE pp.node IS NULL
    UNION ALL
    -- `f(**kw)`: kw's element under a parameter's name (or an unknown key) -> that parameter
    -- (through `<kw>|kw:<name>`, which a `keyed` rule fills), any element -> `**kwargs`
    SELECT 'edge' AS kind,
           a.src || '|kw:' || pp.name AS node,
           pp.node AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode = 'kwstar'
    JOIN flow_params AS pp
      ON pp.def_id = i.fn AND pp.kind IN ('positional', 'kwonly') AND pp.position >= i.shift
    UNION ALL
    SELECT 'edge' AS kind,
           a.src || '|elems' AS node,
           'kwargs:' || i.fn || '|*' AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode = 'kwstar'
    UNION ALL
    SELECT 'trigger' AS kind,
           a.src AS node,
           'keyed' || chr(31) || chr(31) || a.src || '|kw:' || pp.name || chr(31) || 's:' || pp.name
           || chr(31) || '0' || chr(31) || chr(31) AS value
    FROM inv AS i
    JOIN inv_args AS a ON a.site = i.site AND a.slot = i.slot AND a.mode = 'kwstar'
    JOIN flow_params AS pp
      ON pp.def_id = i.fn AND pp.kind IN ('positional', 'kwonly') AND pp.position >= i.shift
    UNION ALL
    SELECT 'edge' AS kind,
           c.src || '|elems' AS node,
           pp.node AS value
    FROM inv AS i
    JOIN callback_args AS c ON c.site = i.site AND c.cb = i.cb
    JOIN flow_params AS pp ON pp.def_id = i.fn AND pp.position = c.pos + i.shift
    WHERE i.slot = 100
    UNION ALL
    -- self -> the first parameter; the return value -> the call
    SELECT 'seed' AS kind,
           pp.node AS node,
           i.self_value AS value
    FROM inv AS i
    JOIN flow_params AS pp ON pp.def_id = i.fn AND pp.position = 0 AND pp.kind IN ('posonly', 'positional')
    WHERE i.self_value IS NOT NULL
    UNION ALL
    -- a function without a first positional parameter (`def wrapper(*args, **kw)`) takes self
    -- as the first element of `*args`, as an extra positional argument does
    SELECT 'seed' AS kind,
           'args:' || i.fn || t.field AS node,
           i.self_value AS value
    FROM inv AS i CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    LEFT JOIN flow_params AS pp
      ON pp.def_id = i.fn AND pp.position = 0 AND pp.kind IN ('posonly', 'positional')
    WHERE i.self_value IS NOT NULL AND pp.node IS NULL
    UNION ALL
    SELECT 'edge' AS kind,
           'ret:' || i.fn AS node,
           i.result AS value FROM inv AS i WHERE i.result IS NOT NULL
    UNION ALL
    SELECT 'edge' AS kind,
           'ret:' || i.fn AS node,
           'res:' || i.site || t.field AS value
    FROM inv AS i CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE i.cb = 'map'
    UNION ALL
    -- instantiation
    SELECT 'seed' AS kind,
           f.site AS node,
           'inst:' || f.value AS value
    FROM f JOIN fdefs AS d ON d.def_id = f.value AND d.kind = 'class'
    WHERE f.tkind = 'callee' AND f.slot = 0
    UNION ALL
    -- fields, attributes through classes, modules, names outside the repository
    SELECT 'edge' AS kind,
           f.value || '|.' || f.attr AS node,
           f.target AS value FROM f WHERE f.tkind = 'load'
    UNION ALL
    SELECT 'edge' AS kind,
           o.ancestor_id || '|.' || f.attr AS node,
           f.target AS value
    FROM f
    JOIN idx_class_mro AS o
      ON o.class_id = coalesce(f.inst_class, f.value) AND o.depth > 0
     AND o.ancestor_id LIKE 'def:%'
    WHERE f.tkind = 'load' AND (f.inst_class IS NOT NULL OR f.value LIKE 'def:%')
    UNION ALL
    SELECT 'edge' AS kind,
           'symbol:' || m.path || '#' || f.attr AS node,
           f.target AS value
    FROM f JOIN idx_modules AS m ON m.module_id = f.value
    WHERE f.tkind = 'load'
    UNION ALL
    SELECT 'seed' AS kind,
           f.target AS node,
           sub.module_id AS value
    FROM f
    JOIN idx_modules AS m ON m.module_id = f.value
    JOIN idx_modules AS sub ON sub.module = m.module || '.' || f.attr AND sub.name_rank = 1
    WHERE f.tkind = 'load'
    UNION ALL
    SELECT 'seed' AS kind,
           f.target AS node,
           f.value || '.' || f.attr AS value
    FROM f WHERE f.tkind = 'load' AND f.value LIKE 'external:%'
    UNION ALL
    -- what a class attribute binds to when read through an instance, the class or super()
    -- (flow_fired_5's `bound`)
    SELECT 'seed' AS kind,
           f.target AS node,
           f.bound AS value
    FROM f WHERE f.tkind = 'bind'
    UNION ALL
    -- `super().m` whose MRO reaches a class outside the repository before any repository class
    -- defining m: that class's m (`super().__init__()` in a subclass of Exception)
    SELECT 'seed' AS kind,
           target AS node,
           ancestor_id || '.' || attr AS value
    FROM super_outside
    UNION ALL
    SELECT 'edge' AS kind,
           f.target AS node,
           f.value || '|.' || f.attr AS value FROM f WHERE f.tkind = 'store'
    UNION ALL
    -- a module attribute written from outside rebinds the module's global
    SELECT 'edge' AS kind,
           f.target AS node,
           'symbol:' || m.path || '#' || f.attr AS value
    FROM f
    JOIN idx_modules AS m ON m.module_id = f.value
    WHERE f.tkind = 'store'
    UNION ALL
    -- elements
    SELECT 'edge' AS kind,
           f.value || '|#' || f.attr AS node,
           f.target AS value FROM f WHERE f.tkind = 'keyed' AND f.is_container
    UNION ALL
    SELECT 'edge' AS kind,
           f.value || '|~' AS node,
           f.target AS value FROM f WHERE f.tkind = 'keyed' AND f.is_container
    UNION ALL
    SELECT 'edge' AS kind,
           f.value || '|*' AS node,
           f.node || '|elems' AS value FROM f WHERE f.tkind = 'elems' AND f.is_container
    UNION ALL
    SELECT 'edge' AS kind,
           f.target AS node,
           f.value || t.field AS value
    FROM f CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE f.tkind = 'setitem' AND f.is_container AND (t.field = '|*' OR f.attr IS NULL)
    UNION ALL
    SELECT 'edge' AS kind,
           f.target AS node,
           f.value || '|#' || f.attr AS value
    FROM f WHERE f.tkind = 'setitem' AND f.is_container AND f.attr IS NOT NULL
    UNION ALL
    SELECT 'seed' AS kind,
           f.target AS node,
           'inst:' || f.value AS value
    FROM f JOIN fdefs AS d ON d.def_id = f.value AND d.kind = 'class'
    WHERE f.tkind = 'except_as'
    UNION ALL
    SELECT 'seed' AS kind,
           f.site AS node,
           CASE WHEN f.attr IN ('__iadd__', '__ior__') THEN f.value ELSE 'res:' || f.site END AS value
    FROM f
    WHERE f.tkind = 'operator' AND f.is_container AND f.attr IN ('__add__', '__iadd__', '__or__', '__ior__')
    UNION ALL
    -- `xs += ys` adds ys's elements to xs; `xs + ys` is a new container of both
    SELECT 'edge' AS kind,
           a.src || '|elems' AS node,
           CASE WHEN f.attr IN ('__iadd__', '__ior__') THEN f.value ELSE 'res:' || f.site END || t.field AS value
    FROM f
    JOIN flow_args AS a ON a.site = f.site AND a.slot = f.slot AND a.pos = 0
    CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE f.tkind = 'operator' AND f.is_container AND f.attr IN ('__add__', '__iadd__', '__or__', '__ior__')
    UNION ALL
    SELECT 'edge' AS kind,
           f.value || '|*' AS node,
           'res:' || f.site || t.field AS value
    FROM f
    CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE f.tkind = 'operator' AND f.is_container AND f.attr IN ('__add__', '__or__')
    UNION ALL
    SELECT 'seed' AS kind,
           f.site AS node,
           f.inst_class AS value FROM f WHERE f.tkind = 'type' AND f.inst_class IS NOT NULL
    UNION ALL
    -- `x.__class__` of an instance is its class, as `type(x)` is
    SELECT 'seed' AS kind,
           f.target AS node,
           f.inst_class AS value
    FROM f WHERE f.tkind = 'load' AND f.attr = '__class__' AND f.inst_class IS NOT NULL
    UNION ALL
    SELECT 'seed' AS kind,
           f.site AS node,
           'super:' || f.attr || '|' || f.value AS value FROM f WHERE f.tkind = 'super_self'
    UNION ALL
    -- builtins
    SELECT 'seed' AS kind,
           site AS node,
           'res:' || site AS value FROM builtin_calls
    WHERE fname IN ('map', 'filter', 'sorted', 'list', 'tuple', 'set', 'frozenset', 'iter',
                    'reversed', 'dict', 'enumerate', 'zip')
    UNION ALL
    SELECT 'edge' AS kind,
           a.src || '|elems' AS node,
           'res:' || g.site || t.field AS value
    FROM builtin_calls AS g
    JOIN args AS a ON a.site = g.site AND a.kind = 'arg'
     AND a.pos = CASE WHEN g.fname = 'filter' THEN 1 ELSE 0 END
    CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE g.fname IN ('filter', 'sorted', 'list', 'tuple', 'set', 'frozenset', 'iter', 'reversed', 'dict')
    UNION ALL
    SELECT 'edge' AS kind,
           a.src || '|elems' AS node,
           g.site AS value
    FROM builtin_calls AS g JOIN args AS a ON a.site = g.site AND a.kind = 'arg' AND a.pos = 0
    WHERE g.fname IN ('min', 'max', 'next')
    UNION ALL
    SELECT 'seed' AS kind,
           'res:' || g.site || t.field AS node,
           'pair:' || g.site AS value
    FROM builtin_calls AS g CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE g.fname IN ('enumerate', 'zip')
    UNION ALL
    SELECT 'edge' AS kind,
           a.src || '|elems' AS node,
           'pair:' || g.site || '|*' AS value
    FROM builtin_calls AS g
    JOIN args AS a ON a.site = g.site AND a.kind = 'arg' AND a.pos IS NOT NULL
    WHERE (g.fname = 'enumerate' AND a.pos = 0) OR g.fname = 'zip'
    UNION ALL
    SELECT 'edge' AS kind,
           a.src || '|elems' AS node,
           'pair:' || g.site || '|#i:' || CASE WHEN g.fname = 'zip' THEN CAST(a.pos AS VARCHAR) ELSE '1' END AS value
    FROM builtin_calls AS g
    JOIN args AS a ON a.site = g.site AND a.kind = 'arg' AND a.pos IS NOT NULL
    WHERE (g.fname = 'enumerate' AND a.pos = 0) OR g.fname = 'zip'
    UNION ALL
    SELECT 'edge' AS kind,
           a.src AS node,
           'res:' || g.site || t.field || CASE WHEN t.field = '|#s:' THEN a.kw ELSE '' END AS value
    FROM builtin_calls AS g
    JOIN args AS a ON a.site = g.site AND a.kind = 'arg' AND a.kw IS NOT NULL
    CROSS JOIN (VALUES ('|*'), ('|#s:')) AS t(field)
    WHERE g.fname = 'dict'
    UNION ALL
    SELECT 'edge' AS kind,
           a.src AS node,
           g.site AS value
    FROM builtin_calls AS g
    JOIN args AS a ON a.site = g.site AND a.kind = 'arg'
    WHERE (g.fname IN ('partial', 'staticmethod', 'classmethod', 'property') AND a.pos = 0)
       OR (g.fname = 'next' AND a.pos = 1) OR (g.fname = 'getattr' AND a.pos = 2)
    UNION ALL
    -- container methods
    SELECT 'edge' AS kind,
           CASE WHEN f.attr IN ('extend', 'update') THEN a.src || '|elems' ELSE a.src END AS node,
           f.value || t.field AS value
    FROM f
    JOIN args AS a ON a.site = f.site AND a.kind = 'arg'
     AND a.pos = CASE WHEN f.attr IN ('insert', 'setdefault') THEN 1 ELSE 0 END
    CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE f.tkind = 'cmethod' AND f.is_container
      AND f.attr IN ('append', 'add', 'insert', 'setdefault', 'extend', 'update')
    UNION ALL
    SELECT 'edge' AS kind,
           a.src AS node,
           f.value || t.field || CASE WHEN t.field = '|#s:' THEN a.kw ELSE '' END AS value
    FROM f
    JOIN args AS a ON a.site = f.site AND a.kind = 'arg' AND a.kw IS NOT NULL
    CROSS JOIN (VALUES ('|*'), ('|#s:')) AS t(field)
    WHERE f.tkind = 'cmethod' AND f.is_container AND f.attr = 'update'
    UNION ALL
    SELECT 'edge' AS kind,
           f.value || CASE WHEN k.kw IS NULL THEN '|*' WHEN t.field = '|#s:' THEN '|#s:' || k.kw
                           ELSE t.field END AS node,
           f.site AS value
    FROM f
    LEFT JOIN args AS k ON k.site = f.site AND k.kind = 'arg_const' AND k.pos = 0
    CROSS JOIN (VALUES ('|#s:'), ('|~')) AS t(field)
    WHERE f.tkind = 'cmethod' AND f.is_container AND f.attr IN ('get', 'pop', 'setdefault')
    UNION ALL
    SELECT 'edge' AS kind,
           a.src AS node,
           f.site AS value
    FROM f JOIN args AS a ON a.site = f.site AND a.kind = 'arg' AND a.pos = 1
    WHERE f.tkind = 'cmethod' AND f.is_container AND f.attr IN ('get', 'pop')
    UNION ALL
    SELECT 'seed' AS kind,
           f.site AS node,
           CASE WHEN f.attr = 'items' THEN 'res:' || f.site ELSE f.value END AS value
    FROM f
    WHERE f.tkind = 'cmethod' AND f.is_container AND f.attr IN ('values', 'copy', '__iter__', 'items')
    UNION ALL
    SELECT 'seed' AS kind,
           'res:' || f.site || t.field AS node,
           'pair:' || f.site AS value
    FROM f CROSS JOIN (VALUES ('|*'), ('|~')) AS t(field)
    WHERE f.tkind = 'cmethod' AND f.is_container AND f.attr = 'items'
    UNION ALL
    SELECT 'edge' AS kind,
           f.value || '|*' AS node,
           'pair:' || f.site || t.field AS value
    FROM f CROSS JOIN (VALUES ('|*'), ('|#i:1')) AS t(field)
    WHERE f.tkind = 'cmethod' AND f.is_container AND f.attr = 'items'
    UNION ALL
    -- new rules
    SELECT 'trigger' AS kind,
           node AS node,
           coalesce(tkind, '') || chr(31) || coalesce(site, '') || chr(31) || coalesce(target, '')
           || chr(31) || coalesce(attr, '') || chr(31) || coalesce(CAST(slot AS VARCHAR), '')
           || chr(31) || coalesce(self_value, '') || chr(31) || coalesce(how, '') AS value
    FROM flow_spawn_5
    UNION ALL
    -- methods of builtin containers: `xs.append(f)` calls builtins.list.append
    SELECT 'call' AS kind,
           f.site AS node,
           'builtin:' || c.type || '.' || f.attr || chr(31) || 'value_flow_method' AS value
    FROM f
    JOIN flow_containers AS c ON c.container = f.value
    JOIN (
        VALUES
            ('list', 'append'), ('list', 'extend'), ('list', 'insert'), ('list', 'pop'),
            ('list', 'remove'), ('list', 'clear'), ('list', 'sort'), ('list', 'reverse'),
            ('list', 'index'), ('list', 'count'), ('list', 'copy'),
            ('tuple', 'index'), ('tuple', 'count'),
            ('set', 'add'), ('set', 'update'), ('set', 'pop'), ('set', 'remove'),
            ('set', 'discard'), ('set', 'clear'), ('set', 'copy'), ('set', 'union'),
            ('set', 'intersection'), ('set', 'difference'), ('set', 'issubset'),
            ('set', 'issuperset'), ('set', 'symmetric_difference'), ('set', 'isdisjoint'),
            ('set', 'difference_update'), ('set', 'intersection_update'),
            ('set', 'symmetric_difference_update'),
            ('frozenset', 'union'), ('frozenset', 'intersection'), ('frozenset', 'difference'),
            ('frozenset', 'issubset'), ('frozenset', 'issuperset'), ('frozenset', 'copy'),
            ('frozenset', 'symmetric_difference'), ('frozenset', 'isdisjoint'),
            ('dict', 'get'), ('dict', 'pop'), ('dict', 'popitem'), ('dict', 'setdefault'),
            ('dict', 'update'), ('dict', 'values'), ('dict', 'items'), ('dict', 'keys'),
            ('dict', 'clear'), ('dict', 'copy'), ('dict', 'fromkeys')
    ) AS m(type, method) ON m.type = c.type AND m.method = f.attr
    WHERE f.tkind = 'cmethod'
    UNION ALL
    -- calls: invoked functions, instantiated classes, builtins and names outside the repository
    SELECT 'call' AS kind,
           site AS node,
           fn || chr(31) || how AS value FROM inv
    UNION ALL
    SELECT 'call' AS kind,
           f.site AS node,
           f.value || chr(31)
                   || CASE WHEN f.slot = 100 THEN 'value_flow_callback' ELSE 'value_flow' END AS value
    FROM f JOIN fdefs AS d ON d.def_id = f.value AND d.kind = 'class'
    WHERE f.tkind IN ('callee', 'raise')
    UNION ALL
    SELECT 'call' AS kind,
           f.site AS node,
           f.value || chr(31) || 'value_flow' AS value
    FROM f
    LEFT JOIN sites AS s ON s.site_id = f.site AND s.kind = 'decorator'
    WHERE f.tkind IN ('callee', 'raise')
      AND (f.value LIKE 'external:%' OR (f.value LIKE 'builtin:%' AND s.site_id IS NULL))
    UNION ALL
    -- an instance of a class outside the repository (a capitalized name, by convention) stands
    -- for its class: `JSONDecoder().decode` reads `external:json.JSONDecoder.decode`
    SELECT 'seed' AS kind,
           f.site AS node,
           f.value AS value
    FROM f
    WHERE f.tkind = 'callee' AND f.slot = 0 AND f.value LIKE 'external:%'
      AND regexp_like(f.value, '[.:][A-Z][A-Za-z0-9_]*$')
)
SELECT DISTINCT o.kind, o.node, o.value
FROM out AS o
LEFT JOIN flow_live AS l
  ON l.node = CASE o.kind WHEN 'edge' THEN o.value WHEN 'seed' THEN o.node END
WHERE o.node IS NOT NULL AND o.value IS NOT NULL
  AND (o.kind IN ('trigger', 'call') OR l.node IS NOT NULL
       OR strpos(CASE o.kind WHEN 'edge' THEN o.value ELSE o.node END, '|') > 0
       OR split_part(CASE o.kind WHEN 'edge' THEN o.value ELSE o.node END, ':', 1)
          IN ('ret', 'iter', 'gen', 'args', 'kwargs', 'res', 'pair'))
