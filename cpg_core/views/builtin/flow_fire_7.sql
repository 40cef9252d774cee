-- Value flow, round 7: the rules that fire, semi-naively. A rule (flow_triggers, or one an
-- earlier round created: `trigger` rows of flow_round_0..6) fires once per value at its
-- node; only pairs with something new in round 6 fire: a new value at any rule's node,
-- or a new rule with any value at its node.
-- Cross-file. Generated from cpg_core/views/templates/flow_fire.sql.tmpl.
-- @materialize: inline
-- @keys: tkind, node, site, target, attr, slot, self_value, how, value
-- `is_container`: the value is a container or generator; `inst_class`: the class of an instance.
-- @layer: flow
WITH
p AS (
    SELECT node, value, round FROM (
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
    ) AS prev WHERE kind = 'pts'
),
dyn AS (
    SELECT node, round,
           nullif(split_part(value, chr(31), 1), '') AS tkind,
           nullif(split_part(value, chr(31), 2), '') AS site,
           nullif(split_part(value, chr(31), 3), '') AS target,
           nullif(split_part(value, chr(31), 4), '') AS attr,
           CAST(nullif(split_part(value, chr(31), 5), '') AS INT) AS slot,
           nullif(split_part(value, chr(31), 6), '') AS self_value,
           nullif(split_part(value, chr(31), 7), '') AS how
    FROM (
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
    ) AS prev
    WHERE kind = 'trigger'
),
rules AS (
    SELECT tkind, node, site, target, attr, slot, CAST(NULL AS VARCHAR) AS self_value,
           CAST(NULL AS VARCHAR) AS how, -1 AS round
    FROM flow_triggers
    UNION ALL
    SELECT tkind, node, site, target, attr, slot, self_value, how, round FROM dyn
)
SELECT DISTINCT t.tkind, t.node, t.site, t.target, t.attr, t.slot, t.self_value, t.how, v.value,
       split_part(v.value, ':', 1) IN ('expr', 'gen', 'args', 'kwargs', 'res', 'pair') AS is_container,
       CASE WHEN v.value LIKE 'inst:%' THEN substr(v.value, 6) END AS inst_class
FROM rules AS t
JOIN p AS v ON v.node = t.node
WHERE v.round = 6 OR t.round = 6
