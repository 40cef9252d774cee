-- The arguments of every call site, explicit or implicit, as invocations bind them:
-- (site, slot, position or keyword, the argument's node, mode). `mode`: `value` (the argument
-- itself), `star` (`*xs`: its elements from this position on), `kwstar` (`**kw`), `const` (a
-- constant string argument of getattr/setattr/dict.get...: `kw` holds the string). `slot` tells
-- apart the calls one implicit site makes (a chained comparison's operators); a `with` site's
-- `__exit__` takes slot 1. Subscript and operator sites pass the key / right operand at
-- position 0 (a subscript store passes the value at position 1).
-- Per file.
-- @keys: site, slot, pos, kw, src, mode
-- @layer: flow
SELECT node AS site, 0 AS slot, pos, name AS kw, src,
       CASE kind WHEN 'arg' THEN 'value' WHEN 'arg_star' THEN 'star'
                 WHEN 'arg_kwstar' THEN 'kwstar' ELSE 'const' END AS mode
FROM flow_facts
WHERE kind IN ('arg', 'arg_star', 'arg_kwstar', 'arg_const')
UNION ALL
SELECT node AS site, pos AS slot, 0 AS pos, CAST(NULL AS VARCHAR) AS kw, src, 'value' AS mode
FROM flow_facts WHERE kind = 'operator_arg'
UNION ALL
SELECT node AS site, 0 AS slot, 0 AS pos, NULL AS kw, src, 'value' AS mode
FROM flow_facts WHERE kind = 'getitem_key'
UNION ALL
SELECT node AS site, 0 AS slot, 1 AS pos, NULL AS kw, src, 'value' AS mode
FROM flow_facts WHERE kind = 'setitem_value'
