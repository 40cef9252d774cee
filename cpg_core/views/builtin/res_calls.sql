-- Call resolution: the targets of every call site, explicit (`calls`) or implicit (`sites`).
--   value flow  every target the points-to analysis finds (flow_calls): a function or lambda the
--               callee may hold, a bound method looked up on the receiver's classes, a class
--               (instantiation) and the `__init__` its C3 MRO finds, dunder methods of implicit
--               calls, the function arguments builtins call, builtins and EXTERNAL names. One
--               target: confidence 0.95 (and the rule of the reference's own resolution below
--               when that found the same target, e.g. `name_definition`, `qualified`); several
--               alternatives: 0.8 each, `ambiguity_count` = their number.
--   otherwise (no value reaches the callee) the best candidate of the name rules, one edge:
--   the callee reference's own target (res_ref_targets): a function, a class, a builtin or an
--               EXTERNAL name, with that reference's method and confidence
--   name_only   `x.m(...)` whose receiver holds no value the analysis knows (a parameter nothing
--               passes, an expression it does not follow): the repository method named m, when
--               exactly one is (confidence 0.3, ambiguity_count 1); with two or more the name
--               says too little to pick one, and a wrong guess is both a false edge and a
--               missed one. A receiver whose values are known (an instance of a class without
--               m, a module, an EXTERNAL object) gets no guess.
-- Targets that are not callable definitions (modules, plain variables) are not call targets.
-- Calls with no candidate have no row (see the unresolved-calls query in docs/cpg_schema.md).
-- `path` is the call site's file: the view is rebuilt whole (its inputs are whole-program), but
-- its readers (edge_calls, cpg_edges) recompute only the files whose rows changed.
-- @keys: call_id, target_id
-- @layer: resolution
-- @incremental: partition_by = path; drivers = none
WITH sites_all AS (
    SELECT call_id, def_id, callee_ref_id, callee_kind, callee_name, path FROM calls
    UNION ALL
    SELECT call_id, def_id, CAST(NULL AS VARCHAR), 'implicit', CAST(NULL AS VARCHAR), path
    FROM res_implicit_calls
),
by_ref AS (
    SELECT c.call_id, t.target_id, t.target_kind, t.resolution_method, t.confidence, t.ambiguity_count
    FROM calls AS c
    JOIN res_ref_targets AS t ON t.ref_id = c.callee_ref_id
    WHERE t.target_kind IN ('FUNCTION', 'CLASS', 'LAMBDA', 'BUILTIN', 'EXTERNAL')
),
flow AS (
    SELECT f.call_id, f.target_id, f.target_kind,
           CASE WHEN f.alternatives = 1 AND r.target_id IS NOT NULL THEN r.resolution_method
                ELSE f.how END AS resolution_method,
           CASE WHEN f.alternatives = 1 THEN 0.95 ELSE 0.8 END AS confidence,
           f.alternatives AS ambiguity_count
    FROM flow_calls AS f
    LEFT JOIN by_ref AS r ON r.call_id = f.call_id AND r.target_id = f.target_id
),
flow_sites AS (
    SELECT DISTINCT call_id FROM flow_calls
),
-- receivers whose values the analysis knows: no guess by method name for them
known_receivers AS (
    SELECT DISTINCT f.node AS call_id
    FROM flow_facts AS f
    JOIN flow_facts AS l ON l.node = f.src AND l.kind IN ('load', 'load_root')
    JOIN flow_pts AS v ON v.node = l.src
    WHERE f.kind = 'callee'
),
methods_by_name AS (
    SELECT name, def_id, count(*) OVER (PARTITION BY name) AS n
    FROM defs
    WHERE is_method AND kind IN ('function', 'async_function')
),
by_name AS (
    SELECT c.call_id, m.def_id AS target_id, 'FUNCTION' AS target_kind,
           'name_only' AS resolution_method, 0.3 AS confidence, m.n AS ambiguity_count
    FROM calls AS c
    JOIN methods_by_name AS m ON m.name = c.callee_name
    LEFT JOIN by_ref AS r ON r.call_id = c.call_id
    LEFT JOIN known_receivers AS k ON k.call_id = c.call_id
    WHERE c.callee_kind = 'attribute' AND r.call_id IS NULL AND k.call_id IS NULL AND m.n = 1
),
guesses AS (
    SELECT g.call_id, g.target_id, g.target_kind, g.resolution_method, g.confidence,
           g.ambiguity_count,
           row_number() OVER (PARTITION BY g.call_id ORDER BY g.confidence DESC, g.target_id) AS rn
    FROM (SELECT * FROM by_ref UNION ALL SELECT * FROM by_name) AS g
    LEFT JOIN flow_sites AS s ON s.call_id = g.call_id
    WHERE s.call_id IS NULL
),
chosen AS (
    SELECT call_id, target_id, target_kind, resolution_method, confidence, ambiguity_count FROM flow
    UNION ALL
    SELECT call_id, target_id, target_kind, resolution_method, confidence, ambiguity_count
    FROM guesses WHERE rn = 1
)
SELECT
    r.call_id,
    k.def_id AS caller_id,
    r.target_id,
    r.target_kind,
    r.resolution_method,
    r.confidence,
    CAST(r.ambiguity_count AS BIGINT) AS ambiguity_count,
    k.path
FROM chosen AS r
JOIN sites_all AS k ON k.call_id = r.call_id
