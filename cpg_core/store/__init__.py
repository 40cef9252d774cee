"""cpg_core.store: Delta Lake tables, content hashes, run events, incremental state, history.

The public API lives in the submodules (kept small, one job each):
`content_hash` (data versions), `delta_store` (tables), `lock` (one writer per store),
`events` (lifecycle event log), `runs` (state committed after success), `history` (durations).
"""
