-- Every node of the code property graph, one row per node, with its kind, name, qualified name,
-- source position (1-based lines, 0-based character columns, UTF-8 byte offsets) and container.
-- Ids come from extraction (kind, path and byte span), so the same repository gives the same ids
-- everywhere. EXTERNAL and BUILTIN placeholder nodes exist for every name an edge points at.
-- @keys: node_id
-- @layer: cpg
-- @entity: node
-- @grain: one row per node
-- @entity_keys: node_id
-- @join_keys: node_id, parent_id
-- @version: 1
-- @stability: stable
-- @owners: cpg
WITH placeholders AS (
    SELECT DISTINCT dst_id AS node_id, dst_kind AS node_kind
    FROM cpg_edges
    WHERE dst_kind IN ('EXTERNAL', 'BUILTIN')
)
SELECT
    file_id AS node_id, 'FILE' AS node_kind, path AS name, module AS fqname, path,
    CAST(NULL AS INT) AS line, CAST(NULL AS INT) AS col,
    CAST(NULL AS INT) AS end_line, CAST(NULL AS INT) AS end_col,
    CAST(NULL AS BIGINT) AS bstart, CAST(NULL AS BIGINT) AS bend,
    arrow_cast(NULL, 'Utf8') AS parent_id
FROM files
UNION ALL
SELECT d.def_id, n.node_kind, d.name, d.fqname, d.path, d.line, d.col, d.end_line, d.end_col,
       d.bstart, d.bend, n.parent_id
FROM defs AS d JOIN idx_def_nodes AS n ON n.def_id = d.def_id
UNION ALL
SELECT param_id, 'PARAMETER', name, NULL, path, line, col, end_line, end_col, bstart, bend, def_id
FROM params
UNION ALL
SELECT b.binding_id, 'BINDING', b.name,
       CASE WHEN b.scope_kind IN ('module', 'class') THEN o.fqname || '.' || b.name END,
       b.path, NULL, NULL, NULL, NULL, NULL, NULL, b.def_id
FROM idx_bindings AS b
JOIN idx_def_nodes AS o ON o.def_id = b.def_id
UNION ALL
SELECT ref_id, 'REFERENCE', coalesce(chain, '.' || attr), NULL, path, line, col, end_line, end_col,
       bstart, bend, def_id
FROM refs
UNION ALL
SELECT call_id, 'CALL', coalesce(callee_text, '.' || callee_name, '<' || callee_kind || '>'), NULL,
       path, line, col, end_line, end_col, bstart, bend, def_id
FROM calls
UNION ALL
SELECT call_id, 'CALL',
       CASE kind WHEN 'decorator' THEN '@' || name WHEN 'operator' THEN name
                 WHEN 'property' THEN '.' || name ELSE '<' || kind || '>' END,
       NULL, path, line, col, end_line, end_col, bstart, bend, def_id
FROM res_implicit_calls
UNION ALL
SELECT i.import_id, 'IMPORT', coalesce(i.bound_name, '*'), t.target_fq, i.path, i.line, i.col,
       i.end_line, i.end_col, i.bstart, i.bend, i.def_id
FROM imports AS i JOIN res_import_targets AS t ON t.import_id = i.import_id
UNION ALL
SELECT node_id, node_kind,
       CASE WHEN node_kind = 'BUILTIN' THEN substr(node_id, 9) ELSE substr(node_id, 10) END,
       CASE WHEN node_kind = 'BUILTIN' THEN 'builtins.' || substr(node_id, 9) ELSE substr(node_id, 10) END,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM placeholders
