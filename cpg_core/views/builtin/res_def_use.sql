-- Position-based def-use (not data-flow analysis): links each definition of a binding to the
-- uses that may see it, by source position only.
--   definitions  an assignment/augmented/`except as`/`case` target (REFERENCE), a PARAMETER, an
--                IMPORT, or a `def`/`class` statement (its FUNCTION/CLASS node)
--   uses         every read of the binding (REFERENCE, including the read half of `x += 1`)
--   position_same_scope   a use in the binding's own scope sees the nearest definition before it
--                         in that scope (confidence 0.8). Loops, branches and `del` are ignored.
--   position_other_scope  a use in another scope (a closure, a function reading a global) or in
--                         a comprehension (whose target is written after its element) sees every
--                         definition of the binding (confidence 0.5 / number of definitions).
-- Stored and partitioned by the use's file (`path`): a use reads the definitions of its binding
-- (idx_definitions) and the binding itself (idx_bindings), both partitioned by the binding's
-- file, which is another file through a star import; `dependencies` lists, per file, the files
-- its names resolve into (res_ref_bindings.resolved_path), so a changed binding's file
-- recomputes the files using it.
-- @keys: def_node_id, use_ref_id
-- @layer: resolution
-- @incremental: partition_by = path; drivers = res_ref_bindings; dependencies = res_ref_bindings.resolved_path
WITH uses AS (
    SELECT u.resolved_id AS binding_id, u.ref_id AS use_ref_id, u.scope_id, u.bstart AS pos, u.path,
           CASE WHEN u.scope_id = b.scope_id AND b.scope_kind <> 'comprehension'
                THEN 'position_same_scope' ELSE 'position_other_scope' END AS method
    FROM res_ref_bindings AS u
    JOIN idx_bindings AS b ON b.path = u.resolved_path AND b.binding_id = u.resolved_id
    WHERE u.access IN ('read', 'update') AND u.resolved_kind = 'BINDING'
),
same_scope AS (
    SELECT d.def_node_id, d.def_kind, u.use_ref_id, u.binding_id, u.method, 0.8 AS confidence, u.path,
           row_number() OVER (PARTITION BY u.path, u.use_ref_id ORDER BY d.pos DESC, d.def_node_id) AS rn
    FROM uses AS u
    JOIN idx_definitions AS d ON d.binding_id = u.binding_id AND d.scope_id = u.scope_id AND d.pos < u.pos
    WHERE u.method = 'position_same_scope'
),
other_scope AS (
    SELECT d.def_node_id, d.def_kind, u.use_ref_id, u.binding_id, u.method, u.path,
           0.5 / CAST(count(*) OVER (PARTITION BY u.path, u.use_ref_id) AS DOUBLE) AS confidence
    FROM uses AS u
    JOIN idx_definitions AS d ON d.binding_id = u.binding_id AND d.def_node_id <> u.use_ref_id
    WHERE u.method = 'position_other_scope'
)
SELECT def_node_id, def_kind, use_ref_id, binding_id, method AS resolution_method, confidence,
       path
FROM same_scope
WHERE rn = 1
UNION ALL
SELECT def_node_id, def_kind, use_ref_id, binding_id, method, confidence, path
FROM other_scope
