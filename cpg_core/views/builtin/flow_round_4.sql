-- Value flow, round 4: what round 4 adds to flow_round_0..3 (points-to facts
-- `pts`: node may hold value; rule-made `edge`s and `trigger`s; `call`s found; `sat`urated
-- nodes), from what flow_rules_4 made. Each round keeps only its own rows (flow_pts unions
-- the points-to facts of all of them).
-- New points-to facts are the rules' seeds and one step along their new edges from known
-- facts; a recursive CTE then follows every edge (flow_graph_4) from the
-- new facts only. `round` is when a row first appeared.
-- Saturation: a round adds at most 8 values to a node (the first by value id; also per step
-- of the recursion), and a node a round gave 8 values (`sat` rows) takes no new ones: a
-- hub everything flows through (an identity decorator applied to a thousand functions, `self`
-- of a base class with hundreds of subclasses) keeps the analysis linear in the program's size
-- instead of quadratic (docs/cpg_schema.md, "Saturation").
-- Cross-file. Generated from cpg_core/views/templates/flow_round.sql.tmpl.
-- DataFusion plans a CTE once per reference: the closure and every anti-join against earlier
-- rounds are referenced once (the `sat` rows come from the same scan as the `pts` rows).
-- @keys: kind, node, value
-- @layer: flow
WITH RECURSIVE
prev AS (
    SELECT kind, node, value FROM (
        SELECT kind, node, value, round FROM flow_round_0
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_1
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_2
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_3
    ) AS rows
),
p AS (
    SELECT node, value FROM prev WHERE kind = 'pts'
),
sat AS (
    SELECT node FROM prev WHERE kind = 'sat'
),
added AS (
    SELECT DISTINCT n.kind, n.node, n.value
    FROM flow_rules_4 AS n
    LEFT JOIN prev AS o ON o.kind = n.kind AND o.node = n.node AND o.value = n.value
    WHERE n.kind IN ('edge', 'trigger', 'call') AND o.node IS NULL
),
start AS (
    SELECT node, value FROM flow_rules_4 WHERE kind = 'seed'
    UNION ALL
    SELECT e.value AS node, v.value AS value FROM flow_rules_4 AS e JOIN p AS v ON v.node = e.node
    WHERE e.kind = 'edge'
),
fresh AS (
    SELECT node, value
    FROM (
        SELECT s.node, s.value, row_number() OVER (PARTITION BY s.node ORDER BY s.value) AS rn
        FROM (SELECT DISTINCT node, value FROM start) AS s
        LEFT JOIN p AS q ON q.node = s.node AND q.value = s.value
        LEFT JOIN sat AS x ON x.node = s.node
        WHERE q.node IS NULL AND x.node IS NULL
    ) AS ranked
    WHERE rn <= 8
),
closure(node, value) AS (
    SELECT arrow_cast(node, 'Utf8'), arrow_cast(value, 'Utf8') FROM fresh
    UNION
    SELECT arrow_cast(dst, 'Utf8'), arrow_cast(value, 'Utf8')
    FROM (
        SELECT e.dst, c.value, row_number() OVER (PARTITION BY e.dst ORDER BY c.value) AS rn
        FROM closure AS c
        JOIN flow_graph_4 AS e ON e.src = c.node
    ) AS step
    WHERE rn <= 8
),
-- facts the closure re-derived are dropped once, here (an anti-join in the recursive term would
-- hash every known fact again on each iteration)
found AS (
    SELECT node, value, rn, count(*) OVER (PARTITION BY node) AS n_new
    FROM (
        SELECT c.node, c.value, row_number() OVER (PARTITION BY c.node ORDER BY c.value) AS rn
        FROM closure AS c
        LEFT JOIN p AS q ON q.node = c.node AND q.value = c.value
        WHERE q.node IS NULL
    ) AS ranked
)
SELECT kind, node, value, 4 AS round FROM added
UNION ALL
-- each new fact, and once per node (`sat`) when this round gave it 8 values or more
SELECT kind, node, CASE WHEN kind = 'pts' THEN value ELSE '' END AS value, 4 AS round
FROM (
    SELECT node, value,
           unnest(CASE WHEN rn = 1 AND n_new >= 8 THEN make_array('pts', 'sat')
                       ELSE make_array('pts') END) AS kind
    FROM found
    WHERE rn <= 8
) AS f
