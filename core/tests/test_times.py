"""Times for people: the cycle's wall clock, the active language's format, the zone in words —
never the server's UTC (the settings keep TIME_ZONE = "UTC")."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from core import times

NEW_YORK = ZoneInfo("America/New_York")
AUCKLAND = ZoneInfo("Pacific/Auckland")
# 8 p.m. on Jan 31 in New York is 01:00 UTC on Feb 1; 9 a.m. on Jan 10 in Auckland is 20:00 UTC on Jan 9.
NY_CLOSE = datetime(2027, 1, 31, 20, 0, tzinfo=NEW_YORK)
AK_OPEN = datetime(2027, 1, 10, 9, 0, tzinfo=AUCKLAND)


class _Cycle:
    def __init__(self, time_zone):
        self.time_zone = time_zone


def test_the_server_runs_in_utc():
    assert settings.TIME_ZONE == "UTC"  # so every case below is far from the server's zone


@pytest.mark.parametrize(
    ("language", "value", "zone", "expected"),
    [
        ("en", NY_CLOSE, "America/New_York", "Jan. 31, 2027, 8 p.m. (Eastern Time)"),
        ("es", NY_CLOSE, "America/New_York", "31 de enero de 2027 a las 20:00 (hora oriental)"),
        ("en", AK_OPEN, "Pacific/Auckland", "Jan. 10, 2027, 9 a.m. (New Zealand Time)"),
        ("es", AK_OPEN, "Pacific/Auckland", "10 de enero de 2027 a las 09:00 (hora de Nueva Zelanda)"),
        ("en", NY_CLOSE, "UTC", "Feb. 1, 2027, 1 a.m. (Coordinated Universal Time)"),
    ],
)
def test_a_moment_reads_in_the_cycles_zone_and_language(language, value, zone, expected):
    with translation.override(language):
        assert times.format_datetime(value.astimezone(ZoneInfo("UTC")), zone) == expected
        assert times.format_datetime(value, _Cycle(zone)) == expected  # a cycle works as well as its zone


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Jan. 10, 2027 · Jan. 31, 2027"), ("es", "10 de enero de 2027 · 31 de enero de 2027")],
)
def test_a_day_is_the_cycles_day(language, expected):
    with translation.override(language):
        days = f"{times.format_date(AK_OPEN, 'Pacific/Auckland')} · {times.format_date(NY_CLOSE, 'America/New_York')}"
    assert days == expected
    assert times.local_date(AK_OPEN, "Pacific/Auckland") == date(2027, 1, 10)  # UTC says Jan 9
    assert times.format_date(date(2027, 1, 10), "Pacific/Auckland") == "Jan. 10, 2027"  # a calendar date as it is


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_template_filters_do_not_fall_back_to_utc(language):
    template = Template(
        "{% load pb %}{{ close|when:cycle }}|{{ close|when_day:cycle.time_zone }}|"
        "{{ cycle|zone_name }}|{{ none|when:cycle }}"
    )
    with translation.override(language):
        html = template.render(Context({"close": NY_CLOSE, "cycle": _Cycle("America/New_York"), "none": None}))
    expected = {
        "en": "Jan. 31, 2027, 8 p.m. (Eastern Time)|Jan. 31, 2027|Eastern Time|",
        "es": "31 de enero de 2027 a las 20:00 (hora oriental)|31 de enero de 2027|hora oriental|",
    }[language]
    assert html == expected


# --- wall-clock times the clocks skip or repeat; plain calendar dates ------------------------------
def test_a_wall_clock_time_names_one_moment_or_is_refused():
    auckland = ZoneInfo("Pacific/Auckland")
    assert times.aware_from_wall_clock(datetime(2027, 9, 26, 3, 30), "Pacific/Auckland") == datetime(
        2027, 9, 26, 3, 30, tzinfo=auckland
    )
    with pytest.raises(times.NonexistentTime):  # 02:00 → 03:00: 02:30 never happens
        times.aware_from_wall_clock(datetime(2027, 9, 26, 2, 30), "Pacific/Auckland")
    with pytest.raises(times.AmbiguousTime):  # 03:00 → 02:00: 02:30 happens twice
        times.aware_from_wall_clock(datetime(2027, 4, 4, 2, 30), "Pacific/Auckland")
    with pytest.raises(times.NonexistentTime):
        times.aware_from_wall_clock(datetime(2027, 3, 14, 2, 30), "America/New_York")
    assert times.aware_from_wall_clock(datetime(2027, 3, 14, 2, 30), "UTC").utcoffset().total_seconds() == 0


def test_a_calendar_date_in_the_active_language():
    with translation.override("en"):
        assert times.format_day(date(1985, 3, 14)) == "March 14, 1985"
    with translation.override("es"):
        assert times.format_day(date(1985, 3, 14)) == "14 de marzo de 1985"
    assert times.format_day(None) == ""


_LAST_ASKED = Template(
    "{% load i18n pb %}{% filter single_stop %}{% blocktranslate with when=value %}Last asked for: {{ when }}."
    "{% endblocktranslate %}{% endfilter %}"
)


@pytest.mark.parametrize(
    ("language", "value", "expected"),
    [
        # A time whose format ends with an abbreviation brings its own full stop.
        ("en", times.format_datetime(NY_CLOSE, NEW_YORK, with_zone=False), "Last asked for: Jan. 31, 2027, 8 p.m."),
        ("es", "31 de enero de 2027, 8:00 p. m.", "Última solicitud: 31 de enero de 2027, 8:00 p. m."),
        # One that does not gets the sentence's.
        ("en", times.format_datetime(NY_CLOSE, NEW_YORK), "Last asked for: Jan. 31, 2027, 8 p.m. (Eastern Time)."),
        ("es", "31 de enero de 2027 a las 20:00", "Última solicitud: 31 de enero de 2027 a las 20:00."),
    ],
)
def test_a_sentence_ending_with_a_time_has_one_full_stop(language, value, expected):
    with translation.override(language):
        assert _LAST_ASKED.render(Context({"value": value})) == expected


def test_one_full_stop_across_closing_tags_and_ellipses_and_links_untouched():
    assert (
        times.single_stop("Voting now closes at <time>8 p.m.</time>.")
        == "Voting now closes at <time>8 p.m.</time>."[:-1]
    )
    assert times.single_stop('Wait... then <a href="../x">go</a>.') == 'Wait... then <a href="../x">go</a>.'
    assert times.single_stop("Valid until 8 p.m.. Keep this card.") == "Valid until 8 p.m. Keep this card."


def test_a_stop_inside_an_escaped_value_stays_escaped():
    rendered = Template("{% load pb %}{% filter single_stop %}<p>{{ value }}.</p>{% endfilter %}").render(
        Context({"value": "<b>8 p.m.</b>"})
    )
    assert rendered == "<p>&lt;b&gt;8 p.m.&lt;/b&gt;.</p>"
