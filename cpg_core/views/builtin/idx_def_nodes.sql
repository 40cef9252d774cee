-- Definitions as graph nodes: every `defs` row with its node kind (MODULE, CLASS, FUNCTION for
-- `def` and `async def`, LAMBDA) and its container (the enclosing def, or the FILE of a module).
-- @keys: def_id
-- @layer: index
-- @incremental: partition_by = path
SELECT
    d.def_id,
    CASE d.kind
        WHEN 'module' THEN 'MODULE'
        WHEN 'class' THEN 'CLASS'
        WHEN 'lambda' THEN 'LAMBDA'
        ELSE 'FUNCTION'
    END AS node_kind,
    d.kind AS def_kind,
    d.name,
    d.fqname,
    d.path,
    coalesce(d.parent_def_id, 'file:' || d.path) AS parent_id,
    CASE WHEN d.parent_def_id IS NULL THEN 'FILE' ELSE p.node_kind_of_parent END AS parent_kind
FROM defs AS d
LEFT JOIN (
    SELECT path, def_id,
           CASE kind WHEN 'module' THEN 'MODULE' WHEN 'class' THEN 'CLASS'
                     WHEN 'lambda' THEN 'LAMBDA' ELSE 'FUNCTION' END AS node_kind_of_parent
    FROM defs
) AS p ON p.path = d.path AND p.def_id = d.parent_def_id
