-- Every edge of the code property graph: the union of the edge_* views, one row per edge. Every
-- src_id and dst_id is a node_id of cpg_nodes with the declared kind (its built-in
-- no_dangling_edges test proves it on every build).
-- @keys: edge_id
-- @layer: cpg
-- @entity: edge
-- @grain: one row per (edge_kind, src_id, dst_id)
-- @entity_keys: edge_id
-- @join_keys: src_id, dst_id
-- @version: 1
-- @stability: stable
-- @owners: cpg
-- @incremental: partition_by = path
SELECT * FROM edge_contains
UNION ALL SELECT * FROM edge_has_param
UNION ALL SELECT * FROM edge_defines
UNION ALL SELECT * FROM edge_reads
UNION ALL SELECT * FROM edge_writes
UNION ALL SELECT * FROM edge_binds_to
UNION ALL SELECT * FROM edge_resolves_to
UNION ALL SELECT * FROM edge_calls
UNION ALL SELECT * FROM edge_imports
UNION ALL SELECT * FROM edge_inherits
UNION ALL SELECT * FROM edge_def_use
