-- Definitions as values: every function, lambda and class with what calling or looking it up
-- means. `method_kind`: how a def in a class body binds when looked up (decorated
-- `staticmethod`: `static`; `classmethod`: `class`; `property` or `cached_property`:
-- `property`; else `plain`); `is_generator`: its body yields (calling it returns a generator); `class_id`:
-- the class whose body defines it.
-- Per file.
-- @keys: def_id
-- @layer: flow
WITH gens AS (
    SELECT DISTINCT node AS def_id
    FROM flow_facts
    WHERE kind IN ('yield', 'yield_from')
),
decorated AS (
    SELECT d.def_id, '|' || array_to_string(d.decorators, '|') || '|' AS decos
    FROM defs AS d
    WHERE d.kind <> 'module'
)
SELECT
    d.def_id,
    d.kind,
    d.fqname,
    d.path,
    CASE WHEN d.is_method THEN d.parent_def_id END AS class_id,
    CASE
        WHEN NOT d.is_method THEN 'plain'
        WHEN x.decos LIKE '%|staticmethod|%' THEN 'static'
        WHEN x.decos LIKE '%|classmethod|%' THEN 'class'
        WHEN x.decos LIKE '%|property|%' OR x.decos LIKE '%cached_property|%' THEN 'property'
        ELSE 'plain'
    END AS method_kind,
    g.def_id IS NOT NULL AS is_generator,
    cardinality(d.decorators) > 0 AS is_decorated
FROM defs AS d
JOIN decorated AS x ON x.def_id = d.def_id
LEFT JOIN gens AS g ON g.def_id = d.def_id
