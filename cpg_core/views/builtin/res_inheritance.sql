-- Inheritance: each class's bases, in the order written, resolved like any other name or chain.
-- A base expression is matched to the reference extraction recorded for it: a load of the same
-- name/chain text in the scope enclosing the class, between the class name and the end of the
-- class statement (`Generic[T]` is matched by `Generic`). Keyword arguments (`metaclass=M`) are
-- not bases. Bases that resolve to no CLASS, EXTERNAL or BUILTIN (a call, a parameter) are left
-- out.
-- @keys: class_id, base_ref_id
-- @layer: resolution
-- @incremental: partition_by = path; drivers = none
WITH bases AS (
    SELECT d.def_id AS class_id, d.path, d.outer_scope_id, d.name_bend, d.bend,
           split_part(unnest(d.bases), '[', 1) AS base_text
    FROM defs AS d
    WHERE d.kind = 'class'
),
base_refs AS (
    SELECT DISTINCT b.class_id, r.ref_id AS base_ref_id, r.bstart, b.base_text, b.path
    FROM bases AS b
    JOIN refs AS r
      ON r.path = b.path AND r.scope_id = b.outer_scope_id AND r.chain = b.base_text
     AND r.ctx = 'load' AND r.ref_kind IN ('name', 'chain')
    WHERE r.bstart >= b.name_bend AND r.bend <= b.bend
)
SELECT
    br.class_id,
    br.base_ref_id,
    br.base_text,
    row_number() OVER (PARTITION BY br.class_id ORDER BY br.bstart) - 1 AS base_position,
    v.target_id AS base_id,
    v.target_kind AS base_kind,
    v.method,
    v.confidence,
    br.path
FROM base_refs AS br
JOIN res_value_refs AS v ON v.ref_id = br.base_ref_id AND v.candidate_no = 1
WHERE v.target_kind IN ('CLASS', 'EXTERNAL', 'BUILTIN')
