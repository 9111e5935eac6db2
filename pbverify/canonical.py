"""Canonical JSON for the audit chain, so an exported log can be re-checked offline.

Sorted keys, UTF-8, no insignificant whitespace, UTC ISO-8601 times with microseconds, decimals as
strings. Floats are refused: they have no canonical text form (and money is never a float here).
"""

import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal

GENESIS_HASH = "0" * 64


def to_jsonable(value):
    """Convert a value to the JSON-native form used in audit payloads (recursively)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not allowed in canonical JSON; use Decimal or int")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def format_time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not allowed in canonical JSON")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(value) -> bytes:
    return json.dumps(to_jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
