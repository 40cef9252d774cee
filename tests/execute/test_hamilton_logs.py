"""A failing view is reported by cpg; Hamilton's own failure logs become DEBUG, for cpg only.

Real Hamilton drivers on real DataFusion and Delta: cpg's driver (through `build`) and a user's
plain Hamilton driver in the same process, whose failure logs must stay as Hamilton makes them.
"""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import pytest
from hamilton import driver

from cpg_core.execute import BuildError, ExecutionMode, ExecutorConfig, build
from cpg_core.execute.hamilton_logs import HAMILTON_FAILURE_LOGGERS
from tests.execute.helpers import VIEWS, compile_project, read_inputs

BOOM = {
    **VIEWS,
    "by_country": "select cast(c.name as int) as n from paid p join customers c using (customer_id)",
}


def _hamilton_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("hamilton")]


@pytest.mark.parametrize("mode", [ExecutionMode.SERIAL, ExecutionMode.PARALLEL])
def test_a_failing_view_leaves_hamilton_failure_records_at_debug_only(
    tmp_path: Path, mode: ExecutionMode, caplog: pytest.LogCaptureFixture
) -> None:
    plan = compile_project(tmp_path, BOOM)
    config = ExecutorConfig(mode=mode, max_tasks=2)
    with caplog.at_level(logging.WARNING), pytest.raises(BuildError, match="by_country"):
        build(plan, store=tmp_path / "s", inputs=read_inputs(tmp_path), config=config)
    assert _hamilton_records(caplog) == []  # nothing at WARNING or above reaches a handler

    caplog.clear()
    plan = compile_project(tmp_path / "again", BOOM)
    with caplog.at_level(logging.DEBUG), pytest.raises(BuildError, match="by_country"):
        build(plan, store=tmp_path / "s2", inputs=read_inputs(tmp_path / "again"), config=config)
    failures = [r for r in _hamilton_records(caplog) if r.name in HAMILTON_FAILURE_LOGGERS]
    # still there for whoever logs Hamilton at DEBUG: the node's report and the driver's banner
    assert {r.name for r in failures} == set(HAMILTON_FAILURE_LOGGERS)
    assert all(r.levelno == logging.DEBUG and r.levelname == "DEBUG" for r in failures)
    assert any("by_country" in r.getMessage() and r.exc_info for r in failures)


def boom() -> int:
    raise ValueError("user node failed")


def _user_module() -> types.ModuleType:
    """A user's own Hamilton module whose one node raises."""
    module = types.ModuleType("user_pipeline_for_log_test")
    boom.__module__ = module.__name__  # Hamilton collects the functions defined in the module
    module.__dict__["boom"] = boom
    sys.modules[module.__name__] = module
    return module


def test_other_hamilton_drivers_in_the_process_keep_their_error_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # a cpg run first (installs the filter and marks/unmarks this thread) ...
    plan = compile_project(tmp_path, BOOM)
    with pytest.raises(BuildError):
        build(plan, store=tmp_path / "s", inputs=read_inputs(tmp_path))
    # ... then a user's driver on the same thread: Hamilton's records arrive as Hamilton logs them
    user = driver.Builder().with_modules(_user_module()).build()
    with caplog.at_level(logging.WARNING), pytest.raises(ValueError, match="user node failed"):
        user.execute(["boom"])
    levels = {(r.name, r.levelno) for r in _hamilton_records(caplog)}
    assert levels == {(name, logging.ERROR) for name in HAMILTON_FAILURE_LOGGERS}
    banner = [r for r in caplog.records if r.name == "hamilton.driver"]
    assert "Need help with Hamilton?" in banner[0].getMessage()  # what cpg's runs no longer print
