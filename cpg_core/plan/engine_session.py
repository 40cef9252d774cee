"""DataFusion sessions that run queries (views at build time, data tests after them).

Under a memory limit a query runs on one partition: DataFusion's external sort over several
partitions fails at limits it meets on one (measured here; apache/datafusion#16979, #12136), so
parallelism then comes from running tasks side by side. The sort's spill reservation is capped
at an eighth of the pool: DataFusion's fixed 10 MiB leaves a small pool no room.
"""

from __future__ import annotations

from datafusion import RuntimeEnvBuilder, SessionConfig, SessionContext

# DataFusion reserves this much of the pool per sort for merging its spill files (default 10 MiB)
_SORT_SPILL_RESERVATION_SHARE = 8
RESOURCES_EXHAUSTED = "Resources exhausted"  # DataFusion's message when the pool is too small


def session_context(target_partitions: int, memory_limit_bytes: int | None) -> SessionContext:
    """A fresh context; with a memory limit, a fair spill pool and temporary files to spill to."""
    if memory_limit_bytes is None:
        return SessionContext(SessionConfig().with_target_partitions(target_partitions))
    config = SessionConfig().with_target_partitions(1)
    reservation = min(10 * 2**20, memory_limit_bytes // _SORT_SPILL_RESERVATION_SHARE)
    config = config.set("datafusion.execution.sort_spill_reservation_bytes", str(reservation))
    runtime = RuntimeEnvBuilder().with_disk_manager_os().with_fair_spill_pool(memory_limit_bytes)
    return SessionContext(config, runtime)
