-- Value flow, round 5: the rules the fired ones create (flow_fire_5): the class
-- attribute a lookup found (`bind`: how a read binds it; `invoke`: a constructor or dunder method
-- to call), and rules builtins need (getattr/setattr become `load`/`store`, `next` an `iter`,
-- `type`, `super_self`, callbacks of map/filter/sorted/... a `callee`). Each new rule also fires
-- at once with the values its node already holds (flow_fired_5), so a lookup costs no round.
-- Cross-file. Generated from cpg_core/views/templates/flow_spawn.sql.tmpl.
-- @materialize: inline
-- @keys: tkind, node, site, target, attr, slot, self_value, how
-- @layer: flow
WITH
f AS (
    SELECT tkind, node, site, target, attr, slot, self_value, how, value, is_container, inst_class FROM flow_fire_5
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
classes AS (
    SELECT f.tkind, f.node, f.site, f.target, f.attr, f.slot, f.self_value, f.how, f.value,
           f.inst_class, d.def_id AS class_value
    FROM f
    LEFT JOIN fdefs AS d ON d.def_id = f.value AND d.kind = 'class'
    WHERE f.inst_class IS NOT NULL OR d.def_id IS NOT NULL
),
reqs AS (
    SELECT c.tkind, c.node, c.site, c.target, c.attr, c.slot, c.self_value, c.how, c.value, c.inst_class, c.class_value, coalesce(c.inst_class, c.class_value) AS cls, c.attr AS want,
           CAST(NULL AS VARCHAR) AS fallback, 'bind' AS out_kind,
           CASE WHEN c.inst_class IS NOT NULL THEN 'inst' ELSE 'class' END AS bind_how
    FROM classes AS c WHERE c.tkind = 'load'
    UNION ALL
    SELECT c.tkind, c.node, c.site, c.target, c.attr, c.slot, c.self_value, c.how, c.value, c.inst_class, c.class_value, c.class_value AS cls, '__init__' AS want, NULL AS fallback,
           'invoke' AS out_kind, 'value_flow_constructor' AS bind_how
    FROM classes AS c WHERE c.tkind IN ('callee', 'raise') AND c.class_value IS NOT NULL
    UNION ALL
    -- instantiation calls __new__ first (with the class, not an instance; what it returns is
    -- the call's value) when a repository class on the MRO defines it
    SELECT c.tkind, c.node, c.site, c.target, c.attr, c.slot, c.self_value, c.how, c.value, c.inst_class, c.class_value, c.class_value AS cls, '__new__' AS want, NULL AS fallback,
           'invoke' AS out_kind, 'value_flow_constructor' AS bind_how
    FROM classes AS c WHERE c.tkind IN ('callee', 'raise') AND c.class_value IS NOT NULL
    UNION ALL
    SELECT c.tkind, c.node, c.site, c.target, c.attr, c.slot, c.self_value, c.how, c.value, c.inst_class, c.class_value, c.inst_class AS cls,
           CASE
               WHEN c.tkind = 'callee' THEN '__call__'
               WHEN c.tkind = 'iter' AND c.slot = 1 THEN
                   CASE WHEN c.attr = 'async' THEN '__aiter__' ELSE '__iter__' END
               WHEN c.tkind = 'iter' THEN CASE WHEN c.attr = 'async' THEN '__anext__' ELSE '__next__' END
               WHEN c.tkind = 'getitem' THEN '__getitem__'
               WHEN c.tkind = 'setitem' THEN '__setitem__'
               WHEN c.tkind = 'operator' THEN c.attr
           END AS want,
           CASE WHEN c.tkind = 'operator' AND c.attr LIKE '\_\_i%' ESCAPE '\'
                THEN '__' || substr(c.attr, 4) END AS fallback,
           'invoke' AS out_kind, 'value_flow_dunder' AS bind_how
    FROM classes AS c
    WHERE c.inst_class IS NOT NULL AND c.tkind IN ('callee', 'iter', 'getitem', 'setitem', 'operator')
    UNION ALL
    SELECT c.tkind, c.node, c.site, c.target, c.attr, c.slot, c.self_value, c.how, c.value, c.inst_class, c.class_value, c.inst_class AS cls,
           CASE WHEN c.attr = 'async' THEN w.async_name ELSE w.sync_name END AS want,
           NULL AS fallback, 'invoke' AS out_kind, 'value_flow_dunder' AS bind_how
    FROM classes AS c
    CROSS JOIN (VALUES ('__enter__', '__aenter__'), ('__exit__', '__aexit__')) AS w(sync_name, async_name)
    WHERE c.inst_class IS NOT NULL AND c.tkind = 'with'
),
hits AS (
    SELECT r.tkind, r.node, r.site, r.target, r.attr, r.slot, r.self_value, r.how, r.value,
           r.inst_class, r.class_value, r.cls, r.want, r.fallback, r.out_kind, r.bind_how,
           m.node AS member,
           row_number() OVER (
               PARTITION BY r.tkind, r.node, r.site, r.target, r.attr, r.slot, r.value, r.want
               ORDER BY CASE WHEN m.name = r.want THEN 0 ELSE 1 END, o.depth
           ) AS rn
    FROM reqs AS r
    JOIN idx_class_mro AS o ON o.class_id = r.cls
    JOIN flow_class_attrs AS m ON m.class_id = o.ancestor_id AND m.name IN (r.want, r.fallback)
),
supers AS (
    SELECT f.target, f.attr, substr(f.value, 7, strpos(f.value, '|') - 7) AS after_cls,
           substr(f.value, strpos(f.value, '|') + 1) AS self_value
    FROM f
    WHERE f.tkind = 'load' AND f.value LIKE 'super:%'
),
super_hits AS (
    SELECT s.target, s.self_value, m.node AS member,
           row_number() OVER (PARTITION BY s.target, s.attr, s.self_value, s.after_cls
                              ORDER BY o.depth) AS rn
    FROM supers AS s
    JOIN idx_class_mro AS me
      ON me.class_id = CASE WHEN s.self_value LIKE 'inst:%' THEN substr(s.self_value, 6)
                            ELSE s.self_value END
     AND me.ancestor_id = s.after_cls
    JOIN idx_class_mro AS o ON o.class_id = me.class_id AND o.depth > me.depth
    JOIN flow_class_attrs AS m ON m.class_id = o.ancestor_id AND m.name = s.attr
),
builtin_calls AS (
    SELECT f.site,
           CASE WHEN f.value LIKE 'builtin:%' THEN substr(f.value, 9) ELSE substr(f.value, 20) END AS fname
    FROM f
    WHERE f.tkind = 'callee' AND f.slot = 0
      AND (f.value LIKE 'builtin:%'
           OR f.value IN ('external:functools.partial', 'external:functools.reduce'))
),
new_rules AS (
    SELECT h.member AS node, h.out_kind AS tkind,
           CASE WHEN h.out_kind = 'invoke' THEN h.site END AS site,
           CASE
               WHEN h.out_kind = 'bind' THEN h.target
               WHEN h.tkind = 'iter' AND h.slot = 1 THEN 'iter:' || h.site
               WHEN h.tkind IN ('callee', 'iter', 'getitem', 'operator') AND h.want <> '__init__' THEN h.site
               WHEN h.tkind = 'with' AND h.want LIKE '%enter__' THEN h.site
           END AS target,
           CAST(NULL AS VARCHAR) AS attr,
           coalesce(h.slot, 0) + CASE WHEN h.want LIKE '%exit__' THEN 1 ELSE 0 END AS slot,
           CASE WHEN h.class_value IS NOT NULL AND h.out_kind = 'invoke' AND h.want <> '__new__'
                THEN 'inst:' || h.value ELSE h.value END AS self_value,
           h.bind_how AS how
    FROM hits AS h
    WHERE h.rn = 1
    UNION ALL
    SELECT member, 'bind', NULL, target, NULL, 0, self_value, 'super'
    FROM super_hits WHERE rn = 1
    UNION ALL
    -- builtins whose effect depends on another argument's values
    SELECT a.src, CASE g.fname WHEN 'getattr' THEN 'load' ELSE 'store' END, NULL,
           CASE g.fname WHEN 'getattr' THEN g.site ELSE a2.src END, a1.kw, 0, NULL, NULL
    FROM builtin_calls AS g
    JOIN args AS a ON a.site = g.site AND a.kind = 'arg' AND a.pos = 0
    JOIN args AS a1 ON a1.site = g.site AND a1.kind = 'arg_const' AND a1.pos = 1
    LEFT JOIN args AS a2 ON a2.site = g.site AND a2.kind = 'arg' AND a2.pos = 2
    WHERE g.fname = 'getattr' OR (g.fname = 'setattr' AND a2.src IS NOT NULL)
    UNION ALL
    SELECT a.src, 'iter', g.site, NULL, NULL, 2, NULL, NULL
    FROM builtin_calls AS g JOIN args AS a ON a.site = g.site AND a.kind = 'arg' AND a.pos = 0
    WHERE g.fname = 'next'
    UNION ALL
    SELECT a.src, 'type', g.site, NULL, NULL, 0, NULL, NULL
    FROM builtin_calls AS g JOIN args AS a ON a.site = g.site AND a.kind = 'arg' AND a.pos = 0
    WHERE g.fname = 'type'
    UNION ALL
    -- builtins that call a dunder of their argument's class: `len(x)` calls x's __len__
    SELECT a.src, 'operator', g.site, NULL, d.dunder, 0, NULL, NULL
    FROM builtin_calls AS g
    JOIN (VALUES ('str', '__str__'), ('repr', '__repr__'), ('len', '__len__'), ('bool', '__bool__'),
                 ('hash', '__hash__'), ('abs', '__abs__'), ('format', '__format__'),
                 ('round', '__round__'), ('int', '__int__'), ('float', '__float__'),
                 ('reversed', '__reversed__'), ('dir', '__dir__')) AS d(fname, dunder)
      ON d.fname = g.fname
    JOIN args AS a ON a.site = g.site AND a.kind = 'arg' AND a.pos = 0
    UNION ALL
    SELECT a.src, 'callee', g.site, NULL, g.fname, 100, NULL, NULL
    FROM builtin_calls AS g
    JOIN args AS a ON a.site = g.site AND a.kind = 'arg'
     AND ((g.fname IN ('map', 'filter', 'reduce') AND a.pos = 0)
          OR (g.fname IN ('sorted', 'min', 'max') AND a.kw = 'key'))
    UNION ALL
    -- super() in a method watches the method's first parameter; super(C, obj) watches obj
    SELECT coalesce(a1.src, pp.node), 'super_self', g.site, NULL, d.class_id, 0, NULL, NULL
    FROM builtin_calls AS g
    JOIN calls AS c ON c.call_id = g.site
    JOIN fdefs AS d ON d.def_id = c.def_id AND d.class_id IS NOT NULL
    LEFT JOIN flow_params AS pp ON pp.def_id = d.def_id AND pp.position = 0
    LEFT JOIN args AS a1 ON a1.site = g.site AND a1.kind = 'arg' AND a1.pos = 1
    WHERE g.fname = 'super' AND (c.n_args = 0 OR c.n_args = 2)
)
SELECT DISTINCT tkind, node, site, target, attr, slot, self_value, how FROM new_rules
