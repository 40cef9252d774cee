-- The static part of the assignment graph, ready for the fixpoint: flow_static and flow_imports
-- `edge` and `seed` rows whose target is live (flow_live, or a node the rules create, known by
-- its prefix). Rounds read this instead of the two views (and do not re-check liveness).
-- Cross-file.
-- @keys: kind, a, b
-- @layer: flow
WITH pairs AS (
    SELECT kind, a, b FROM flow_static
    UNION ALL
    SELECT kind, a, b FROM flow_imports
)
SELECT p.kind, p.a, p.b
FROM pairs AS p
LEFT JOIN flow_live AS l ON l.node = CASE WHEN p.kind = 'edge' THEN p.b ELSE p.a END
WHERE l.node IS NOT NULL
   OR strpos(CASE WHEN p.kind = 'edge' THEN p.b ELSE p.a END, '|') > 0
   OR split_part(CASE WHEN p.kind = 'edge' THEN p.b ELSE p.a END, ':', 1)
      IN ('ret', 'iter', 'gen', 'args', 'kwargs', 'res', 'pair')
