-- Repository modules by dotted name: the MODULE node of each extracted file, its FILE node and
-- the first segment of its name (a dotted name whose first segment is no repository module is
-- treated as outside the repository). When two files claim one module name (scripts with the same
-- stem in different folders) `name_rank` 1 marks the one chosen for lookups (smallest path).
-- @keys: module_id
-- @layer: index
-- @entity: module
-- @grain: one row per extracted module
SELECT
    d.def_id AS module_id,
    f.file_id,
    f.path,
    d.module,
    f.is_package,
    split_part(d.module, '.', 1) AS top_segment,
    row_number() OVER (PARTITION BY d.module ORDER BY f.path) AS name_rank
FROM defs AS d
JOIN files AS f ON f.path = d.path
WHERE d.kind = 'module'
