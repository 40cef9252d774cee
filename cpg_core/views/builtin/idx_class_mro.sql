-- Approximate method resolution order: every repository class with itself (depth 0) and each
-- repository ancestor class (depth 1, 2, ... through res_inheritance), ordered by depth and then
-- by the written base order along the path (`mro_key`). This is a depth-first approximation of
-- C3, exact for single inheritance.
-- @materialize: inline
-- @keys: class_id, ancestor_id, mro_key
-- @layer: index
WITH RECURSIVE mro AS (
    SELECT d.def_id AS class_id, d.def_id AS ancestor_id, 0 AS depth, CAST('' AS VARCHAR) AS mro_key
    FROM defs AS d
    WHERE d.kind = 'class'
    UNION ALL
    SELECT m.class_id, i.base_id, m.depth + 1,
           m.mro_key || lpad(CAST(i.base_position AS VARCHAR), 3, '0') || '.'
    FROM mro AS m
    JOIN res_inheritance AS i ON i.class_id = m.ancestor_id AND i.base_kind = 'CLASS'
    WHERE m.depth < 30
)
SELECT class_id, ancestor_id, depth, mro_key FROM mro
