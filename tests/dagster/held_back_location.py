"""The default code location with the store's writer held back, for a real `dg dev`.

The day-two server (`day_two` in tests/dagster/webserver.py) loads this instead of
`cpg_dagster.defaults`: every process that loads the location (the code server, the daemon's
sensor evaluations, each launched run) imports it, so every run's real Delta writes wait and
changed tables commit well after unchanged ones finished — the race of issue 14, every time,
not only on a busy machine. Nothing else differs from what `workspace.yaml` loads.
"""

from __future__ import annotations

from cpg_core.store.delta_store import DeltaStore
from cpg_dagster.defaults import defs
from tests.dagster.rebuilds import held_back

if DeltaStore.write.__name__ != "delayed":  # once per process, however often it is imported
    DeltaStore.write = held_back(DeltaStore.write)

__all__ = ["defs"]
