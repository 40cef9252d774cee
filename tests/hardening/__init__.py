"""Issue 6: tests that try to break cpg (faults, concurrency, hostile input, determinism)."""
