"""Money: Decimal amounts in a cycle's ISO 4217 currency, formatted for the active language.

``format_money`` is the one format. A script that writes amounts (the ballot's live meter) gets
``money_format(currency)``: the same locale data taken apart (symbols, grouping, decimals), so it
writes every amount exactly as the server would, in every language."""

from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
)
from django.utils import translation

_LOCALES = {"en": "en_US", "es": "es_US"}


def is_known_currency(code: str) -> bool:
    return code in list_currencies()


def _locale() -> Locale:
    """The Babel locale of the active language (US English when Babel does not know it)."""
    language = translation.get_language() or "en"
    locale_name = _LOCALES.get(language.split("-")[0], language)
    try:
        return Locale.parse(locale_name)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


def _whole_pattern(locale: Locale) -> str:
    return locale.currency_formats["standard"].pattern.replace(".00", "").replace(",00", "")


def format_money(amount: Decimal | int, currency: str, *, cents: bool | None = None) -> str:
    """Format ``amount`` in ``currency``; whole amounts are shown without cents."""
    amount = Decimal(amount)
    locale = _locale()
    if cents is None:
        cents = amount != amount.to_integral_value()
    if cents:
        return format_currency(amount, currency, locale=locale)
    return format_currency(amount, currency, format=_whole_pattern(locale), locale=locale, currency_digits=False)


def money_format(currency: str) -> dict:
    """How ``format_money`` writes amounts of ``currency`` in the active language, as plain data for
    a script: the text before and after the number (the currency symbol in place, for positive and
    negative amounts), the group and decimal symbols, the sizes of the groups (the last group, then
    the others: 3 and 3, or 3 and 2 in India) and the digits after the decimal symbol when an amount
    is not whole. A whole amount has no decimals, as in ``format_money``."""
    locale = _locale()
    pattern = locale.currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale)

    def put(affix: str) -> str:
        return affix.replace("¤", symbol)

    return {
        "prefix": put(pattern.prefix[0]),
        "suffix": put(pattern.suffix[0]),
        "negativePrefix": put(pattern.prefix[1]),
        "negativeSuffix": put(pattern.suffix[1]),
        "group": get_group_symbol(locale),
        "decimal": get_decimal_symbol(locale),
        "grouping": list(pattern.grouping),
        "digits": get_currency_precision(currency),
    }
