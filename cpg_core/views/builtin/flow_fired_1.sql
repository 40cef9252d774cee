-- Value flow, round 1: every rule that fires with every value it fires with: the pairs of
-- flow_fire_1, and the rules flow_spawn_1 created with the values their nodes already
-- hold (a new rule fires at once, so a lookup costs no round).
-- `is_container`: the value is a container or generator; `inst_class`: the class of an instance.
-- Cross-file. Generated from cpg_core/views/templates/flow_fired.sql.tmpl.
-- @materialize: inline
-- @keys: tkind, node, site, target, attr, slot, self_value, how, value
-- @layer: flow
SELECT tkind, node, site, target, attr, slot, self_value, how, value, is_container, inst_class
FROM flow_fire_1
UNION ALL
SELECT r.tkind, r.node, r.site, r.target, r.attr, r.slot, r.self_value, r.how, v.value,
       split_part(v.value, ':', 1) IN ('expr', 'gen', 'args', 'kwargs', 'res', 'pair') AS is_container,
       CASE WHEN v.value LIKE 'inst:%' THEN substr(v.value, 6) END AS inst_class
FROM flow_spawn_1 AS r
JOIN (
        SELECT kind, node, value, round FROM flow_round_0
    ) AS v ON v.node = r.node AND v.kind = 'pts'
