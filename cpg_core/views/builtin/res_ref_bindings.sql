-- The binding every named occurrence uses: a `name` ref, or the root name of an `a.b.c` chain
-- (`chain` refs: the root is always read; the chain's ctx applies to its last attribute), an
-- `except ... as name` or a `case` capture. The scope rule is res_symbol_bindings' (LEGB on
-- symtable flags); `access` says what the occurrence does to the binding: read, write, delete
-- or update (augmented assignment reads and writes).
-- `resolved_path`: the file of the BINDING it resolved to (another file through a star import).
-- @keys: ref_id
-- @layer: resolution
-- @incremental: partition_by = path; drivers = refs, res_symbol_bindings
SELECT
    r.ref_id,
    r.path,
    r.scope_id,
    r.def_id,
    r.ref_kind,
    r.name,
    r.chain,
    r.attr,
    r.n_parts,
    r.ctx,
    r.is_callee,
    r.bstart,
    CASE
        WHEN r.ref_kind = 'chain' THEN 'read'
        WHEN r.augmented THEN 'update'
        WHEN r.ctx = 'store' THEN 'write'
        WHEN r.ctx = 'del' THEN 'delete'
        ELSE 'read'
    END AS access,
    s.resolved_id,
    s.resolved_kind,
    coalesce(s.method, 'unresolved') AS method,
    s.resolved_path
FROM refs AS r
LEFT JOIN res_symbol_bindings AS s
  ON s.path = r.path AND s.scope_id = r.scope_id AND s.name = r.name
WHERE r.name IS NOT NULL
