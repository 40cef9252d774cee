-- What a binding holds when that is statically known: the def whose `def`/`class` statement binds
-- the name, or the entity an import binds (module, def, module-level binding or EXTERNAL). Plain
-- assignments are not followed. A binding bound several ways (a def in both branches of an `if`,
-- `try: import x` / `except: from y import x`) has one row per way; `n_values` counts them.
-- @keys: binding_id, value_id, source_id
-- @layer: resolution
-- @incremental: partition_by = path; drivers = defs, res_symbol_bindings, imports
WITH def_values AS (
    SELECT d.path, sb.resolved_id AS binding_id, d.def_id AS value_id,
           CASE WHEN d.kind = 'class' THEN 'CLASS' ELSE 'FUNCTION' END AS value_kind,
           d.fqname AS value_fq, 'definition' AS method, d.def_id AS source_id, d.bstart AS source_pos
    FROM defs AS d
    JOIN res_symbol_bindings AS sb
      ON sb.path = d.path AND sb.scope_id = d.outer_scope_id AND sb.name = d.name
    WHERE d.kind IN ('class', 'function', 'async_function') AND sb.resolved_kind = 'BINDING'
),
import_values AS (
    SELECT i.path, sb.resolved_id AS binding_id, t.value_id, t.value_kind, t.value_fq,
           'import_' || t.value_method AS method, t.import_id AS source_id, i.bstart AS source_pos
    FROM imports AS i
    JOIN res_import_targets AS t ON t.import_id = i.import_id
    JOIN res_symbol_bindings AS sb
      ON sb.path = i.path AND sb.scope_id = t.scope_id AND sb.name = t.bound_name
    WHERE NOT t.is_star AND sb.resolved_kind = 'BINDING'
),
all_values AS (
    SELECT * FROM def_values
    UNION ALL
    SELECT * FROM import_values
)
SELECT path, binding_id, value_id, value_kind, value_fq, method, source_id, source_pos,
       count(*) OVER (PARTITION BY path, binding_id) AS n_values
FROM all_values
