-- The result of the value-flow analysis: every value each node of the assignment graph may hold
-- (the points-to facts of all rounds, flow_round_0..9), with the round that found it.
-- Cross-file. Generated from cpg_core/views/templates/flow_pts.sql.tmpl.
-- @keys: node, value
-- @layer: flow
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
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_7
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_8
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_9
    ) AS rows WHERE kind = 'pts'
