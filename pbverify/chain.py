"""The audit log's hash chain, in pure functions: writing an event's hash, exporting it, and checking
an export (the database's, an auditor bundle's, or a public record's) — no database, so an auditor's
``pb_verify`` uses exactly this code. docs/audit-log.md describes the format.

Two event versions live in one chain:

- **v1** (events written before the public record was made private): ``hash = SHA-256(canonical
  JSON of the whole event without id and hash)``, which includes ``prev_hash``.
- **v2**: the event is split into its public *body* and its withheld *private* values (the client IP
  always, and what ``core.audit_policy`` keeps inside). The body commits to the private values
  through ``private_digest = SHA-256(canonical {"salt": …, "values": {path: value}})`` (a random salt
  per event, so a short withheld value cannot be guessed from its digest), and
  ``hash = SHA-256(canonical {"v": 2, "prev_hash": …, "cycle": …, "body": SHA-256(canonical body)})``.
  So a public record can publish the body (anyone re-computes the hash), or — for an event of
  another cycle or of no cycle — only ``body_digest`` and ``cycle`` (the link still checks, and the
  ``cycle`` it claims is bound by the hash: an event of the record's own cycle cannot be passed off
  as withheld).

A line of ``audit_log.jsonl``:

- v1: the event's fields flat, with ``id`` and ``hash``; in a public record an event whose client IP
  was left out has ``"ip": null, "redacted": ["ip"]`` and one that is withheld entirely is
  ``{"id", "prev_hash", "hash", "withheld": true}`` (both: the link to the event before is checked,
  the content cannot be);
- v2: ``{"id", "v": 2, "prev_hash", "cycle", "event": body, "hash"}``, plus ``"private": {"salt",
  "values"}`` in the auditors' copy — or ``"private": {"erased": true}`` once the archive has erased
  the values (the body, with its ``private_digest``, and so the hash are as they were; the values
  can no longer be checked against the digest, and a complete export's check counts such events);
  withheld: ``{"id", "v": 2, "prev_hash", "cycle", "body_digest", "hash"}``.

A chain that began in v1 switches once: its first v2 event is ``UPGRADE_ACTION`` (always published),
which counts the v1 events before it; no v1 line may follow it.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from .canonical import GENESIS_HASH, canonical_bytes, sha256_hex

V2 = 2
ERASED = {"erased": True}  # a complete export's ``private`` for an event whose withheld values are erased
# The first v2 event of a chain that began in v1: written by the system before the first v2 event,
# it says how many v1 events precede it; checkers then refuse any v1 line after it (an event of
# the new format cannot be passed off as an old one whose content may not be checked).
UPGRADE_ACTION = "audit.format_upgraded"
_FULL_FIELDS = (
    "occurred_at",
    "actor_type",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "reason",
    "ip",
)


def legacy_hash(payload: dict) -> str:
    """v1: the hash of the whole payload (every field but ``id`` and ``hash``)."""
    return sha256_hex(canonical_bytes(payload))


def _get(full: dict, path: str):
    if "." in path:
        side, key = path.split(".", 1)
        return (full.get(side) or {}).get(key)
    return full.get(path)


def private_values(full: dict, withheld: Iterable[str]) -> dict:
    """{path: value} of the withheld parts of a (JSON-native) event."""
    return {path: _get(full, path) for path in sorted(withheld)}


def private_digest(salt: str, values: dict) -> str:
    return sha256_hex(canonical_bytes({"salt": salt, "values": values}))


def public_body(full: dict, withheld: Iterable[str], salt: str, *, digest: str | None = None) -> dict:
    """The v2 body of a (JSON-native) event: its public fields, the list of withheld paths and the
    digest of the withheld values — computed from them, or ``digest`` as stored once they are erased."""
    withheld = sorted(withheld)
    hidden = set(withheld)
    return {
        "occurred_at": full["occurred_at"],
        "actor_type": full["actor_type"],
        "actor_id": None if "actor_id" in hidden else full["actor_id"],
        "action": full["action"],
        "object_type": full["object_type"],
        "object_id": full["object_id"],
        "before": {k: v for k, v in (full.get("before") or {}).items() if f"before.{k}" not in hidden},
        "after": {k: v for k, v in (full.get("after") or {}).items() if f"after.{k}" not in hidden},
        "reason": "" if "reason" in hidden else full["reason"],
        "withheld": withheld,
        "private_digest": digest if digest is not None else private_digest(salt, private_values(full, withheld)),
    }


def body_digest(body: dict) -> str:
    return sha256_hex(canonical_bytes(body))


def v2_hash(*, prev_hash: str, cycle: int | None, digest: str) -> str:
    return sha256_hex(canonical_bytes({"v": V2, "prev_hash": prev_hash, "cycle": cycle, "body": digest}))


def merged_event(line: dict) -> dict:
    """What an export line says happened, whatever its form: the event's fields (for v2, the public
    body with the private values put back when the line carries them); {} for a withheld line."""
    if line.get("v") == V2:
        body = line.get("event")
        if not isinstance(body, dict):
            return {}
        merged = {k: body.get(k) for k in _FULL_FIELDS if k != "ip"}
        merged["before"], merged["after"] = dict(body.get("before") or {}), dict(body.get("after") or {})
        merged["ip"] = None
        for path, value in ((line.get("private") or {}).get("values") or {}).items():
            if "." in path:
                side, key = path.split(".", 1)
                merged.setdefault(side, {})[key] = value
            else:
                merged[path] = value
        return merged
    if line.get("withheld") is True:
        return {}
    return {k: v for k, v in line.items() if k not in ("id", "hash", "redacted")}


def _private_problem(private: dict, body: dict) -> str | None:
    """Why a line's withheld values do not fit its body, or None."""
    values = private.get("values") or {}
    if sorted(values) != list(body.get("withheld") or []):
        return "the withheld values do not match the event's list of withheld parts"
    if private_digest(str(private.get("salt", "")), values) != body.get("private_digest"):
        return "the withheld values do not match their digest"
    return None


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    problem: str = ""
    withheld: int = 0  # lines whose content is withheld (only their links checked)
    link_only: int = 0  # v1 lines whose content was redacted (only their links checked)
    erased: int = 0  # v2 lines whose withheld values the archive erased (body and link checked)


