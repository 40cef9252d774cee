-- Members a class body defines: methods and nested classes (the def) and other class-level
-- names (their BINDING), one row per (class, name, member). Instance attributes assigned through
-- `self.x = ...` are not members here (see docs/cpg_schema.md, known gaps).
-- @materialize: inline
-- @keys: class_id, name, member_id
-- @layer: index
SELECT DISTINCT
    s.def_id AS class_id,
    b.name,
    coalesce(v.value_id, b.binding_id) AS member_id,
    coalesce(v.value_kind, 'BINDING') AS member_kind
FROM idx_bindings AS b
JOIN scopes AS s ON s.scope_id = b.scope_id AND s.scope_kind = 'class'
LEFT JOIN res_binding_values AS v ON v.binding_id = b.binding_id AND v.method = 'definition'
