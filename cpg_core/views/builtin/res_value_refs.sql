-- What a name or dotted chain denotes (RESOLVES_TO candidates), from the binding it uses:
--   name   `f`      the value of f's binding (res_binding_values: a def or an import target), a
--                   builtin, or EXTERNAL for a name only an external `from m import *` provides
--   chain  `m.f`    the root's value gives a qualified name (module `pkg.m` -> `pkg.m.f`, class
--                   `pkg.C` -> `pkg.C.f`, EXTERNAL `os` -> `os.path.join`) looked up in idx_dotted;
--                   a name rooted outside the repository becomes EXTERNAL `<qualified name>`; a
--                   name not found under a repository class is left to res_attr_targets (inherited
--                   members), with its parent's qualified name in parent_fq
-- Confidence of a name: 0.95 lexical binding to a def or a builtin, 0.9 through an import, 0.5 an
-- import the repository does not provide, 0.4 a name only an external star import provides. Of a
-- chain: 0.9 a qualified name found in the repository, 0.8 one outside it, 0.5 one the
-- repository lacks. Both x0.75 through a repository star import and /n_values when the binding
-- holds several values. Rows with a NULL target are misses (kept for res_attr_targets).
-- @keys: ref_id, candidate_no
-- @layer: resolution
WITH occ AS (
    SELECT * FROM res_ref_bindings
    WHERE access IN ('read', 'update') AND ref_kind IN ('name', 'chain')
),
-- every value the occurrence's root name may hold, with the qualified name of that value
roots AS (
    SELECT o.ref_id, o.ref_kind, o.chain, o.attr, o.name, o.n_parts, o.method AS scope_method,
           v.value_id, v.value_kind, v.value_fq, v.method AS value_method, v.n_values
    FROM occ AS o
    JOIN res_binding_values AS v ON v.binding_id = o.resolved_id
    WHERE o.resolved_kind = 'BINDING'
    UNION ALL
    SELECT o.ref_id, o.ref_kind, o.chain, o.attr, o.name, o.n_parts, o.method,
           o.resolved_id, o.resolved_kind,
           CASE WHEN o.resolved_kind = 'BUILTIN' THEN 'builtins.' || o.name
                ELSE substr(o.resolved_id, 10) END,
           o.method AS root_method, 1
    FROM occ AS o
    WHERE o.resolved_kind IN ('BUILTIN', 'EXTERNAL')
),
root_confidence AS (
    SELECT r.*,
           CASE
               WHEN r.value_method = 'builtin' THEN 0.95
               WHEN r.value_method = 'star_import_external' THEN 0.4
               WHEN r.value_method = 'import_missing' THEN 0.5
               WHEN r.value_method = 'definition' THEN 0.95
               ELSE 0.9
           END * CASE WHEN r.scope_method = 'star_import' THEN 0.75 ELSE 1.0 END
             / CAST(r.n_values AS DOUBLE) AS root_confidence,
           CASE WHEN r.scope_method = 'star_import' THEN 0.75 ELSE 1.0 END
             / CAST(r.n_values AS DOUBLE) AS root_factor
    FROM roots AS r
),
names AS (
    SELECT ref_id, value_id AS target_id, value_kind AS target_kind,
           CASE WHEN value_method IN ('builtin', 'definition') THEN 'name_' || value_method
                WHEN value_method LIKE 'import%' THEN 'name_' || value_method
                ELSE 'name_' || scope_method END AS method,
           root_confidence AS confidence, CAST(NULL AS VARCHAR) AS full_fq,
           CAST(NULL AS VARCHAR) AS parent_fq, n_values AS candidates
    FROM root_confidence
    WHERE ref_kind = 'name'
),
chains AS (
    SELECT r.ref_id, r.value_kind, r.root_factor, r.n_values,
           r.value_fq || substr(r.chain, length(r.name) + 1) AS full_fq,
           r.value_fq || substr(r.chain, length(r.name) + 1, length(r.chain) - length(r.name) - length(r.attr) - 1) AS parent_fq
    FROM root_confidence AS r
    WHERE r.ref_kind = 'chain' AND r.value_kind IN ('MODULE', 'CLASS', 'EXTERNAL', 'BUILTIN')
),
chain_targets AS (
    SELECT
        c.ref_id,
        CASE
            WHEN d.target_id IS NOT NULL THEN d.target_id
            WHEN c.value_kind IN ('EXTERNAL', 'BUILTIN') OR m.module_id IS NULL THEN 'external:' || c.full_fq
        END AS target_id,
        CASE
            WHEN d.target_id IS NOT NULL THEN d.target_kind
            WHEN c.value_kind IN ('EXTERNAL', 'BUILTIN') OR m.module_id IS NULL THEN 'EXTERNAL'
        END AS target_kind,
        CASE
            WHEN d.target_id IS NOT NULL AND d.method IN ('external', 'missing') THEN 'qualified_' || d.method
            WHEN d.target_id IS NOT NULL THEN 'qualified'
            WHEN c.value_kind IN ('EXTERNAL', 'BUILTIN') OR m.module_id IS NULL THEN 'qualified_external'
            ELSE 'qualified_miss'
        END AS method,
        c.root_factor * CASE
            WHEN d.target_id IS NOT NULL AND d.method = 'missing' THEN 0.5
            WHEN d.target_id IS NOT NULL AND d.method <> 'external' THEN 0.9
            ELSE 0.8
        END AS confidence,
        c.full_fq,
        c.parent_fq,
        c.n_values AS candidates
    FROM chains AS c
    LEFT JOIN idx_dotted AS d ON d.fq = c.full_fq
    LEFT JOIN idx_modules AS m ON m.module = split_part(c.full_fq, '.', 1) AND m.name_rank = 1
),
all_candidates AS (
    SELECT * FROM names
    UNION ALL
    SELECT * FROM chain_targets
)
SELECT
    a.*,
    row_number() OVER (PARTITION BY a.ref_id ORDER BY a.confidence DESC, a.target_id, a.full_fq) AS candidate_no
FROM all_candidates AS a
