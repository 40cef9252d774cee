"""`StoredOutputs`: a finished run's output tables, read back from the store when asked for.

Why not the tables the run computed: holding every output until the build ends is what made a
build's peak memory the size of its whole result (3.4 GB for the standard library's CPG). The
executor lets go of each output once its last reader has run; what the caller gets is the
version the run committed, read on access — the same rows, canonical, with their data version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pyarrow as pa

from cpg_core.execute.versions import remember
from cpg_core.store.delta_store import DeltaStore, StoredVersion


class StoredOutputs(Mapping[str, pa.Table]):
    """Output name → its table at the Delta version the run wrote (or found unchanged).

    Each access reads the table from the store: keep the table, not the mapping's item, when
    reading it more than once."""

    def __init__(self, store: DeltaStore, versions: Mapping[str, StoredVersion]) -> None:
        self._store = store
        self._versions = dict(versions)

    def __getitem__(self, name: str) -> pa.Table:
        stored = self._versions[name]
        table = self._store.read(name, stored.version)
        return remember(table, stored.data_version) if stored.data_version else table

    def __iter__(self) -> Iterator[str]:
        return iter(self._versions)

    def __len__(self) -> int:
        return len(self._versions)

    def version(self, name: str) -> StoredVersion:
        """What the run committed for `name` (no read)."""
        return self._versions[name]
