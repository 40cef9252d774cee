"""cpg_core.views."""
