-- Module-level name aliases created by imports, the edges re-exports are followed along:
--   `from x import y as z` / `import x.y as z` at module level of repository module m: m.z -> x.y
--   `from t import *` at module level of m re-exports t's public module-level names (those not
--   starting with `_`, without the modules t binds with a plain `import x`; `__all__` is not
--   evidence yet, so it is not honoured): m.n -> t.n
-- @materialize: inline
-- @keys: alias_fq, target_fq
-- `is_direct`: the alias is itself a module or a definition's qualified name (those win over
-- aliases, so the alias is not followed).
-- @layer: index
WITH raw AS (
    SELECT DISTINCT m.module || '.' || i.bound_name AS alias_fq, i.bound_target AS target_fq
    FROM imports AS i
    JOIN idx_modules AS m ON m.path = i.path AND m.name_rank = 1
    WHERE i.scope_id = 'scope:' || i.path AND NOT i.is_star
      AND i.bound_name IS NOT NULL AND i.bound_target IS NOT NULL
    UNION
    SELECT m.module || '.' || b.name, i.target_module || '.' || b.name
    FROM imports AS i
    JOIN idx_modules AS m ON m.path = i.path AND m.name_rank = 1
    JOIN idx_modules AS t ON t.module = i.target_module AND t.name_rank = 1
    JOIN idx_bindings AS b ON b.path = t.path AND b.scope_kind = 'module'
    LEFT JOIN imports AS plain
      ON plain.path = b.path AND plain.scope_id = b.scope_id AND plain.kind = 'import'
     AND plain.bound_name = b.name
    WHERE i.is_star AND i.scope_id = 'scope:' || i.path AND plain.import_id IS NULL
      AND b.name NOT LIKE '\_%' ESCAPE '\'
),
public_defs AS (
    SELECT DISTINCT fqname
    FROM defs
    WHERE kind IN ('class', 'function', 'async_function') AND qualname NOT LIKE '%<locals>%'
)
SELECT r.alias_fq, r.target_fq, (m.module_id IS NOT NULL OR d.fqname IS NOT NULL) AS is_direct
FROM raw AS r
LEFT JOIN idx_modules AS m ON m.module = r.alias_fq AND m.name_rank = 1
LEFT JOIN public_defs AS d ON d.fqname = r.alias_fq
