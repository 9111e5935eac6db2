"""The officials' cycle pages when the cycle changed under them: a second tab, a removed date."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.html import escape

from budgets import services
from budgets.phases import Phase
from tests.factories import CycleFactory

from .helpers import cycle_events
from .test_views import _counts, _edit_form_post, _local, _under_way

pytestmark = pytest.mark.django_db


@pytest.fixture
def official_client(client, official):
    client.force_login(official)
    return client


def _version(html) -> str:
    match = re.search(r'<input type="hidden" name="version" value="([0-9a-f]+)"', html)
    assert match, "the edit page carries the version it was loaded from"
    return match.group(1)


# --- a date that was set is moved, not removed --------------------------------------------------------
@pytest.mark.parametrize("field", ["vetting_open_at", "voting_close_at"])
@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "A date can be moved, not removed."), ("es", "Una fecha puede moverse, pero no quitarse.")],
)
def test_emptying_a_date_of_a_cycle_under_way_is_refused_on_the_field(official_client, field, language, message):
    cycle = _under_way()
    before = (_counts(), getattr(cycle, field))
    post = _edit_form_post(cycle, reason="Not needed any more.", **{field: ""})
    response = official_client.post(reverse("staff_cycle_edit", args=[cycle.slug]), post, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(rf'id="id_{field}_error"[^>]*>.*?{re.escape(escape(message))}', html, re.S), html[:4000]
    cycle.refresh_from_db()
    assert (_counts(), getattr(cycle, field)) == before
    assert not cycle_events(cycle, "cycle.date_moved").exists()


def test_the_service_refuses_to_remove_a_date_once_under_way(official):
    cycle = _under_way()
    with pytest.raises(services.ValidationFailed) as caught:
        services.cycle_update(actor=official, cycle=cycle, voting_close_at=None, reason="Why not.")
    assert caught.value.extra == {"voting_close_at": [services.MSG_DATE_NOT_REMOVABLE]}
    cycle.refresh_from_db()
    assert cycle.voting_close_at is not None


def test_in_draft_a_date_can_still_be_cleared(official_client):
    cycle = _under_way(Phase.DRAFT, ideas_open_at=3, vetting_open_at=10, voting_open_at=30, voting_close_at=40)
    post = _edit_form_post(cycle, voting_close_at="")
    response = official_client.post(reverse("staff_cycle_edit", args=[cycle.slug]), post)
    assert response.status_code == 302, response.content.decode()[:3000]
    cycle.refresh_from_db()
    assert cycle.voting_close_at is None


# --- two tabs: a save from a stale page is refused ------------------------------------------------------
STALE_EN = (
    "This cycle was changed by someone else since you opened this page: reload it to see the changes; "
    "nothing was saved."
)
STALE_ES = (
    "Otra persona ha cambiado este ciclo desde que abrió esta página: vuelva a cargarla para ver los "
    "cambios; no se ha guardado nada."
)


@pytest.mark.parametrize(("language", "message"), [("en", STALE_EN), ("es", STALE_ES)])
def test_a_save_from_a_page_loaded_before_another_tab_saved_is_refused(official_client, language, message):
    cycle = _under_way()
    url = reverse("staff_cycle_edit", args=[cycle.slug])
    token = _version(official_client.get(url).content.decode())  # tab A and tab B load the page
    moved = {
        "voting_open_at": _local(cycle.voting_open_at + timedelta(days=2), cycle),
        "voting_close_at": _local(cycle.voting_close_at + timedelta(days=2), cycle),
    }
    tab_b = _edit_form_post(cycle, reason="The hall is booked.", version=token, **moved)
    assert official_client.post(url, tab_b).status_code == 302  # tab B moves two dates
    cycle.refresh_from_db()
    after_b = (_counts(), cycle.name, cycle.voting_open_at, cycle.voting_close_at)

    old_dates = {f: _local(getattr(cycle, f) - timedelta(days=2), cycle) for f in moved}
    tab_a = _edit_form_post(cycle, name="Renamed in tab A", reason="", version=token, **old_dates)
    response = official_client.post(url, tab_a, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 409
    html = response.content.decode()
    assert escape(message) in html
    assert escape(str(services.MSG_DATE_REASON)) not in html  # not asked for a reason for a move it did not make
    assert f'value="{escape(cycle.name)}"' in html and "Renamed in tab A" not in html  # the current values
    assert f'value="{moved["voting_open_at"]}"' in html
    assert _version(html) != token
    cycle.refresh_from_db()
    assert (_counts(), cycle.name, cycle.voting_open_at, cycle.voting_close_at) == after_b


def test_a_save_with_the_current_version_goes_through(official_client):
    cycle = _under_way()
    url = reverse("staff_cycle_edit", args=[cycle.slug])
    token = _version(official_client.get(url).content.decode())
    assert official_client.post(url, _edit_form_post(cycle, name="First", version=token)).status_code == 302
    token = _version(official_client.get(url).content.decode())
    cycle.refresh_from_db()
    assert official_client.post(url, _edit_form_post(cycle, name="Second", version=token)).status_code == 302
    cycle.refresh_from_db()
    assert cycle.name == "Second"


# --- advance from a stale tab ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "first", "second"),
    [
        (
            "en",
            "The cycle is now in the “Vetting” phase.",
            "The cycle was already in the “Vetting” phase; nothing changed.",
        ),
        (
            "es",
            "El ciclo ahora está en la fase “Revisión”.",
            "El ciclo ya estaba en la fase “Revisión”; no ha cambiado nada.",
        ),
    ],
)
def test_advancing_again_from_a_second_tab_says_nothing_changed(
    official_client, clean_transitions, language, first, second
):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    url = reverse("staff_cycle_advance", args=[cycle.slug])
    post = {"target": "vetting", "reason": "Ideas collected."}
    html = official_client.post(url, post, follow=True, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert escape(first) in html
    post["reason"] = "Tab B."
    html = official_client.post(url, post, follow=True, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert escape(second) in html and escape(first) not in html
    (event,) = cycle_events(cycle)
    assert event.reason == "Ideas collected."
