"""Typed progress updates of an extraction, for callers that show progress (CLI, Dagster, builds).

A msgspec struct rather than a tuple or a string: callers match on fields, and the struct can be
logged or sent as msgpack unchanged. It lives apart from the pipeline's stage events so that
extraction never imports the pipeline (and with it the planner and executor).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec


class ExtractProgress(msgspec.Struct, frozen=True, kw_only=True):
    """`done` of `total` scan units extracted; the first update of a run has ``done == 0``.

    `unit` names the unit that just finished (``unit-00042``), `files` how many files it held.
    """

    done: int
    total: int
    unit: str | None = None
    files: int = 0


ProgressFn = Callable[[ExtractProgress], None]

__all__ = ["ExtractProgress", "ProgressFn"]
