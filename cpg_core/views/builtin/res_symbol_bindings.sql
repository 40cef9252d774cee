-- LEGB name resolution, once per symtable symbol (scope, name) rather than per occurrence:
--   local      the name is bound in its own scope (symtable LOCAL/CELL, or bound at module level)
--   enclosing  a free variable (a closure read or a `nonlocal`): the nearest enclosing *function*
--              scope (function, lambda, comprehension) that binds it; class scopes are skipped,
--              as Python does
--   global     global (implicit or `global`-declared) and bound in the module
--   star_import / star_import_external
--              not bound in the module, but the module does `from m import *` and m (a repository
--              module) binds a public name like it; for m outside the repository the target is
--              EXTERNAL `m.name` (a guess: lower confidence)
--   builtin    otherwise a builtin (or implicit module attribute such as __name__)
--   unresolved none of the above (resolved_id is NULL)
-- Names are looked up by their mangled form (`__x` in class C is `_C__x`), as Python does.
-- `resolved_path` is the file of a resolved BINDING (this file, or the star-imported one).
-- @keys: symbol_id
-- Incremental by file: a file's symbols resolve within the file, except through its star imports,
-- which read the module bindings of the imported files (idx_star_imports lists them).
-- @layer: resolution
-- @incremental: partition_by = path; drivers = symbols; dependencies = idx_star_imports.target_path
WITH syms AS (
    SELECT s.symbol_id, s.scope_id, s.path, s.name, s.mangled_name, s.is_local, s.is_free,
           s.is_global, s.is_declared_global
    FROM symbols AS s
    WHERE s.name NOT LIKE '.%'
),
enclosing AS (
    SELECT s.path, s.symbol_id, b.binding_id,
           row_number() OVER (PARTITION BY s.path, s.symbol_id ORDER BY a.depth) AS rn
    FROM syms AS s
    JOIN idx_scope_ancestors AS a
      ON a.scope_id = s.scope_id AND a.depth > 0
     AND a.ancestor_kind IN ('function', 'lambda', 'comprehension')
    JOIN idx_bindings AS b
      ON b.path = s.path AND b.scope_id = a.ancestor_scope_id AND b.mangled_name = s.mangled_name
    WHERE s.is_free AND NOT s.is_local
),
module_global AS (
    SELECT s.path, s.symbol_id, b.binding_id
    FROM syms AS s
    JOIN idx_bindings AS b
      ON b.path = s.path AND b.binding_id = 'symbol:' || s.path || '#' || s.mangled_name
    WHERE s.is_global AND NOT s.is_local
),
star_candidates AS (
    SELECT s.path, s.symbol_id, st.target_path,
           coalesce(b.binding_id, 'external:' || st.target_module || '.' || s.mangled_name) AS resolved_id,
           CASE WHEN st.target_path IS NULL THEN 'EXTERNAL' ELSE 'BINDING' END AS resolved_kind,
           CASE WHEN st.target_path IS NULL THEN 'star_import_external' ELSE 'star_import' END AS method,
           row_number() OVER (
               PARTITION BY s.path, s.symbol_id
               ORDER BY CASE WHEN b.binding_id IS NULL THEN 1 ELSE 0 END, st.bstart DESC
           ) AS rn
    FROM syms AS s
    JOIN idx_star_imports AS st ON st.path = s.path
    LEFT JOIN idx_bindings AS b
      ON st.target_path IS NOT NULL AND b.path = st.target_path AND b.scope_kind = 'module'
     AND b.name = s.mangled_name
    WHERE s.is_global AND NOT s.is_local AND s.mangled_name NOT LIKE '\_%' ESCAPE '\'
      AND (st.target_path IS NULL OR b.binding_id IS NOT NULL)
)
SELECT
    s.symbol_id,
    s.scope_id,
    s.path,
    s.name,
    s.mangled_name,
    CASE
        WHEN s.is_local THEN s.symbol_id
        WHEN e.binding_id IS NOT NULL THEN e.binding_id
        WHEN g.binding_id IS NOT NULL THEN g.binding_id
        WHEN st.resolved_id IS NOT NULL AND (st.method = 'star_import' OR bn.name IS NULL) THEN st.resolved_id
        WHEN bn.name IS NOT NULL AND s.is_global THEN 'builtin:' || bn.name
    END AS resolved_id,
    CASE
        WHEN s.is_local OR e.binding_id IS NOT NULL OR g.binding_id IS NOT NULL THEN 'BINDING'
        WHEN st.resolved_id IS NOT NULL AND (st.method = 'star_import' OR bn.name IS NULL) THEN st.resolved_kind
        WHEN bn.name IS NOT NULL AND s.is_global THEN 'BUILTIN'
    END AS resolved_kind,
    CASE
        WHEN s.is_local THEN 'local'
        WHEN e.binding_id IS NOT NULL THEN 'enclosing'
        WHEN g.binding_id IS NOT NULL THEN 'global'
        WHEN st.resolved_id IS NOT NULL AND (st.method = 'star_import' OR bn.name IS NULL) THEN st.method
        WHEN bn.name IS NOT NULL AND s.is_global THEN 'builtin'
        ELSE 'unresolved'
    END AS method,
    CASE
        WHEN s.is_local OR e.binding_id IS NOT NULL OR g.binding_id IS NOT NULL THEN s.path
        WHEN st.resolved_id IS NOT NULL AND (st.method = 'star_import' OR bn.name IS NULL)
             AND st.resolved_kind = 'BINDING' THEN st.target_path
    END AS resolved_path
FROM syms AS s
LEFT JOIN enclosing AS e ON e.path = s.path AND e.symbol_id = s.symbol_id AND e.rn = 1
LEFT JOIN module_global AS g ON g.path = s.path AND g.symbol_id = s.symbol_id
LEFT JOIN star_candidates AS st ON st.path = s.path AND st.symbol_id = s.symbol_id AND st.rn = 1
LEFT JOIN builtin_names AS bn ON bn.name = s.mangled_name
