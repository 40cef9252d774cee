-- Value flow, round 7: the edges the closure of flow_round_7 follows, prepared once
-- (a recursive term re-reads its inputs on every iteration): flow_edges, the rule-made edges of
-- flow_round_0..6 and of flow_rules_7, without edges into saturated nodes. An
-- edge may be listed twice: the closure's UNION drops what it repeats, which is cheaper than a
-- DISTINCT over every edge in every round.
-- Cross-file. Generated from cpg_core/views/templates/flow_graph.sql.tmpl.
-- @materialize: inline
-- @layer: flow
WITH prev AS (
    SELECT kind, node, value FROM (
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
    ) AS rows WHERE kind IN ('edge', 'sat')
),
edges AS (
    SELECT a AS src, b AS dst FROM flow_edges WHERE kind = 'edge'
    UNION ALL
    SELECT node, value FROM prev WHERE kind = 'edge'
    UNION ALL
    SELECT node, value FROM flow_rules_7 WHERE kind = 'edge'
)
SELECT arrow_cast(e.src, 'Utf8') AS src, arrow_cast(e.dst, 'Utf8') AS dst
FROM edges AS e
LEFT JOIN (SELECT node FROM prev WHERE kind = 'sat') AS x ON x.node = e.dst
WHERE x.node IS NULL
