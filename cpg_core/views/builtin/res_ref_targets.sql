-- The best RESOLVES_TO target of every reference that has one: the candidates of
-- res_value_refs (names, qualified chains) and res_attr_targets (attributes through classes),
-- highest confidence first, ties broken by target id. `ambiguity_count` is how many candidates
-- share the winning confidence (1 = unambiguous).
-- @keys: ref_id
-- @layer: resolution
-- @incremental: partition_by = path; drivers = none
WITH candidates AS (
    SELECT ref_id, target_id, target_kind, method, confidence, candidates
    FROM res_value_refs
    WHERE target_id IS NOT NULL
    UNION ALL
    SELECT ref_id, target_id, target_kind, method, confidence, candidates
    FROM res_attr_targets
),
ranked AS (
    SELECT c.*,
           row_number() OVER (PARTITION BY c.ref_id ORDER BY c.confidence DESC, c.target_id) AS rn,
           max(c.confidence) OVER (PARTITION BY c.ref_id) AS best_confidence
    FROM candidates AS c
),
ties AS (
    SELECT ref_id, count(*) AS n_top
    FROM ranked
    WHERE confidence = best_confidence
    GROUP BY ref_id
)
SELECT
    r.ref_id,
    r.target_id,
    r.target_kind,
    r.method AS resolution_method,
    r.confidence,
    CAST(greatest(t.n_top, r.candidates) AS BIGINT) AS ambiguity_count,
    f.path
FROM ranked AS r
JOIN ties AS t ON t.ref_id = r.ref_id
JOIN refs AS f ON f.ref_id = r.ref_id
WHERE r.rn = 1
