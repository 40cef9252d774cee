"""What an evaluation found before it becomes a `DataTestResult`, and rows as plain data."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

SAMPLE_ROWS = 10  # failing rows quoted in a result


@dataclass(frozen=True)
class Outcome:
    """Failing rows found by a test (0: it passed), a sample of them, kind-specific counts."""

    failing_rows: int
    sample: tuple[dict[str, Any], ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    message: str | None = None


class EvaluationError(Exception):
    """The test could not be evaluated (message says why; `details` as plain data)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


def plain(value: Any) -> Any:
    """A JSON-friendly version of a value read from Arrow (dates as ISO text, bytes as hex)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def sample_rows(table: pa.Table | pa.RecordBatch, limit: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """The first `limit` rows as plain data."""
    return [plain(row) for row in table.slice(0, limit).to_pylist()]
