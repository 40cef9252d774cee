-- Parameters as nodes of the assignment graph: every parameter of a function or lambda with the
-- BINDING it binds in the function's scope (private names are mangled as Python does, so the
-- binding is found through res_symbol_bindings), its kind and position.
-- Per file.
-- @keys: def_id, position
-- @layer: flow
SELECT p.def_id, p.param_id, s.resolved_id AS node, p.name, p.kind, p.position
FROM params AS p
JOIN res_symbol_bindings AS s ON s.scope_id = p.scope_id AND s.name = p.name
WHERE s.resolved_kind = 'BINDING'
