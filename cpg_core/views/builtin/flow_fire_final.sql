-- Value flow, round final: the rules that fire, semi-naively. A rule (flow_triggers, or one an
-- earlier round created: flow_dyn_final) fires once per value at its node; only pairs with
-- something new in round 9 fire: a new value at any rule's node, or a new rule with
-- any value at its node. Rules flow_spawn made fired when they were made (flow_fired), so of the
-- new rules only the `keyed` ones the rules of `f(**kw)` make are paired with older values here.
-- Cross-file. Generated from cpg_core/views/templates/flow_fire.sql.tmpl.
-- @materialize: inline
-- @keys: tkind, node, site, target, attr, slot, self_value, how, value
-- `is_container`: the value is a container or generator; `inst_class`: the class of an instance.
-- @layer: flow
WITH
rules AS (
    SELECT tkind, node, site, target, attr, slot, CAST(NULL AS VARCHAR) AS self_value,
           CAST(NULL AS VARCHAR) AS how
    FROM flow_triggers
    UNION ALL
    SELECT tkind, node, site, target, attr, slot, self_value, how FROM flow_dyn_final
),
pairs AS (
    SELECT t.tkind, t.node, t.site, t.target, t.attr, t.slot, t.self_value, t.how, v.value
    FROM rules AS t
    JOIN flow_round_9 AS v ON v.node = t.node AND v.kind = 'pts'
    UNION ALL
    SELECT t.tkind, t.node, t.site, t.target, t.attr, t.slot, t.self_value, t.how, v.value
    FROM flow_dyn_final AS t
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
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_6
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_7
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_8
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_9
    ) AS v ON v.node = t.node AND v.kind = 'pts'
    WHERE t.round = 9 AND t.tkind = 'keyed'
)
SELECT DISTINCT tkind, node, site, target, attr, slot, self_value, how, value,
       split_part(value, ':', 1) IN ('expr', 'gen', 'args', 'kwargs', 'res', 'pair') AS is_container,
       CASE WHEN value LIKE 'inst:%' THEN substr(value, 6) END AS inst_class
FROM pairs
