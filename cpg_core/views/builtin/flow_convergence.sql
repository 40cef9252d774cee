-- How the value-flow fixpoint converged: the points-to facts each round found first. The last
-- round finding none means the fixpoint was reached (more rounds would add nothing); on a repository
-- where it finds some, call targets that need more rounds of indirection are missing.
-- Cross-file. Generated from cpg_core/views/templates/flow_convergence.sql.tmpl (9
-- rounds after round 0).
-- @keys: round, kind
-- @layer: flow
SELECT round, kind, count(*) AS new_rows
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
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_7
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_8
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_9
    ) AS rows
GROUP BY round, kind
