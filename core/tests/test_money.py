"""``money_format`` describes exactly what ``format_money`` writes: a formatter that follows only
that description (as the ballot's meter script does) writes every amount the same, in every
language, whatever its grouping (India's 12,34,567) or the symbol's place (after the number in
French and German)."""

from decimal import Decimal

import pytest
from django.utils import translation

from core.money import format_money, money_format


def write(spec: dict, amount: Decimal) -> str:
    """What static/js/ballot.js's formatter does with ``spec``, in Python."""
    cents = int(amount * 100)
    negative, cents = cents < 0, abs(cents)
    whole, fraction = divmod(cents, 100)
    digits = str(whole)
    primary, secondary = spec["grouping"]
    groups = [digits[-primary:]] if len(digits) > primary else [digits]
    rest = digits[:-primary] if len(digits) > primary else ""
    while len(rest) > secondary:
        groups.insert(0, rest[-secondary:])
        rest = rest[:-secondary]
    if rest:
        groups.insert(0, rest)
    number = spec["group"].join(groups)
    if fraction:
        number += spec["decimal"] + f"{fraction:02d}"[: spec["digits"]]
    if negative:
        return spec["negativePrefix"] + number + spec["negativeSuffix"]
    return spec["prefix"] + number + spec["suffix"]


AMOUNTS = ["0", "5", "999", "1000", "15000", "50000", "27499.50", "1234567", "100000.05", "12345678.9", "-15000"]


@pytest.mark.parametrize("language", ["en", "es", "fr", "de", "hi"])
@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_the_description_writes_what_format_money_writes(language, currency):
    with translation.override(language):
        spec = money_format(currency)
        for amount in map(Decimal, AMOUNTS):
            assert write(spec, amount) == format_money(amount, currency), (language, amount)


def test_spanish_writes_dollars_as_the_us_spanish_pages_do():
    with translation.override("es"):
        spec = money_format("USD")
        assert format_money(50000, "USD") == "$50,000"
    assert (spec["prefix"], spec["group"], spec["decimal"]) == ("$", ",", ".")
