-- INHERITS: CLASS -> each base class it names (res_inheritance): a repository CLASS, an EXTERNAL
-- class or a BUILTIN (`Exception`). resolution_method and confidence are those of the base
-- expression's resolution; the written order of the bases is the CLASS's `bases` prop.
-- @keys: edge_id
-- @materialize: inline
-- @layer: edges
-- @incremental: partition_by = path
SELECT DISTINCT
    'INHERITS:' || class_id || '->' || base_id AS edge_id,
    'INHERITS' AS edge_kind,
    class_id AS src_id, 'CLASS' AS src_kind, base_id AS dst_id, base_kind AS dst_kind,
    confidence, method AS resolution_method,
    CAST(1 AS BIGINT) AS ambiguity_count,
    path
FROM res_inheritance
