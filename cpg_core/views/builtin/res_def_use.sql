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
-- @materialize: inline
-- @keys: def_node_id, use_ref_id
-- @layer: resolution
WITH definitions AS (
    SELECT resolved_id AS binding_id, ref_id AS def_node_id, 'REFERENCE' AS def_kind,
           scope_id, bstart AS pos
    FROM res_ref_bindings
    WHERE access IN ('write', 'update') AND resolved_kind = 'BINDING'
    UNION ALL
    SELECT s.resolved_id, p.param_id, 'PARAMETER', p.scope_id, p.bstart
    FROM params AS p
    JOIN res_symbol_bindings AS s ON s.scope_id = p.scope_id AND s.name = p.name
    WHERE s.resolved_kind = 'BINDING'
    UNION ALL
    SELECT s.resolved_id, i.import_id, 'IMPORT', i.scope_id, i.bstart
    FROM imports AS i
    JOIN res_symbol_bindings AS s ON s.scope_id = i.scope_id AND s.name = i.bound_name
    WHERE s.resolved_kind = 'BINDING' AND NOT i.is_star
    UNION ALL
    SELECT s.resolved_id, d.def_id,
           CASE WHEN d.kind = 'class' THEN 'CLASS' ELSE 'FUNCTION' END,
           d.outer_scope_id, coalesce(d.name_bstart, d.bstart)
    FROM defs AS d
    JOIN res_symbol_bindings AS s ON s.scope_id = d.outer_scope_id AND s.name = d.name
    WHERE d.kind IN ('class', 'function', 'async_function') AND s.resolved_kind = 'BINDING'
),
uses AS (
    SELECT u.resolved_id AS binding_id, u.ref_id AS use_ref_id, u.scope_id, u.bstart AS pos,
           CASE WHEN u.scope_id = b.scope_id AND b.scope_kind <> 'comprehension'
                THEN 'position_same_scope' ELSE 'position_other_scope' END AS method
    FROM res_ref_bindings AS u
    JOIN idx_bindings AS b ON b.binding_id = u.resolved_id
    WHERE u.access IN ('read', 'update') AND u.resolved_kind = 'BINDING'
),
same_scope AS (
    SELECT d.def_node_id, d.def_kind, u.use_ref_id, u.binding_id, u.method, 0.8 AS confidence,
           row_number() OVER (PARTITION BY u.use_ref_id ORDER BY d.pos DESC, d.def_node_id) AS rn
    FROM uses AS u
    JOIN definitions AS d ON d.binding_id = u.binding_id AND d.scope_id = u.scope_id AND d.pos < u.pos
    WHERE u.method = 'position_same_scope'
),
other_scope AS (
    SELECT d.def_node_id, d.def_kind, u.use_ref_id, u.binding_id, u.method,
           0.5 / CAST(count(*) OVER (PARTITION BY u.use_ref_id) AS DOUBLE) AS confidence
    FROM uses AS u
    JOIN definitions AS d ON d.binding_id = u.binding_id AND d.def_node_id <> u.use_ref_id
    WHERE u.method = 'position_other_scope'
)
SELECT def_node_id, def_kind, use_ref_id, binding_id, method AS resolution_method, confidence
FROM same_scope
WHERE rn = 1
UNION ALL
SELECT def_node_id, def_kind, use_ref_id, binding_id, method, confidence
FROM other_scope
