"""cpg_core.execute."""
