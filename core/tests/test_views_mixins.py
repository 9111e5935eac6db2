"""core.views_mixins: the one answer to each service error, the gate, and where a refused visitor comes
back to after logging in."""

from types import SimpleNamespace
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

from core.errors import ApplicationError, Conflict, NotAllowed, NotFound, PhaseClosed, ValidationFailed
from core.views_mixins import apply_errors, gate, service_call, why_not
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db

ASSIGN = reverse("vetting_idea_assign", args=[1])  # a POST-only staff action
IDEA_PAGE = reverse("vetting_idea", args=[1])


def _next_of(response) -> str:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    return parse_qs(location.query)["next"][0]


def test_a_refused_page_comes_back_to_itself(client):
    assert _next_of(client.get(f"{IDEA_PAGE}?tab=history")) == f"{IDEA_PAGE}?tab=history"


def test_a_form_sent_after_the_session_expired_comes_back_to_its_page_not_to_the_post_url(client):
    response = client.post(ASSIGN, {"reviewer": "1"}, HTTP_REFERER=f"http://testserver{IDEA_PAGE}?tab=review")
    assert _next_of(response) == f"{IDEA_PAGE}?tab=review"  # a GET that works, where the form was


@pytest.mark.parametrize("referer", ["", "https://evil.example/phish", "javascript:alert(1)"])
def test_without_a_referer_of_this_site_a_refused_form_comes_back_home(client, referer):
    response = client.post(ASSIGN, {"reviewer": "1"}, HTTP_REFERER=referer)
    assert _next_of(response) == reverse("home")


# --- service_call and gate: one answer to each error ------------------------------------------------------
class _NameForm(forms.Form):
    name = forms.CharField(required=False)
    reason = forms.CharField(required=False)


def _request(rf, user=None, method="post"):
    request = getattr(rf, method)("/staff/somewhere/", {"name": "x"})
    request.user = user or AnonymousUser()
    request.session = {}
    request._messages = CookieStorage(request)
    return request


def _messages(request) -> list[str]:
    return [str(m) for m in request._messages]


def test_without_an_error_the_block_runs_and_nothing_is_answered(rf, resident):
    request = _request(rf, resident)
    with service_call(request, form=_NameForm({}), back="/back/") as call:
        result = 42
    assert (result, call.response, call.error) == (42, None, None)


def test_a_refusal_of_who_is_denied_and_logged_naming_the_object(rf, resident, denials):
    cycle = CycleFactory()
    request = _request(rf, resident)
    with service_call(request, about=cycle, form=_NameForm({}), back="/back/") as call:
        raise NotAllowed("Not for you.")
    assert call.response.status_code == 403
    assert b"Not for you." in call.response.content
    [denial] = denials()
    assert (denial["object_type"], denial["object_id"], denial["status"]) == ("cycle", str(cycle.pk), 403)


def test_a_denial_names_a_model_in_snake_case_or_an_explicit_pair(rf, resident, denials):
    site = SimpleNamespace(_meta=SimpleNamespace(object_name="VotingSite"), pk=12)
    for about, named in ((site, ("voting_site", "12")), (("paper_batch", 7), ("paper_batch", "7"))):
        with service_call(_request(rf, resident), about=about):
            raise NotAllowed()
        assert (denials()[-1]["object_type"], denials()[-1]["object_id"]) == named


def test_a_visitor_not_logged_in_is_sent_to_log_in(rf):
    with service_call(_request(rf, method="get"), back="/back/") as call:
        raise NotAllowed()
    assert call.response.status_code == 302
    assert urlsplit(call.response["Location"]).path == reverse("account_login")


def test_staff_without_mfa_are_sent_to_set_it_up(rf, official_without_mfa):
    request = _request(rf, official_without_mfa)
    with service_call(request) as call:
        raise NotAllowed("Set up MFA.", extra={"mfa": ["required"]})
    assert call.response["Location"] == reverse("mfa_activate_totp")
    assert _messages(request) == ["Set up MFA."]


def test_details_go_on_the_form_fields_and_the_page_is_shown_again(rf, resident):
    form = _NameForm({})
    form.is_valid()
    with service_call(_request(rf, resident), form=form, back="/back/") as call:
        raise ValidationFailed(extra={"name": ["Too short."], "elsewhere": ["Not a field."]})
    assert call.response is None
    assert isinstance(call.error, ValidationFailed)
    assert form.errors == {"name": ["Too short."], "__all__": ["Not a field."]}


def test_a_closed_phase_with_details_about_fields_goes_on_the_form_too(rf, resident):
    form = _NameForm({})
    form.is_valid()
    with service_call(_request(rf, resident), form=form, back="/back/") as call:
        raise PhaseClosed("Frozen.", extra={"reason": ["Frozen since voting opened."]})
    assert call.response is None
    assert form.errors == {"reason": ["Frozen since voting opened."]}


