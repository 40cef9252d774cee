"""Wrap, encode and decode artifacts; IDs are hashes of canonical msgpack, so equal artifacts
have equal IDs on every run and machine. Plus the run manifest's own encoders (bare, without an
envelope: what `cpg build --json` prints)."""

from __future__ import annotations

import msgspec

from cpg_core.artifacts.contracts import Artifact, ArtifactEnvelope, RunManifest
from cpg_core.plan.hashing import hash_value

_JSON = msgspec.json.Encoder(order="deterministic")
_MSGPACK = msgspec.msgpack.Encoder(order="deterministic")


def artifact_id(artifact: Artifact) -> str:
    """The deterministic ID of an artifact."""
    return hash_value(artifact)


def wrap(artifact: Artifact) -> ArtifactEnvelope:
    """Put an artifact in its tagged envelope."""
    return ArtifactEnvelope(artifact_id=artifact_id(artifact), artifact=artifact)


def to_json(envelope: ArtifactEnvelope) -> bytes:
    """Canonical JSON (sorted keys)."""
    return _JSON.encode(envelope)


def to_msgpack(envelope: ArtifactEnvelope) -> bytes:
    """Canonical msgpack (sorted keys)."""
    return _MSGPACK.encode(envelope)


def from_json(data: bytes | str) -> ArtifactEnvelope:
    """Decode and validate; raises msgspec.ValidationError naming the bad field's path."""
    return msgspec.json.decode(data, type=ArtifactEnvelope)


def from_msgpack(data: bytes) -> ArtifactEnvelope:
    """Decode and validate msgpack."""
    return msgspec.msgpack.decode(data, type=ArtifactEnvelope)


def manifest_json(manifest: RunManifest) -> bytes:
    """Canonical JSON (sorted keys) of a bare manifest."""
    return _JSON.encode(manifest)


def decode_manifest(data: bytes | str) -> RunManifest:
    """Decode and validate a bare manifest from JSON."""
    return msgspec.json.decode(data, type=RunManifest)


def cache_lineage_json(manifest: RunManifest) -> bytes:
    """The run's cache lineage alone, deterministic (no run id, no timings): equal runs, equal
    bytes."""
    return _JSON.encode(sorted(manifest.cache, key=lambda c: c.view))
