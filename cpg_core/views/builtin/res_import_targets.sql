-- Import resolution, one row per imported name (`imports` row).
--   imported module  what the statement loads: `import a.b` -> a.b; `from m import n` -> m.n when
--                    that is a module (a submodule import), else m; `from m import *` -> m.
--                    Relative imports arrive already made absolute by extraction (target_module).
--   target           what the import denotes: `from m import f` -> the def/binding/module named
--                    m.f, following re-exports (idx_dotted); `import a.b` -> module a.b.
--   value            what the bound name holds: `import a.b` binds `a` (module a), `import a.b
--                    as c` binds module a.b, `from m import f as g` binds the target.
-- Names outside the repository (first segment is no repository module) become EXTERNAL nodes
-- `external:<dotted name>` (method `external`); names inside the repository that no module, def or
-- module-level binding provides (method `missing`, e.g. set dynamically) also become EXTERNAL, and
-- a relative import that climbs above the top package becomes `external:..name` (`unresolved`).
-- @keys: import_id
-- @layer: resolution
-- @incremental: partition_by = path; drivers = none
WITH base AS (
    SELECT
        i.import_id, i.path, i.scope_id, i.kind, i.module, i.level, i.name, i.bound_name,
        i.is_star, i.target_module, i.target, i.bound_target,
        CASE
            WHEN i.target_module IS NULL THEN NULL
            WHEN i.kind = 'import' OR i.is_star THEN i.target_module
            WHEN sub.module_id IS NOT NULL THEN i.target
            ELSE i.target_module
        END AS imported_module,
        CASE WHEN i.kind = 'import' OR i.is_star THEN i.target_module ELSE i.target END AS target_name,
        i.bound_target AS value_name,
        repeat('.', i.level) || coalesce(i.module, '') AS relative_text
    FROM imports AS i
    LEFT JOIN idx_modules AS sub ON sub.module = i.target AND sub.name_rank = 1 AND i.kind = 'from'
),
looked_up AS (
    SELECT
        b.*,
        im.module_id AS imported_module_id,
        split_part(b.imported_module, '.', 1) AS imported_top,
        t.target_id AS t_id, t.target_kind AS t_kind, t.target_fq AS t_fq, t.method AS t_method,
        t.candidates AS t_candidates,
        v.target_id AS v_id, v.target_kind AS v_kind, v.target_fq AS v_fq, v.method AS v_method,
        v.candidates AS v_candidates,
        tt.module_id AS target_top_in_repo,
        vt.module_id AS value_top_in_repo
    FROM base AS b
    LEFT JOIN idx_modules AS im ON im.module = b.imported_module AND im.name_rank = 1
    LEFT JOIN idx_dotted AS t ON t.fq = b.target_name
    LEFT JOIN idx_dotted AS v ON v.fq = b.value_name
    LEFT JOIN idx_modules AS tt ON tt.module = split_part(b.target_name, '.', 1) AND tt.name_rank = 1
    LEFT JOIN idx_modules AS vt ON vt.module = split_part(b.value_name, '.', 1) AND vt.name_rank = 1
)
SELECT
    l.import_id,
    l.path,
    l.scope_id,
    'module:' || l.path AS module_id,
    l.bound_name,
    l.is_star,
    coalesce(l.imported_module, l.relative_text) AS imported_module,
    CASE
        WHEN l.imported_module_id IS NOT NULL THEN l.imported_module_id
        WHEN l.imported_module IS NULL THEN 'external:' || l.relative_text
        ELSE 'external:' || l.imported_module
    END AS imported_module_id,
    CASE WHEN l.imported_module_id IS NOT NULL THEN 'MODULE' ELSE 'EXTERNAL' END AS imported_module_kind,
    CASE
        WHEN l.target_name IS NULL THEN 'external:' || l.relative_text
        WHEN l.t_id IS NOT NULL THEN l.t_id
        ELSE 'external:' || l.target_name
    END AS target_id,
    CASE WHEN l.t_id IS NOT NULL THEN l.t_kind ELSE 'EXTERNAL' END AS target_kind,
    coalesce(l.t_fq, l.target_name, l.relative_text) AS target_fq,
    CASE
        WHEN l.target_name IS NULL THEN 'unresolved'
        WHEN l.t_id IS NOT NULL THEN l.t_method
        WHEN l.target_top_in_repo IS NULL THEN 'external'
        ELSE 'missing'
    END AS target_method,
    coalesce(l.t_candidates, 1) AS target_candidates,
    CASE
        WHEN l.is_star THEN NULL
        WHEN l.value_name IS NULL THEN 'external:' || l.relative_text
        WHEN l.v_id IS NOT NULL THEN l.v_id
        ELSE 'external:' || l.value_name
    END AS value_id,
    CASE WHEN l.is_star THEN NULL WHEN l.v_id IS NOT NULL THEN l.v_kind ELSE 'EXTERNAL' END AS value_kind,
    CASE WHEN l.is_star THEN NULL ELSE coalesce(l.v_fq, l.value_name, l.relative_text) END AS value_fq,
    CASE
        WHEN l.is_star THEN NULL
        WHEN l.value_name IS NULL THEN 'unresolved'
        WHEN l.v_id IS NOT NULL THEN l.v_method
        WHEN l.value_top_in_repo IS NULL THEN 'external'
        ELSE 'missing'
    END AS value_method,
    coalesce(l.v_candidates, 1) AS value_candidates
FROM looked_up AS l
