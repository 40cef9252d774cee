-- Scope ancestry: every scope paired with itself (depth 0) and each enclosing scope (depth 1, 2,
-- ...) up to its module, with the enclosing scope's kind (module, class, function, lambda,
-- comprehension). Name resolution walks this to find enclosing function scopes.
-- @materialize: inline
-- @keys: scope_id, ancestor_scope_id
-- @layer: index
WITH RECURSIVE ancestry AS (
    SELECT s.scope_id, s.scope_id AS ancestor_scope_id, s.parent_scope_id AS next_scope_id, 0 AS depth
    FROM scopes AS s
    UNION ALL
    SELECT a.scope_id, p.scope_id, p.parent_scope_id, a.depth + 1
    FROM ancestry AS a
    JOIN scopes AS p ON p.scope_id = a.next_scope_id
    WHERE a.depth < 200
)
SELECT a.scope_id, a.ancestor_scope_id, a.depth, s.scope_kind AS ancestor_kind, s.def_id AS ancestor_def_id
FROM ancestry AS a
JOIN scopes AS s ON s.scope_id = a.ancestor_scope_id
