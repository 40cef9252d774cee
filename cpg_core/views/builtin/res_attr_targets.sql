-- Attribute references resolved through classes (RESOLVES_TO candidates beside res_value_refs):
--   self_attribute / cls_attribute  `self.m` / `cls.m` where self/cls is the first parameter of a
--        method (cls when decorated @classmethod; @staticmethod has none), also read from a closure
--        inside the method: m is looked up in the method's class and then its bases (idx_class_mro)
--   super          `super().m` inside a method: m looked up in the bases only (depth >= 1)
--   class_attribute  `C.m` where C is a repository class and m is not a def of C's body: m is
--        looked up in C's class-level names and then its bases
--   constructor_receiver  `C(...).m`: m looked up in class C
--   cls_receiver  a bare `cls` in a classmethod denotes its class (so `cls(...)` calls it)
-- The nearest definition wins (lowest depth, then written base order). Confidence 0.85 when the
-- class itself defines the member, 0.8 when a base does (0.85 for super), 0.6 for a constructor
-- receiver, 0.7 for cls_receiver. Only the first attribute after the receiver is resolved (`self.a.b` is not).
-- @materialize: inline
-- @keys: ref_id
-- @layer: resolution
WITH receivers AS (
    -- the first parameter of every method that has one, as the binding it is
    SELECT 'symbol:' || substr(p.scope_id, 7) || '#' || p.name AS binding_id,
           d.parent_def_id AS class_id,
           CASE WHEN array_to_string(d.decorators, ',') LIKE '%classmethod%' THEN 'cls_attribute'
                ELSE 'self_attribute' END AS method
    FROM params AS p
    JOIN defs AS d ON d.def_id = p.def_id
    WHERE p.position = 0 AND d.is_method AND p.kind IN ('posonly', 'positional')
      AND array_to_string(d.decorators, ',') NOT LIKE '%staticmethod%'
),
self_requests AS (
    SELECT r.ref_id, rc.class_id, r.attr, 0 AS min_depth, rc.method
    FROM res_ref_bindings AS r
    JOIN receivers AS rc ON rc.binding_id = r.resolved_id
    WHERE r.ref_kind = 'chain' AND r.n_parts = 2
),
super_requests AS (
    SELECT c.callee_ref_id AS ref_id, d.parent_def_id AS class_id, c.callee_name AS attr,
           1 AS min_depth, 'super' AS method
    FROM calls AS c
    JOIN defs AS d ON d.def_id = c.def_id AND d.is_method
    WHERE c.callee_kind = 'attribute' AND c.receiver_call = 'super' AND c.callee_ref_id IS NOT NULL
),
class_requests AS (
    SELECT v.ref_id, d.target_id AS class_id, r.attr, 0 AS min_depth, 'class_attribute' AS method
    FROM res_value_refs AS v
    JOIN res_ref_bindings AS r ON r.ref_id = v.ref_id
    JOIN idx_dotted AS d ON d.fq = v.parent_fq AND d.target_kind = 'CLASS'
    WHERE v.target_id IS NULL
),
constructor_requests AS (
    -- `C(args).m(...)`: the outer call's callee ref starts where the inner call `C(args)` starts
    SELECT outer_call.callee_ref_id AS ref_id, v.target_id AS class_id, outer_call.callee_name AS attr,
           0 AS min_depth, 'constructor_receiver' AS method
    FROM calls AS outer_call
    JOIN refs AS callee ON callee.ref_id = outer_call.callee_ref_id
    JOIN calls AS inner_call
      ON inner_call.path = callee.path AND inner_call.bstart = callee.bstart
     AND inner_call.callee_text = outer_call.receiver_call AND inner_call.bend < callee.bend
    JOIN res_value_refs AS v
      ON v.ref_id = inner_call.callee_ref_id AND v.candidate_no = 1 AND v.target_kind = 'CLASS'
    WHERE outer_call.callee_kind = 'attribute' AND outer_call.receiver_call IS NOT NULL
      AND outer_call.receiver_call <> 'super'
),
-- `cls` itself (a bare name, e.g. `cls(...)` in a classmethod) denotes the method's class
cls_names AS (
    SELECT r.ref_id, rc.class_id AS target_id, 'CLASS' AS target_kind, 'cls_receiver' AS method,
           0.7 AS confidence, 0 AS mro_depth, 1 AS candidates
    FROM res_ref_bindings AS r
    JOIN receivers AS rc ON rc.binding_id = r.resolved_id AND rc.method = 'cls_attribute'
    WHERE r.ref_kind = 'name' AND r.access = 'read'
),
requests AS (
    SELECT * FROM self_requests
    UNION ALL SELECT * FROM super_requests
    UNION ALL SELECT * FROM class_requests
    UNION ALL SELECT * FROM constructor_requests
),
found AS (
    SELECT q.ref_id, q.method, m.member_id, m.member_kind, o.depth,
           row_number() OVER (PARTITION BY q.ref_id ORDER BY o.depth, m.member_id) AS rn,
           count(*) OVER (PARTITION BY q.ref_id, o.depth) AS same_level
    FROM requests AS q
    JOIN idx_class_mro AS o ON o.class_id = q.class_id AND o.depth >= q.min_depth
    JOIN idx_class_members AS m ON m.class_id = o.ancestor_id AND m.name = q.attr
)
SELECT
    f.ref_id,
    f.member_id AS target_id,
    f.member_kind AS target_kind,
    f.method,
    CASE
        WHEN f.method = 'constructor_receiver' THEN 0.6
        WHEN f.method = 'super' THEN 0.85
        WHEN f.depth = 0 THEN 0.85
        ELSE 0.8
    END / CAST(f.same_level AS DOUBLE) AS confidence,
    f.depth AS mro_depth,
    f.same_level AS candidates
FROM found AS f
WHERE f.rn = 1
UNION ALL
SELECT ref_id, target_id, target_kind, method, confidence, mro_depth, candidates
FROM cls_names
