-- Fully qualified names: every dotted name the repository defines, mapped to the node it denotes.
--   module          `pkg.sub.mod`               -> MODULE
--   definition      `pkg.mod.Class.method`      -> CLASS / FUNCTION (defs outside <locals>)
--   module_binding  `pkg.mod.CONSTANT`          -> BINDING (a module-level variable)
--   reexport        `pkg.Name` where pkg/__init__ does `from .mod import Thing as Name` (or
--                   `from .mod import *` and mod binds a public `Name`): the
--                   import chain is followed (up to 10 hops) to the first name that is one of the
--                   above; a chain that leaves the repository ends at EXTERNAL `external:<name>`.
-- Direct entries win over re-exports; among duplicates (a name defined twice, e.g. in both
-- branches of an `if`) the last definition in the file wins and `candidates` counts them.
-- @keys: fq
-- @layer: index
-- @entity: qualified_name
WITH RECURSIVE modules AS (
    SELECT module AS fq, module_id AS target_id, 'MODULE' AS target_kind, 'module' AS method,
           1 AS priority, 0 AS pos
    FROM idx_modules
    WHERE name_rank = 1
),
definitions AS (
    SELECT fqname AS fq, def_id AS target_id,
           CASE WHEN kind = 'class' THEN 'CLASS' ELSE 'FUNCTION' END AS target_kind,
           'definition' AS method, 2 AS priority, bstart AS pos
    FROM defs
    WHERE kind IN ('class', 'function', 'async_function') AND qualname NOT LIKE '%<locals>%'
),
module_bindings AS (
    SELECT m.module || '.' || b.name AS fq, b.binding_id AS target_id, 'BINDING' AS target_kind,
           'module_binding' AS method, 3 AS priority, 0 AS pos
    FROM idx_bindings AS b
    JOIN idx_modules AS m ON m.path = b.path AND m.name_rank = 1
    WHERE b.scope_kind = 'module' AND NOT b.is_imported AND NOT b.is_namespace
),
direct AS (
    SELECT * FROM modules
    UNION ALL SELECT * FROM definitions
    UNION ALL SELECT * FROM module_bindings
),
direct_best AS (
    SELECT fq, target_id, target_kind, method,
           count(*) OVER (PARTITION BY fq) AS candidates,
           row_number() OVER (PARTITION BY fq ORDER BY priority, pos DESC, target_id) AS rn
    FROM direct
),
-- follow aliases; stop at a direct entry, after 10 hops, or when a name repeats (import cycles)
chase AS (
    SELECT alias_fq AS start_fq, target_fq AS fq, 1 AS hops,
           '|' || alias_fq || '|' || target_fq || '|' AS visited
    FROM idx_aliases
    UNION ALL
    SELECT c.start_fq, a.target_fq, c.hops + 1, c.visited || a.target_fq || '|'
    FROM chase AS c
    JOIN idx_aliases AS a ON a.alias_fq = c.fq AND NOT a.is_direct
    WHERE c.hops < 10 AND strpos(c.visited, '|' || a.target_fq || '|') = 0
),
chase_ranked AS (
    SELECT c.start_fq, c.fq, c.hops, d.target_id, d.target_kind, d.candidates,
           row_number() OVER (
               PARTITION BY c.start_fq
               ORDER BY CASE WHEN d.target_id IS NULL THEN 1 ELSE 0 END, c.hops,
                        CASE WHEN d.target_id IS NULL THEN -c.hops ELSE 0 END, c.fq
           ) AS rn
    FROM chase AS c
    LEFT JOIN direct_best AS d ON d.fq = c.fq AND d.rn = 1
),
reexports AS (
    SELECT c.start_fq AS fq,
           coalesce(c.target_id, 'external:' || c.fq) AS target_id,
           coalesce(c.target_kind, 'EXTERNAL') AS target_kind,
           c.fq AS target_fq,
           CASE WHEN c.target_id IS NOT NULL THEN 'reexport'
                WHEN m.module_id IS NULL THEN 'external'
                ELSE 'missing' END AS method,
           coalesce(c.candidates, 1) AS candidates
    FROM chase_ranked AS c
    LEFT JOIN idx_modules AS m ON m.module = split_part(c.fq, '.', 1) AND m.name_rank = 1
    WHERE c.rn = 1
)
SELECT d.fq, d.target_id, d.target_kind, d.fq AS target_fq, d.method, d.candidates
FROM direct_best AS d
WHERE d.rn = 1
UNION ALL
SELECT r.fq, r.target_id, r.target_kind, r.target_fq, r.method, r.candidates
FROM reexports AS r
LEFT JOIN direct_best AS d ON d.fq = r.fq AND d.rn = 1
WHERE d.fq IS NULL
