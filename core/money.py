"""Money: Decimal amounts in a cycle's ISO 4217 currency, formatted for the active language."""

from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, list_currencies
from django.utils import translation

_LOCALES = {"en": "en_US", "es": "es_US"}


def is_known_currency(code: str) -> bool:
    return code in list_currencies()


def format_money(amount: Decimal | int, currency: str, *, cents: bool | None = None) -> str:
    """Format ``amount`` in ``currency``; whole amounts are shown without cents."""
    amount = Decimal(amount)
    language = translation.get_language() or "en"
    locale_name = _LOCALES.get(language.split("-")[0], language)
    try:
        locale = Locale.parse(locale_name)
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en_US")
    if cents is None:
        cents = amount != amount.to_integral_value()
    if cents:
        return format_currency(amount, currency, locale=locale)
    pattern = locale.currency_formats["standard"].pattern.replace(".00", "").replace(",00", "")
    return format_currency(amount, currency, format=pattern, locale=locale, currency_digits=False)
