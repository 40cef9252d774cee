-- Star imports (`from m import *`) at module level or anywhere, with the repository file of the
-- imported module (target_path NULL: m is outside the repository). res_symbol_bindings resolves
-- names through them and declares them its dependencies: a file's names change when a file it
-- star-imports changes its module bindings.
-- @keys: import_id
-- @layer: index
-- @incremental: partition_by = path
SELECT i.import_id, i.path, i.target_module, m.path AS target_path, i.bstart
FROM imports AS i
LEFT JOIN idx_modules AS m ON m.module = i.target_module AND m.name_rank = 1
WHERE i.is_star AND i.target_module IS NOT NULL
