-- What idx_class_mro's C3 state machine starts from, prepared once (a recursive term re-runs
-- the CTEs it reads on every iteration, so it reads this table instead):
--   `chain` rows   classes multiple inheritance does not touch (neither they nor a class above
--                  them has several bases): their MRO `mro`, the chain of their single bases
--   `node` rows    the state machine's members: touched classes (`n_bases` > 0, their bases in
--                  order in `base_list`), and the untouched or outside-the-repository bases of
--                  touched classes (`n_bases` 0, finished, MRO `mro`)
--   `fanout` rows  a member's state goes to itself (`pos` -1) and to each touched subclass
--                  (`pos` = the base's position): `class_id` receives from `src_id`
-- Cross-file.
-- @materialize: inline
-- @keys: kind, class_id, src_id
-- @layer: index
WITH RECURSIVE
touched(class_id) AS (
    SELECT class_id FROM res_inheritance GROUP BY class_id HAVING count(*) > 1
    UNION
    SELECT b.class_id FROM touched AS t JOIN res_inheritance AS b ON b.base_id = t.class_id
),
chain AS (
    SELECT d.def_id AS class_id, d.def_id AS ancestor_id, 0 AS depth
    FROM defs AS d
    LEFT JOIN touched AS t ON t.class_id = d.def_id
    WHERE d.kind = 'class' AND t.class_id IS NULL
    UNION ALL
    SELECT c.class_id, b.base_id, c.depth + 1
    FROM chain AS c
    JOIN res_inheritance AS b ON b.class_id = c.ancestor_id
    WHERE c.depth < 100
),
untouched AS (
    SELECT class_id, array_agg(ancestor_id ORDER BY depth) AS mro
    FROM chain
    GROUP BY class_id
),
base_lists AS (
    SELECT b.class_id, array_agg(b.base_id ORDER BY b.base_position) AS base_list,
           count(*) AS n_bases
    FROM res_inheritance AS b
    JOIN touched AS t ON t.class_id = b.class_id
    GROUP BY b.class_id
),
leaves AS (
    SELECT DISTINCT b.base_id AS class_id, coalesce(u.mro, make_array(b.base_id)) AS mro
    FROM res_inheritance AS b
    JOIN touched AS t ON t.class_id = b.class_id
    LEFT JOIN touched AS tb ON tb.class_id = b.base_id
    LEFT JOIN untouched AS u ON u.class_id = b.base_id
    WHERE tb.class_id IS NULL
)
SELECT 'chain' AS kind, class_id, arrow_cast(NULL, 'Utf8') AS src_id,
       arrow_cast(NULL, 'Int64') AS pos, arrow_cast(NULL, 'List(Utf8)') AS base_list,
       arrow_cast(0, 'Int64') AS n_bases, mro
FROM untouched
UNION ALL
SELECT 'node', class_id, NULL, NULL, base_list, arrow_cast(n_bases, 'Int64'),
       arrow_cast(NULL, 'List(Utf8)')
FROM base_lists
UNION ALL
SELECT 'node', class_id, NULL, NULL, make_array(class_id), arrow_cast(0, 'Int64'), mro
FROM leaves
UNION ALL
SELECT 'fanout', class_id, class_id AS src_id, arrow_cast(-1, 'Int64'), NULL, NULL, NULL
FROM base_lists
UNION ALL
SELECT 'fanout', class_id, class_id AS src_id, arrow_cast(-1, 'Int64'), NULL, NULL, NULL
FROM leaves
UNION ALL
SELECT 'fanout', b.class_id, b.base_id, arrow_cast(b.base_position, 'Int64'), NULL, NULL, NULL
FROM res_inheritance AS b
JOIN touched AS t ON t.class_id = b.class_id
