"""Wrap, encode and decode artifacts; IDs are hashes of canonical msgpack, so equal artifacts
have equal IDs on every run and machine."""

from __future__ import annotations

import msgspec

from cpg_core.artifacts.contracts import Artifact, ArtifactEnvelope
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
