"""The run manifest: what a build ran, how, what it produced, and why each view hit or missed.

A msgspec contract (like the artifacts in `cpg_core.artifacts.contracts`, where it will move):
it links the run to the schedule and validation artifacts by their deterministic IDs, lists the
outputs with data and Delta versions, and records the cache lineage per view (key, hit or miss,
upstream data versions), every routing decision and the submission order.
"""

from __future__ import annotations

import msgspec

MANIFEST_FORMAT = 1


class _Contract(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of the execution contracts: immutable, keyword-only, strict on decode."""


class RoutingDecision(_Contract, frozen=True, kw_only=True):
    """Where one task ran and why (e.g. 'cost 3.2 s >= threshold 1.0 s')."""

    task: str
    executor: str
    reason: str


class OutputVersion(_Contract, frozen=True, kw_only=True):
    """A persisted output as stored by this run."""

    name: str
    data_version: str
    delta_version: int
    fingerprint: str
    rows: int
    bytes: int
    written: bool


class CacheLineage(_Contract, frozen=True, kw_only=True):
    """Why a view was or was not recomputed: its Hamilton cache key and what went into it."""

    view: str
    cache_key: str | None
    hit: bool
    fingerprint: str
    upstream_versions: dict[str, str]


class RunManifest(_Contract, frozen=True, kw_only=True, tag="run_manifest"):
    """One build, linked to the plan's schedule and validation artifacts by ID."""

    format: int = MANIFEST_FORMAT
    run_id: str
    plan_signature: str
    reduced_signature: str
    schedule_artifact_id: str
    validation_artifact_id: str
    mode: str
    executor: str
    max_tasks: int
    selected: tuple[str, ...] | None
    read_from_store: tuple[str, ...]
    submission_order: tuple[str, ...]
    routing: tuple[RoutingDecision, ...]
    outputs: tuple[OutputVersion, ...]
    inputs: dict[str, str]
    cache: tuple[CacheLineage, ...]
    executed: tuple[str, ...]
    duration_s: float
    warnings: tuple[str, ...] = ()


_JSON = msgspec.json.Encoder(order="deterministic")


def manifest_json(manifest: RunManifest) -> bytes:
    """Canonical JSON (sorted keys) of a manifest."""
    return _JSON.encode(manifest)


def cache_lineage_json(manifest: RunManifest) -> bytes:
    """The run's cache lineage alone, deterministic (no run id, no timings): equal runs, equal bytes."""
    return _JSON.encode(sorted(manifest.cache, key=lambda c: c.view))


def decode_manifest(data: bytes) -> RunManifest:
    """Decode and validate a manifest from JSON."""
    return msgspec.json.decode(data, type=RunManifest)
