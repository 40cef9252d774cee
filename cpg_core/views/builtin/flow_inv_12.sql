-- Value flow, round 12: the invocations the fired rules make (flow_fired_12): (call site, argument slot, function, bound self or
-- NULL, node that gets the return value or NULL, rule, builtin calling it back or NULL).
--   a function or lambda at a callee (`value_flow`; `value_flow_callback` for map, filter,
--   sorted... calling their function argument); a bound method with its self
--   (`value_flow_method`); an `invoke` rule's function (`value_flow_constructor` for __init__,
--   `value_flow_dunder` for __call__, __iter__, __next__, __enter__, __exit__, operators,
--   __getitem__, __setitem__); a property getter read through an instance (`value_flow_dunder`,
--   its site is the attribute reference's span)
-- Cross-file. Generated from cpg_core/views/templates/flow_inv.sql.tmpl.
-- @materialize: inline
-- @keys: site, slot, fn, self_value, result, how, cb
-- @layer: flow
WITH
f AS (
    SELECT tkind, node, site, target, attr, slot, self_value, how, value, is_container, inst_class
    FROM flow_fired_12
),
fdefs AS (
    SELECT def_id, kind, class_id, method_kind FROM flow_defs
)
    SELECT DISTINCT site, slot, fn, self_value, result, how, cb,
           CASE WHEN self_value IS NULL THEN 0 ELSE 1 END AS shift
    FROM (
        SELECT f.site, f.slot, f.value AS fn, CAST(NULL AS VARCHAR) AS self_value,
               CASE WHEN f.slot = 100 THEN NULL ELSE f.site END AS result,
               CASE WHEN f.slot = 100 THEN 'value_flow_callback' ELSE 'value_flow' END AS how,
               f.attr AS cb
        FROM f JOIN fdefs AS d ON d.def_id = f.value AND d.kind <> 'class'
        WHERE f.tkind = 'callee'
        UNION ALL
        SELECT f.site, f.slot, split_part(substr(f.value, 4), '|', 1),
               substr(f.value, strpos(f.value, '|') + 1),
               CASE WHEN f.slot = 100 THEN NULL ELSE f.site END,
               CASE WHEN f.slot = 100 THEN 'value_flow_callback' ELSE 'value_flow_method' END,
               f.attr
        FROM f WHERE f.tkind = 'callee' AND f.value LIKE 'bm:%'
        UNION ALL
        SELECT f.site, f.slot, f.value, f.self_value, f.target, f.how, NULL
        FROM f JOIN fdefs AS d ON d.def_id = f.value AND d.kind IN ('function', 'async_function', 'lambda')
        WHERE f.tkind = 'invoke'
        UNION ALL
        -- a property read invokes the getter; the call site is the attribute's span
        SELECT 'call:' || substr(f.target, 5), 0, f.value, f.self_value, f.target,
               'value_flow_dunder', NULL
        FROM f JOIN fdefs AS d ON d.def_id = f.value AND d.method_kind = 'property'
        WHERE f.tkind = 'bind' AND f.how IN ('inst', 'super') AND f.target LIKE 'ref:%'
    ) AS u
