"""cpg_core.plan."""
