"""cpg_dagster: the compiled plan as Dagster assets."""
