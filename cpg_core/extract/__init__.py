"""cpg_core.extract."""
