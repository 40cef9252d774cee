"""The names a cpg code location defines: op, job, schedule, sensors, resource key, partitions.

Why one object: two cpg projects in one code location (two `CpgComponent`s) must not collide on
any of them, and Dagster refuses a second job, sensor or resource key of the same name. The
names carry a prefix made from the translator's key prefix (which already keeps the asset keys
apart); without a key prefix they are the plain defaults (`cpg_build_all`, `cpg`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_BAD = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True)
class CpgNames:
    """Every definition name of one cpg project, `prefix` first (empty: the defaults)."""

    prefix: str = ""

    @classmethod
    def for_key_prefix(cls, key_prefix: Sequence[str]) -> CpgNames:
        """`shop` → `shop_cpg_build_all`, ...; `("a", "b")` → `a_b_...` (valid Dagster names)."""
        joined = "_".join(_BAD.sub("_", part).strip("_") for part in key_prefix)
        return cls(f"{joined}_" if joined else "")

    @property
    def op(self) -> str:
        """The multi_asset's op."""
        return f"{self.prefix}cpg_build"

    @property
    def job(self) -> str:
        return f"{self.prefix}cpg_build_all"

    @property
    def schedule(self) -> str:
        return f"{self.prefix}cpg_nightly"

    @property
    def change_sensor(self) -> str:
        return f"{self.prefix}cpg_change_sensor"

    @property
    def observer(self) -> str:
        """The sensor that observes the repository (records its version as it changes)."""
        return f"{self.prefix}cpg_repo_observer"

    @property
    def automation(self) -> str:
        return f"{self.prefix}cpg_automation"

    @property
    def resource(self) -> str:
        """The key of the `CpgResource` the assets and sensors use."""
        return f"{self.prefix}cpg"

    @property
    def partitions(self) -> str:
        return f"{self.prefix}cpg_repositories"


DEFAULT_NAMES = CpgNames()
