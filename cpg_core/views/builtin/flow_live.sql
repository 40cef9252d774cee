-- Nodes of the assignment graph whose values matter: something reads them. A value is only
-- propagated into a live node (flow_edges, flow_rules_N): a call whose result is thrown away,
-- a variable nobody reads, an argument of a call that passes it on to nothing would otherwise
-- hold values for nothing (a third of all facts on the standard library).
--   read by an edge (flow_static, flow_imports), by a rule (flow_triggers; a stored value), as an argument
--   (flow_args), as a class attribute (flow_class_attrs), as a module's binding (module
--   attribute reads), as a method's first parameter (super()), or a node the rules create:
--   fields and elements (`<value>|...`), `ret:`, `iter:`, `gen:`, `args:`, `kwargs:`, `res:`,
--   `pair:` nodes (those are live by their prefix and need no row here)
-- Cross-file (import edges read other files' bindings).
-- @keys: node
-- @layer: flow
SELECT a AS node FROM flow_static WHERE kind = 'edge'
UNION
SELECT a FROM flow_imports WHERE kind = 'edge'
UNION
SELECT node FROM flow_triggers
UNION
SELECT target FROM flow_triggers WHERE tkind IN ('store', 'setitem')
UNION
SELECT src FROM flow_args
UNION
SELECT node FROM flow_class_attrs
UNION
SELECT binding_id FROM idx_bindings WHERE scope_kind = 'module'
UNION
SELECT node FROM flow_params WHERE position = 0
