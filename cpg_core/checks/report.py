"""Data test results as text for people (`cpg test`, and `cpg build` once it runs tests).

Passing tests are counted, not listed; each failure or error names the test, where it is
declared, its severity, the failing row count and the first failing rows, one per line.
"""

from __future__ import annotations

import msgspec

from cpg_core.artifacts.contracts import DataTestReport, DataTestResult

SHOWN_ROWS = 3  # sample rows printed per failing test
ROW_WIDTH = 160  # characters of one printed row


def _label(result: DataTestResult) -> str:
    if result.status == "error":
        return "ERROR"
    return "FAIL " if result.severity == "error" else "WARN "


def _where(result: DataTestResult) -> str:
    if result.path is None:
        return ""
    return f"  {result.path}:{result.line}" if result.line else f"  {result.path}"


def _row(row: dict[str, object]) -> str:
    text = msgspec.json.encode(row).decode()
    return text if len(text) <= ROW_WIDTH else text[: ROW_WIDTH - 3] + "..."


def result_lines(result: DataTestResult, shown_rows: int = SHOWN_ROWS) -> list[str]:
    """The lines of one failing or erroring test (none for a passing one)."""
    if result.status == "passed":
        return []
    head = f"{_label(result)} {result.id} [{result.kind}, severity {result.severity}]"
    lines = [head + _where(result)]
    if result.status == "error":
        reason = (result.message or "").removeprefix("not evaluated: ")
        lines.append(f"      could not be evaluated: {reason}")
        return lines
    lines.append(f"      {result.message or f'{result.failing_rows:,} failing row(s)'}")
    lines += [f"      {_row(row)}" for row in result.sample[:shown_rows]]
    if result.failing_rows and result.failing_rows > min(len(result.sample), shown_rows):
        lines.append(
            f"      ... ({result.failing_rows - min(len(result.sample), shown_rows):,} more)"
        )
    return lines


def summary_line(report: DataTestReport, seconds: float | None = None) -> str:
    """`12 tests: 9 passed, 1 failed, 1 warned, 1 error (10 from cache) in 0.04 s`."""
    counts = report.counts
    text = (
        f"{counts.tests} test(s): {counts.passed} passed, {counts.failed} failed, "
        f"{counts.warned} warned, {counts.errors} error(s)"
    )
    if counts.cached:
        text += f" ({counts.cached} from cache)"
    if seconds is not None:
        text += f" in {seconds:.2f} s"
    return text
