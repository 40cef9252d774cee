"""Deterministic hashes: every fingerprint and signature in cpg goes through here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec
import pyarrow as pa

_ENCODER = msgspec.msgpack.Encoder(order="deterministic")


def sha256_hex(data: bytes | str) -> str:
    """Hex sha256 of bytes (strings are UTF-8 encoded)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def canonical_bytes(value: Any) -> bytes:
    """Canonical msgpack: sorted map keys, so equal values give equal bytes on every run."""
    return _ENCODER.encode(value)


def hash_value(value: Any) -> str:
    """sha256 of the canonical msgpack of `value` (msgspec structs and plain data)."""
    return sha256_hex(canonical_bytes(value))


def schema_text(schema: pa.Schema) -> str:
    """A canonical text of an Arrow schema: names, types and nullability, no metadata."""
    return ";".join(f"{f.name}:{f.type}:{'null' if f.nullable else 'notnull'}" for f in schema)


def schema_hash(schema: pa.Schema) -> str:
    """sha256 of `schema_text` (Arrow IPC bytes may carry metadata and vary across versions)."""
    return sha256_hex(schema_text(schema))


def upstream_key(schema_hashes: Mapping[str, str]) -> str:
    """The compile cache's key of a view's inputs: each input's name and `schema_hash`."""
    return hash_value(sorted(schema_hashes.items()))
