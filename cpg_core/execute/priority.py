"""Plan priority: among ready tasks, highest bottom level first, then least slack, then name.

The same key the compiler uses for its total order, so a serial run submits exactly
`schedule.order`, whatever PYTHONHASHSEED (no set or dict order is involved).
"""

from __future__ import annotations

from cpg_core.plan.schedule import Schedule


def priority_ranks(schedule: Schedule) -> dict[str, int]:
    """Task name → rank (0 = most urgent) by (bottom level desc, slack asc, name)."""
    ordered = sorted(
        schedule.order, key=lambda n: (-schedule.bottom_level[n], schedule.slack[n], n)
    )
    return {name: rank for rank, name in enumerate(ordered)}
