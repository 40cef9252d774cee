"""Each test gets fresh driver caches: drivers are cached per (signature, store) in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cpg_core.execute.driver_cache import forget_drivers


@pytest.fixture(autouse=True)
def _fresh_drivers() -> Iterator[None]:
    forget_drivers()
    yield
    forget_drivers()
