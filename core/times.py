"""Times for people: every moment a person reads (pages, e-mails, PDFs, API messages) is shown in
the cycle's own time zone, in the active language's format, with the zone named in words.

The server runs in UTC. Django's ``date`` filter converts an aware datetime back to the current time
zone before formatting, so a value converted to the cycle's zone and then passed through ``date``
comes out in UTC again; these helpers format the converted value themselves instead.
"""

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import get_timezone_name
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

# A zone with no region of its own (UTC, Etc/…): Babel's generic name reads "Unknown Region";
# the specific name ("Coordinated Universal Time") is the right one.
_NO_REGION = ("UTC", "Etc/")


def zone_of(where) -> ZoneInfo:
    """A cycle (anything with ``time_zone``), a zone name or a ``ZoneInfo``."""
    if isinstance(where, ZoneInfo):
        return where
    return ZoneInfo(getattr(where, "time_zone", where) or "UTC")


def babel_locale() -> Locale:
    """The active language's Babel locale (English when Babel does not know it)."""
    language = translation.get_language() or "en"
    try:
        return Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def zone_name(where, *, at: datetime | None = None) -> str:
    """The zone in words in the active language: "Eastern Time", "hora de Nueva Zelanda"."""
    zone = zone_of(where)
    locale = babel_locale()
    if zone.key.startswith(_NO_REGION):
        return get_timezone_name((at or timezone.now()).astimezone(zone), width="long", locale=locale)
    return get_timezone_name(zone, width="long", locale=locale)


class WallClockError(ValueError):
    """A typed wall-clock time that does not name exactly one moment in the zone."""


class NonexistentTime(WallClockError):
    """The clocks jump forward over this time (the start of daylight saving time)."""


class AmbiguousTime(WallClockError):
    """The clocks go back over this time, so it happens twice (the end of daylight saving time)."""


def aware_from_wall_clock(value: datetime, where) -> datetime:
    """The moment a wall-clock time names in the cycle's zone; refuses a time the clocks skip
    (``NonexistentTime``) or repeat (``AmbiguousTime``) rather than picking one silently."""
    zone = zone_of(where)
    naive = value.replace(tzinfo=None, fold=0)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            raise NonexistentTime(naive)
        raise AmbiguousTime(naive)
    return first


def local(value: datetime, where) -> datetime:
    """The aware ``value`` as the cycle's wall clock (still aware, in the cycle's zone)."""
    return timezone.localtime(value, zone_of(where))


def local_date(value: datetime, where) -> date:
    """The cycle's calendar day of the moment ``value``."""
    return local(value, where).date()


def format_datetime(value: datetime | None, where, *, with_zone: bool = True, fmt: str = "DATETIME_FORMAT") -> str:
    """ "Jan. 31, 2027, 8 p.m. (Eastern Time)" / "31 de enero de 2027 a las 20:00 (hora oriental)"."""
    if value is None:
        return ""
    text = formats.date_format(local(value, where), fmt)
    if not with_zone:
        return text
    return gettext("%(when)s (%(zone)s)") % {"when": text, "zone": zone_name(where, at=value)}


def format_date(value: datetime | date | None, where, *, fmt: str = "DATE_FORMAT") -> str:
    """The cycle's day of ``value`` (a moment; a calendar date is shown as it is): "Jan. 31, 2027"."""
    if value is None:
        return ""
    day = local_date(value, where) if isinstance(value, datetime) else value
    return formats.date_format(day, fmt)


def format_day(value: date | None, *, fmt: str = "DATE_FORMAT") -> str:
    """A calendar date that belongs to no zone (a date of birth, a voting day) in the active
    language's format: "March 14, 1985" / "14 de marzo de 1985"."""
    if value is None:
        return ""
    return formats.date_format(value, fmt)


# A full stop written after a value that already ends with one ("8 p.m." + "."), possibly with closing
# tags between them ("p.m.</time>."); an ellipsis and a relative link ("../") are not doubled stops.
_DOUBLE_STOP = re.compile(r"(?<!\.)\.((?:</[A-Za-z][A-Za-z0-9]*>)*)\.(?!\.)(?=\s|<|$)")


def single_stop(text: str) -> str:
    """A sentence that ends with a formatted time ends with one full stop, whatever the time format
    ends with: "Last asked for: Jan. 31, 2027, 8 p.m." — not "…p.m..". Sentences put the stop after
    the time in their translated text; this drops it where the time brought its own."""
    return _DOUBLE_STOP.sub(r".\1", text)
