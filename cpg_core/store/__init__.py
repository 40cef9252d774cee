"""cpg_core.store."""
