"""What two people type differently about the same person, made the same: the normalised name and
home address behind the roll's match key (``crypto.match_key``), on every channel.

Names: accents and other letters outside ASCII transliterated (``unidecode``: "José" → "jose"),
case, punctuation and spacing ignored ("O'Brien" = "OBrien"; "Mary-Ann" = "Mary Ann"), and the
order of the words too ("Example, Alice" = "Alice Example").

Addresses: parsed by ``usaddress`` and written the USPS Publication 28 way by ``scourgify``
("Street" → "ST", "North" → "N", "Avenue" → "AVE"). Only the street line (number, directions,
name, suffix) counts. The apartment or unit does not: people leave it out on one channel and give
it on another, and two people of one name and one date of birth in one building are rarer than
one person who wrote "Apt 3" once. Nor do the city, state and ZIP code: a cycle is one city. An
address the parser cannot read is compared as typed, folded like a name.
"""

import re

from unidecode import unidecode

_DROPPED = re.compile(r"['.]")  # inside a word: "O'Brien", "St." — dropped, not a word break
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _fold(text: str) -> str:
    """ASCII, lower case, words of letters and digits separated by one space."""
    text = _DROPPED.sub("", unidecode(text or "").lower())
    return " ".join(_NOT_WORD.sub(" ", text).split())


def name_normalize(name: str) -> str:
    """ "  JOSÉ  o'Brien " → "jose obrien"; "Example, Alice" → "alice example" (words sorted)."""
    return " ".join(sorted(_fold(name).split()))


def address_normalize(address: str) -> str:
    """ "12 ELM STREET Apt 3", "12 Elm St, apt. 3" and "12 Elm St" → "12 elm st"; "" when nothing is left."""
    folded = _fold(address)
    if not folded:
        return ""
    # Imported on first use: the address parser loads its model and YAML tables, a good part of every
    # process's start-up for something only the vote path calls (bench/README.md, "Tally command").
    from scourgify import normalize_address_record
    from scourgify.exceptions import AddressNormalizationError
    from usaddress import RepeatedLabelError

    try:
        parsed = normalize_address_record(unidecode(address))
    except (AddressNormalizationError, RepeatedLabelError, ValueError, KeyError, IndexError, TypeError):
        return folded  # not an address the parser reads: compared as typed (never an error on the vote path)
    return _fold(parsed.get("address_line_1") or "") or folded
