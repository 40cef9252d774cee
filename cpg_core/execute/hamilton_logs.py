"""Hamilton's own failure reports, turned into DEBUG records while a cpg driver runs.

Why: when a node raises, Hamilton logs the node's inputs and the traceback
(`hamilton.execution.graph_functions`, `logger.exception`) and `Driver.execute` logs an invitation
to its chat (`hamilton.driver`, `logger.error`). With logging unconfigured, as in `cpg build`,
Python's last-resort handler prints both to stderr ahead of cpg's own report (view, .sql file,
DataFusion's message, what was kept), which says all of it better. Hamilton has no option to
turn them off, and muting its loggers for the whole process would also mute them for a user's
own drivers (a Dagster code location runs both). So the adapter below marks, per thread, the
span in which one of cpg's drivers runs a graph or a node (the records are logged inside those
spans, before the matching post hook), and a filter on the two loggers treats records from such
a span as DEBUG: anyone who logs Hamilton at DEBUG still gets them, nobody else sees them.
Pinned by tests/execute/test_hamilton_logs.py.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from hamilton.lifecycle.base import (
    BasePostGraphExecute,
    BasePostNodeExecute,
    BasePreGraphExecute,
    BasePreNodeExecute,
)

HAMILTON_FAILURE_LOGGERS = ("hamilton.driver", "hamilton.execution.graph_functions")

_spans = threading.local()  # graph: bool, node: bool (this thread is inside a cpg run's span)


def _in_cpg_span() -> bool:
    return getattr(_spans, "graph", False) or getattr(_spans, "node", False)


class _AsDebugInCpgRuns(logging.Filter):
    """Inside a cpg span, a record passes only as DEBUG and only where DEBUG is enabled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG or not _in_cpg_span():
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return True


_FILTER = _AsDebugInCpgRuns()


def install_filter() -> None:
    """Attach the filter to Hamilton's failure loggers (idempotent: `addFilter` keeps one)."""
    for name in HAMILTON_FAILURE_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)


class CpgRunSpans(
    BasePreGraphExecute, BasePostGraphExecute, BasePreNodeExecute, BasePostNodeExecute
):
    """Lifecycle adapter of cpg's drivers: marks the threads running their graphs and nodes.

    The base hooks (not `lifecycle.api`'s) on purpose: they hand over the graph and node as
    they are, where the api classes would convert them on every run and node.
    """

    def __init__(self) -> None:
        install_filter()

    def pre_graph_execute(self, *, run_id: str, **future_kwargs: Any) -> None:
        _spans.graph = True

    def post_graph_execute(self, *, run_id: str, **future_kwargs: Any) -> None:
        _spans.graph = False
        _spans.node = False  # serial runs execute nodes on this thread: never leave it marked

    def pre_node_execute(self, *, run_id: str, **future_kwargs: Any) -> None:
        _spans.node = True

    def post_node_execute(self, *, run_id: str, **future_kwargs: Any) -> None:
        _spans.node = False
