-- The builtin type of each container the analysis allocates: a display or comprehension
-- (`[...]` list, `(...)` tuple, `{...}` set or dict, generator expressions), the result of
-- list(), tuple(), set(), frozenset(), dict(), sorted() (`res:<call>`), `*args` (tuple) and
-- `**kwargs` (dict). Calls of their methods are CALLS to `builtins.<type>.<method>`.
-- Per file.
-- @keys: container
-- @layer: flow
SELECT node AS container, name AS type
FROM flow_facts
WHERE kind = 'container' AND name IN ('list', 'tuple', 'set', 'dict')
UNION ALL
SELECT 'res:' || call_id,
       CASE callee_name WHEN 'sorted' THEN 'list' ELSE callee_name END
FROM calls
WHERE callee_kind = 'name' AND callee_name IN ('list', 'tuple', 'set', 'frozenset', 'dict', 'sorted')
UNION ALL
SELECT 'args:' || def_id, 'tuple' FROM flow_params WHERE kind = 'vararg'
UNION ALL
SELECT 'kwargs:' || def_id, 'dict' FROM flow_params WHERE kind = 'kwarg'
