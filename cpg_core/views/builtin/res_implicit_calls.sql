-- Implicit call sites that call something (CALL nodes beside the explicit `calls`): a decorator
-- application, a `for` loop or comprehension clause (`__iter__`/`__next__`), a `with` item
-- (`__enter__`/`__exit__`), `raise C` (instantiation), an operator or subscript on an instance
-- (its dunder method), and an attribute read that calls a @property getter (the site is the
-- attribute's span). Only sites value flow resolved become nodes, so a `for` over a list is no
-- CALL. `kind` is the site's kind (`decorator`, `for`, `async_for`, `with`, `async_with`,
-- `raise`, `operator`, `getitem`, `setitem`, `property`).
-- Cross-file (whether a site calls anything depends on other files): partitioned by the site's
-- file, so its readers recompute the files whose sites changed, though it is rebuilt whole
-- whenever the value flow changed (a lookup).
-- @keys: call_id
-- @layer: resolution
-- @incremental: partition_by = path; drivers = sites, refs
WITH called AS (
    SELECT DISTINCT call_id FROM flow_calls
)
SELECT s.site_id AS call_id, s.path, s.def_id, s.kind, s.name,
       s.line, s.col, s.end_line, s.end_col, s.bstart, s.bend
FROM sites AS s
JOIN called AS c ON c.call_id = s.site_id
UNION ALL
SELECT c.call_id, r.path, r.def_id, 'property', r.attr,
       r.line, r.col, r.end_line, r.end_col, r.bstart, r.bend
FROM called AS c
JOIN refs AS r ON c.call_id = 'call:' || substr(r.ref_id, 5)
WHERE NOT EXISTS (SELECT 1 FROM sites AS s WHERE s.path = r.path AND s.site_id = c.call_id)
