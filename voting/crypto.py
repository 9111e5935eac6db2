"""Keyed hashes and random codes for the vote path.

Identity keys and receipt hashes are HMAC-SHA256 under the deployment's secret key (a keyed hash,
not a password hasher: they must be looked up by value). Receipt codes carry 100 random bits.
"""

import base64
import hashlib
import secrets
from datetime import date

from django.conf import settings
from django.utils.crypto import salted_hmac

from . import matching

# Crockford-style alphabet: no I, L, O, U — easy to read aloud and type.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def keyed_hash(purpose: str, value: str) -> str:
    return salted_hmac(f"pbplatform.voting.{purpose}", value, algorithm="sha256").hexdigest()


def identity_key(kind: str, value: str) -> str:
    """The roll's key for a person: same account, phone or check-in → same key."""
    return keyed_hash("identity", f"{kind}:{value.strip().lower()}")


def code_new(groups: int = 5, size: int = 4) -> str:
    """A random code like ``7K2M-QX9D-…`` (5 × 4 characters of 32 symbols = 100 bits)."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(size)) for _ in range(groups))


def code_normalize(code: str) -> str:
    table = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
    return "".join(ch for ch in (code or "").upper().translate(table) if ch in ALPHABET)


def receipt_hash(code: str) -> str:
    return keyed_hash("receipt", code_normalize(code))


def match_key(*, name: str, date_of_birth: date | None, address: str) -> str:
    """Same person → same key, however the name and address were typed (``matching``: case, accents,
    punctuation, spacing, street suffixes, the kind of unit): how one person voting on two channels
    is found. Empty when one of the three is missing."""
    parts = [
        matching.name_normalize(name),
        date_of_birth.isoformat() if date_of_birth else "",
        matching.address_normalize(address),
    ]
    if not all(parts):
        return ""
    return keyed_hash("match", "|".join(parts))


def _fernet():
    # Imported on first use, like the address parser (voting.matching): only provisional ballots seal.
    from cryptography.fernet import Fernet

    key = hashlib.sha256(f"pbplatform.voting.seal:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str) -> str:
    """Encrypt (authenticated) under a key derived from the deployment's secret: the provisional
    ballot's link, readable only by the service that settles it."""
    return _fernet().encrypt(value.encode()).decode()


def unseal(token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # pragma: no cover - a changed secret key
        raise ValueError("sealed value cannot be opened with this deployment's key") from exc


def ballot_tag(ballot_id) -> str:
    return keyed_hash("ballot-tag", str(ballot_id))
