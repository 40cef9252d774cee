"""cpg core: everything that works without Dagster (extraction, views, plan compiler, execution)."""

__version__ = "0.1.0"
