-- Value-flow facts of every file (evidence `flows`, plus one `callee` fact per call whose callee
-- is a name or attribute chain) with names replaced by what they denote, so that every node of
-- the assignment graph is one string:
--   a name (also `except ... as e`, `case x`) stands for its BINDING (res_ref_bindings: LEGB on
--   symtable scopes, star imports followed), or for the literal value `builtin:<name>` /
--   `external:<dotted>` it resolves to; an unresolved name stays its `ref:` id (it holds nothing)
--   `load_root` facts read the root binding of a chain (`a` of `a.b.c`), `store_root` facts write
--   through it
--   other expressions keep their id: `ref:` (attribute chains), `call:` (call results and implicit
--   call sites), `def:` (a lambda or def: a literal value), `expr:` (displays, `a if c else b`...)
-- Per file: a file's rows depend on its own evidence and its own name resolution only (proven:
-- partition-incremental, so an edit recomputes the edited files' facts alone).
-- @keys: path, kind, node, src, name, pos
-- @layer: flow
-- @incremental: partition_by = path; drivers = flows, calls, res_ref_bindings
WITH names AS (
    SELECT path, ref_id, resolved_id AS target
    FROM res_ref_bindings
    WHERE ref_kind <> 'chain' AND resolved_kind IN ('BINDING', 'BUILTIN', 'EXTERNAL')
),
roots AS (
    SELECT path, ref_id, resolved_id AS target
    FROM res_ref_bindings
    WHERE ref_kind = 'chain' AND resolved_kind IN ('BINDING', 'BUILTIN', 'EXTERNAL')
),
facts AS (
    SELECT path, kind, node_id, src_id, name, pos FROM flows
    UNION ALL
    SELECT path, 'callee', call_id, callee_ref_id, CAST(NULL AS VARCHAR), CAST(NULL AS INT)
    FROM calls
    WHERE callee_ref_id IS NOT NULL
)
SELECT DISTINCT  -- a set of facts: two refs may denote the same binding
    f.path,
    f.kind,
    CASE WHEN f.kind = 'store_root' THEN coalesce(rn.target, f.node_id)
         ELSE coalesce(nn.target, f.node_id) END AS node,
    CASE WHEN f.kind = 'load_root' THEN coalesce(rs.target, f.src_id)
         ELSE coalesce(ns.target, f.src_id) END AS src,
    f.name,
    f.pos
FROM facts AS f
LEFT JOIN names AS nn ON nn.path = f.path AND nn.ref_id = f.node_id
LEFT JOIN names AS ns ON ns.path = f.path AND ns.ref_id = f.src_id
LEFT JOIN roots AS rn ON rn.path = f.path AND f.kind = 'store_root' AND rn.ref_id = f.node_id
LEFT JOIN roots AS rs ON rs.path = f.path AND f.kind = 'load_root' AND rs.ref_id = f.src_id