def chain_verify(lines: Iterable[dict], *, public_cycle: int | None = None) -> ChainReport:
    """Check the lines of an export, in order: every ``prev_hash`` is the previous line's hash and
    every hash is recomputed from what the line carries.

    ``public_cycle`` None: a complete export (the database's, the auditors'): every line must carry
    its whole event, private values included, and they must match their digest — or, for an event
    whose values the archive erased, say so (``ERASED``): its body and link are checked, and it is
    counted in ``erased``. Otherwise a public record of that cycle: withheld and redacted lines are
    allowed (their links are checked), except that an event of ``public_cycle`` itself may not be
    withheld.
    """
    prev, checked, withheld, link_only, erased = GENESIS_HASH, 0, 0, 0, 0
    seen_v2 = False

    def broken(line, problem):
        return ChainReport(False, checked, line.get("id"), problem, withheld, link_only, erased)

    for line in lines:
        if not isinstance(line, dict):
            return ChainReport(False, checked, None, "a line is not a JSON object", withheld, link_only, erased)
        if line.get("prev_hash") != prev:
            return broken(line, "prev_hash does not match the previous event (an event removed, added or moved)")
        if line.get("v") == V2:
            cycle = line.get("cycle")
            body = line.get("event")
            if not seen_v2 and checked:
                upgrade = body if isinstance(body, dict) else {}
                legacy = (upgrade.get("after") or {}).get("legacy_events")
                if upgrade.get("action") != UPGRADE_ACTION or legacy != checked:
                    return broken(line, f"the first event in the current format is not the upgrade after {checked}")
            seen_v2 = True
            if isinstance(body, dict):
                digest = body_digest(body)
                private = line.get("private")
                if private is not None or public_cycle is None:
                    if not isinstance(private, dict):
                        return broken(line, "the event's withheld values are missing")
                    if private == ERASED:
                        if not isinstance(body.get("private_digest"), str):
                            return broken(line, "the erased event's body has no digest of its withheld values")
                        erased += 1
                    elif (problem := _private_problem(private, body)) is not None:
                        return broken(line, problem)
            else:
                if public_cycle is None:
                    return broken(line, "the event is withheld from a complete export")
                if cycle == public_cycle:
                    return broken(line, "an event of this cycle is withheld")
                digest = line.get("body_digest")
                withheld += 1
            if v2_hash(prev_hash=prev, cycle=cycle, digest=str(digest)) != line.get("hash"):
                return broken(line, "hash does not match the event's content")
        elif seen_v2:
            return broken(line, "an event in the old format after the current format began")
        elif line.get("withheld") is True or line.get("redacted"):
            if public_cycle is None:
                return broken(line, "the event is withheld from a complete export")
            link_only += 1
        else:
            payload = {k: v for k, v in line.items() if k not in ("id", "hash")}
            if legacy_hash(payload) != line.get("hash"):
                return broken(line, "hash does not match the event's content")
        prev = line.get("hash")
        checked += 1
    return ChainReport(True, checked, None, "", withheld, link_only, erased)
