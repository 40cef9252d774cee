"""cpg_core.artifacts."""
