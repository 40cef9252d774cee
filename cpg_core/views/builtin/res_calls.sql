-- Call resolution: every candidate target of every call site, ranked, keeping the best per call.
--   the callee reference's own target (res_ref_targets): a function, a class (instantiation), a
--   builtin or an EXTERNAL name, with that reference's method and confidence
--   name_only   `x.m(...)` whose receiver is unknown (a local variable, an expression): every
--               repository method named m is a candidate; confidence 0.3 / their number and
--               ambiguity_count = their number (the first by qualified name is kept); with
--               more than 5 such methods (`close`, `append`) the name says too little: no edge
-- Targets that are not callable definitions (modules, plain variables) are not call targets.
-- Calls with no candidate have no row (see the unresolved-calls query in docs/cpg_schema.md).
-- @keys: call_id
-- @layer: resolution
WITH by_ref AS (
    SELECT c.call_id, t.target_id, t.target_kind, t.resolution_method, t.confidence, t.ambiguity_count
    FROM calls AS c
    JOIN res_ref_targets AS t ON t.ref_id = c.callee_ref_id
    WHERE t.target_kind IN ('FUNCTION', 'CLASS', 'LAMBDA', 'BUILTIN', 'EXTERNAL')
),
methods_by_name AS (
    SELECT name, def_id, count(*) OVER (PARTITION BY name) AS n,
           row_number() OVER (PARTITION BY name ORDER BY fqname, def_id) AS rn
    FROM defs
    WHERE is_method AND kind IN ('function', 'async_function')
),
by_name AS (
    SELECT c.call_id, m.def_id AS target_id, 'FUNCTION' AS target_kind,
           'name_only' AS resolution_method, 0.3 / CAST(m.n AS DOUBLE) AS confidence,
           m.n AS ambiguity_count
    FROM calls AS c
    JOIN methods_by_name AS m ON m.name = c.callee_name AND m.rn = 1
    LEFT JOIN by_ref AS r ON r.call_id = c.call_id
    WHERE c.callee_kind = 'attribute' AND r.call_id IS NULL AND m.n <= 5
),
candidates AS (
    SELECT * FROM by_ref
    UNION ALL
    SELECT * FROM by_name
),
ranked AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.call_id ORDER BY c.confidence DESC, c.target_id) AS rn
    FROM candidates AS c
)
SELECT
    r.call_id,
    k.def_id AS caller_id,
    r.target_id,
    r.target_kind,
    r.resolution_method,
    r.confidence,
    CAST(r.ambiguity_count AS BIGINT) AS ambiguity_count
FROM ranked AS r
JOIN calls AS k ON k.call_id = r.call_id
WHERE r.rn = 1
