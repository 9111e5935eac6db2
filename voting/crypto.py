"""Keyed hashes and random codes for the vote path (DESIGN.md §3).

Identity keys and receipt hashes are HMAC-SHA256 under the deployment's secret key (a keyed hash,
not a password hasher: they must be looked up by value). Receipt codes carry 100 random bits.
"""

import secrets

from django.utils.crypto import salted_hmac

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
