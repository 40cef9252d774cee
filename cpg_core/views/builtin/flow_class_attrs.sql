-- Names a class body binds (methods, nested classes, class attributes), each as the BINDING
-- node whose values a lookup on the class or its instances reads (idx_class_mro orders the
-- classes a lookup visits).
-- Per file.
-- @keys: class_id, name
-- @layer: flow
SELECT s.def_id AS class_id, b.name, b.binding_id AS node
FROM idx_bindings AS b
JOIN scopes AS s ON s.scope_id = b.scope_id AND s.scope_kind = 'class'
