"""Pausing Python's cyclic garbage collector around work that builds huge object graphs.

Why: sqlglot ASTs are full of reference cycles, extraction allocates millions of acyclic rows, and
Dagster definitions of thousands of assets are millions of live objects; collections triggered by
allocation counts only rescan them (docs/dependencies.md#gc-and-big-object-graphs). Garbage left
meanwhile is collected once collection resumes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside the block (restored as it was after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def frozen_gc() -> Iterator[None]:
    """Like `paused_gc`, and everything alive before the block is frozen out of later
    collections (the caller collects its own young garbage in batches with `gc.collect(1)`)."""
    gc.collect()
    gc.freeze()
    try:
        with paused_gc():
            yield
    finally:
        gc.unfreeze()
