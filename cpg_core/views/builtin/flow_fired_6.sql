-- Value flow, round 6: every rule that fires with every value it fires with: the pairs of
-- flow_fire_6, and the rules flow_spawn_6 created with the values their nodes already
-- hold (a new rule fires at once, so a lookup costs no round).
-- `bound`: what a `bind` pair binds to the attribute (a bound method `bm:<function>|<self>`; a
-- staticmethod, a class or another value as is; a classmethod binds the class; a property read
-- through an instance or super() nothing: flow_inv invokes its getter). When that attribute is
-- a call's callee (`x.m()`), the callee fires with it here too, so the method is invoked in the
-- round that found it instead of the next (the value still reaches the attribute through
-- flow_round_6; firing it there again next round adds nothing new).
-- `is_container`: the value is a container or generator; `inst_class`: the class of an instance.
-- Cross-file. Generated from cpg_core/views/templates/flow_fired.sql.tmpl.
-- @materialize: inline
-- @keys: tkind, node, site, target, attr, slot, self_value, how, value
-- @layer: flow
WITH
pairs AS (
    SELECT tkind, node, site, target, attr, slot, self_value, how, value
    FROM flow_fire_6
    UNION ALL
    SELECT r.tkind, r.node, r.site, r.target, r.attr, r.slot, r.self_value, r.how, v.value
    FROM flow_spawn_6 AS r
    JOIN (
        SELECT kind, node, value, round FROM flow_round_0
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_1
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_2
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_3
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_4
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_5
    ) AS v ON v.node = r.node AND v.kind = 'pts'
),
bound AS (
    SELECT p.tkind, p.node, p.site, p.target, p.attr, p.slot, p.self_value, p.how, p.value,
           CASE
               WHEN p.tkind <> 'bind' THEN NULL
               WHEN d.kind IS NULL OR d.kind = 'class' OR d.method_kind = 'static' THEN p.value
               WHEN d.method_kind = 'property' AND p.how IN ('inst', 'super') THEN NULL
               WHEN d.method_kind = 'class' THEN
                   'bm:' || p.value || '|'
                   || CASE WHEN p.self_value LIKE 'inst:%' THEN substr(p.self_value, 6) ELSE p.self_value END
               WHEN p.how = 'class' THEN p.value
               ELSE 'bm:' || p.value || '|' || p.self_value
           END AS bound
    FROM pairs AS p
    LEFT JOIN flow_defs AS d ON d.def_id = p.value
),
fired AS (
    SELECT tkind, node, site, target, attr, slot, self_value, how, value, bound FROM bound
    UNION ALL
    SELECT t.tkind, t.node, t.site, t.target, t.attr, t.slot, CAST(NULL AS VARCHAR) AS self_value,
           CAST(NULL AS VARCHAR) AS how, b.bound AS value, CAST(NULL AS VARCHAR) AS bound
    FROM bound AS b
    JOIN flow_triggers AS t ON t.tkind = 'callee' AND t.node = b.target
    WHERE b.tkind = 'bind' AND b.bound IS NOT NULL
)
SELECT tkind, node, site, target, attr, slot, self_value, how, value, bound,
       split_part(value, ':', 1) IN ('expr', 'gen', 'args', 'kwargs', 'res', 'pair') AS is_container,
       CASE WHEN value LIKE 'inst:%' THEN substr(value, 6) END AS inst_class
FROM fired