@pytest.mark.parametrize(
    "error", [Conflict("Changed meanwhile."), PhaseClosed("Changed meanwhile."), NotFound("Changed meanwhile.")]
)
def test_a_refusal_of_the_whole_request_is_a_message_and_a_redirect_back(rf, resident, error):
    request = _request(rf, resident)
    form = _NameForm({})
    form.is_valid()
    with service_call(request, form=form, back="/back/") as call:
        raise error
    assert (call.response.status_code, call.response["Location"]) == (302, "/back/")
    assert _messages(request) == ["Changed meanwhile."]
    assert form.errors == {}


def test_back_may_be_a_response(rf, resident):
    back = redirect("home")
    with service_call(_request(rf, resident), back=back) as call:
        raise Conflict()
    assert call.response is back


def test_back_on_narrows_what_goes_back_the_rest_goes_on_the_form(rf, resident):
    request = _request(rf, resident)
    form = _NameForm({})
    form.is_valid()
    with service_call(request, form=form, back="/back/", back_on=PhaseClosed) as call:
        raise Conflict("You have already sent one.")
    assert call.response is None
    assert form.errors == {"__all__": ["You have already sent one."]}
    assert _messages(request) == []


def test_other_errors_go_on_top_of_the_form(rf, resident):
    form = _NameForm({})
    form.is_valid()
    with service_call(_request(rf, resident), form=form, back="/back/") as call:
        raise ApplicationError("Too many at once.")
    assert call.response is None
    assert form.errors == {"__all__": ["Too many at once."]}


def test_without_a_form_any_error_is_a_message_with_its_details_and_a_redirect_back(rf, resident):
    request = _request(rf, resident)
    with service_call(request, back="/back/") as call:
        raise ApplicationError("Refused.", extra={"tally": ["No ballots.", "A tie."]})
    assert call.response["Location"] == "/back/"
    assert _messages(request) == ["No ballots. A tie."]


def test_not_found_with_nowhere_to_show_it_is_a_404(rf, resident):
    with pytest.raises(Http404), service_call(_request(rf, resident)):
        raise NotFound()


@pytest.mark.parametrize("error", [Conflict("Unhandled."), ValueError("A bug.")])
def test_an_error_the_page_cannot_show_propagates(rf, resident, error):
    with pytest.raises(type(error)), service_call(_request(rf, resident)):
        raise error


def test_apply_errors_puts_prefixed_keys_on_sub_forms(rf):
    form, english, spanish = _NameForm({}), _NameForm({}), _NameForm({})
    rows = [_NameForm({}), _NameForm({})]
    formset = mock.Mock(non_form_errors=list)
    for f in (form, english, spanish, *rows):
        f.is_valid()
    error = ValidationFailed(
        extra={
            "texts.en.name": ["English name."],
            "texts.es": ["Spanish text."],
            "texts.fr.name": ["No French form."],
            "rows.1.reason": ["Second row."],
            "rows.9.reason": ["No such row."],
        }
    )
    apply_errors(error, form, prefix_forms={"texts": {"en": english, "es": spanish}, "rows": (rows, formset)})
    assert english.errors == {"name": ["English name."]}
    assert spanish.errors == {"__all__": ["Spanish text."]}
    assert rows[1].errors == {"reason": ["Second row."]} and rows[0].errors == {}
    assert formset._non_form_errors == ["No such row."]
    assert form.errors == {"__all__": ["No French form."]}


def _officials_only(user):
    raise NotAllowed("Officials only.")


def _closed_phase(user):
    raise PhaseClosed("Ideas are closed.")


def test_gate_lets_through_whom_the_check_lets_through(rf, resident):
    assert gate(_request(rf, resident), lambda user: None) is None


def test_gate_denies_naming_the_object(rf, resident, denials):
    cycle = CycleFactory()
    response = gate(_request(rf, resident), _officials_only, cycle)
    assert response.status_code == 403
    assert denials()[-1]["object_id"] == str(cycle.pk)


def test_gate_sends_a_closed_phase_back_with_its_message(rf, resident):
    request = _request(rf, resident)
    response = gate(request, _closed_phase, back="/cycle/")
    assert response["Location"] == "/cycle/"
    assert _messages(request) == ["Ideas are closed."]


def test_gate_without_a_page_to_go_back_to_never_lets_a_closed_phase_through(rf, resident):
    with pytest.raises(PhaseClosed):
        gate(_request(rf, resident), _closed_phase)


def test_why_not_says_what_a_page_shows_instead_of_a_form():
    assert why_not(_closed_phase, None) == "Ideas are closed."
    assert why_not(lambda user: None, None) is None
