-- Value flow, round 0: the points-to facts the static assignment graph gives (flow_edges:
-- `seed` rows, closed under `edge` rows by a recursive CTE). Rounds 1.. add what
-- calls, attribute lookups and the other rules of flow_dyn_N make reachable.
-- Cross-file (imports connect the files).
-- @keys: kind, node, value
-- @layer: flow
WITH RECURSIVE
edges AS (
    SELECT a AS src, b AS dst FROM flow_edges WHERE kind = 'edge'
),
closure(node, value) AS (
    SELECT a, b FROM flow_edges WHERE kind = 'seed'
    UNION
    SELECT e.dst, c.value
    FROM closure AS c
    JOIN edges AS e ON e.src = c.node
)
SELECT 'pts' AS kind, node, value, 0 AS round FROM closure
