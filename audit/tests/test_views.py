"""The audit pages and API: a permissions matrix (anonymous, resident, volunteer, vetting staff,
official, official without MFA, auditor) over every page and endpoint, the phase checks (before,
during and after voting; before and after certification), and what the pages show."""

import io
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from audit import services
from audit.models import Bundle
from core.models import AuditEvent
from voting import crypto
from voting.models import Ballot, BallotVoid
from voting.tests.builders import assert_roll_matches_ballots, voting_world

from .builders import cast, certify, close_voting, public_id, results_world

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "resident", "volunteer", "vetting_staff", "official", "official_without_mfa", "auditor")
AUDITORS = {"official", "auditor"}
OFFICIALS = {"official"}


@pytest.fixture
def users(resident, volunteer, vetting_staff, official, official_without_mfa, auditor):
    return {
        "anonymous": None,
        "resident": resident,
        "volunteer": volunteer,
        "vetting_staff": vetting_staff,
        "official": official,
        "official_without_mfa": official_without_mfa,
        "auditor": auditor,
    }


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def refused_properly(response, role: str, path: str) -> None:
    """The answer to a refused request: log in, set up MFA, or a 403 page."""
    if role == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    elif role == "official_without_mfa":
        assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    else:
        assert response.status_code == 403, (role, path, response.status_code)


@pytest.fixture
def counting_world(official, auditor, django_capture_on_commit_callbacks):
    """A cycle in counting with ballots and a ready auditor bundle."""
    world = results_world(official, certified=False)
    with django_capture_on_commit_callbacks(execute=True):
        bundle = services.bundle_request(actor=auditor, cycle=world.cycle)
    world.bundle = Bundle.objects.get(pk=bundle.pk)
    return world


# --- the HTML matrix ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_html_permissions_matrix(role, users, counting_world, denials):
    world, user = counting_world, users[role]
    slug = world.cycle.slug
    ballot = Ballot.objects.filter(district__code="A").order_by("id").first()
    code_for_lookup = "0000-0000-0000-0000-0000"
    client = client_for(user)
    pages = [
        ("get", reverse("audit_index"), {}, AUDITORS),
        ("get", reverse("audit_cycle", args=[slug]), {}, AUDITORS),
        ("post", reverse("audit_cycle", args=[slug]), {}, AUDITORS),
        ("get", reverse("audit_bundle_download", args=[world.bundle.pk]), {}, AUDITORS),
        ("get", reverse("audit_receipt", args=[slug]), {}, AUDITORS),
        ("post", reverse("audit_receipt", args=[slug]), {"code": code_for_lookup}, AUDITORS),
        ("get", reverse("staff_ballot_void", args=[slug]), {}, OFFICIALS),
        (
            "post",
            reverse("staff_ballot_void", args=[slug]),
            {"district": "A", "ballot_id": public_id(ballot), "reason": "Keying error"},
            OFFICIALS,
        ),
    ]
    for method, path, data, allowed in pages:
        bundles, voids = Bundle.objects.count(), BallotVoid.objects.count()
        denied, events = len(denials()), AuditEvent.objects.count()
        response = getattr(client, method)(path, data)
        if role in allowed:
            assert response.status_code in (200, 302), (role, path, response.status_code)
            if response.status_code == 302:
                assert not response["Location"].startswith(reverse("account_login"))
            assert len(denials()) == denied
        else:
            refused_properly(response, role, path)
            assert [d["path"] for d in denials()[denied:]] == [path]  # logged, outside the audit chain
            assert AuditEvent.objects.count() == events
            assert (Bundle.objects.count(), BallotVoid.objects.count()) == (bundles, voids)
    downloads = AuditEvent.objects.filter(action="bundle.download", actor_id=getattr(user, "pk", None))
    assert downloads.count() == (1 if role in AUDITORS else 0)
    assert BallotVoid.objects.filter(ballot=ballot).exists() == (role in OFFICIALS)
    assert_roll_matches_ballots()


def test_the_download_is_the_bundle(auditor, counting_world):
    response = client_for(auditor).get(reverse("audit_bundle_download", args=[counting_world.bundle.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["X-Content-SHA256"] == counting_world.bundle.sha256
    content = b"".join(response.streaming_content)
    assert set(zipfile.ZipFile(io.BytesIO(content)).namelist()) >= {"manifest.json", "ballots.csv", "A.pb"}
    assert 'filename="' in response["Content-Disposition"]


def test_the_cycle_page_shows_a_bundle_being_built_with_its_progress(auditor, official):
    world = results_world(official, certified=False)
    Bundle.objects.create(cycle=world.cycle, variant="auditor", status="building", progress=42, stage="A.pb")
    response = client_for(auditor).get(reverse("audit_cycle", args=[world.cycle.slug]))
    html = response.content.decode()
    assert '<progress id="progress-' in html and 'value="42"' in html and "(A.pb)" in html
    assert '<meta http-equiv="refresh" content="5">' in html  # reloads itself, no JavaScript needed
    assert 'role="status"' in html


def test_asking_for_a_bundle_from_the_page(auditor, official, django_capture_on_commit_callbacks):
    world = results_world(official, certified=False)
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("audit_cycle", args=[world.cycle.slug]))
    assert response.status_code == 302
    bundle = Bundle.objects.get()
    assert bundle.status == "ready"
    html = client.get(reverse("audit_cycle", args=[world.cycle.slug])).content.decode()
    assert reverse("audit_bundle_download", args=[bundle.pk]) in html and bundle.sha256 in html
    assert "http-equiv" not in html


def test_no_bundle_can_be_asked_for_while_voting(auditor, official):
    world = voting_world(official)
    client = client_for(auditor)
    html = client.get(reverse("audit_cycle", args=[world.cycle.slug])).content.decode()
    assert "The vote record can be exported once voting has closed." in html
    response = client.post(reverse("audit_cycle", args=[world.cycle.slug]), follow=True)
    assert "The vote record can be exported once voting has closed." in response.content.decode()
    assert not Bundle.objects.exists()


def test_the_receipt_page_shows_the_row(auditor, official):
    world = voting_world(official)
    code = cast(world, "A", ["A-02"], key="complainant")
    close_voting(world)
    ballot = Ballot.objects.get(receipt_hash=crypto.receipt_hash(code))
    client = client_for(auditor)
    html = client.post(reverse("audit_receipt", args=[world.cycle.slug]), {"code": code}).content.decode()
    assert public_id(ballot) in html and 'data-status="counted"' in html and code not in html
    html = client.post(reverse("audit_receipt", args=[world.cycle.slug]), {"code": "NOPE-NOPE"}).content.decode()
    assert "No ballot of this cycle has this receipt code." in html
    html = client.post(reverse("audit_receipt", args=[world.cycle.slug]), {"code": ""}).content.decode()
    assert 'role="alert"' in html


# --- voiding from the page, and its phases ---------------------------------------------------------------
def test_voiding_from_the_page(official):
    world = results_world(official, certified=False)
    ballot = Ballot.objects.filter(district__code="B").order_by("id").first()
    client = client_for(official)
    url = reverse("staff_ballot_void", args=[world.cycle.slug])
    response = client.post(url, {"district": "B", "ballot_id": public_id(ballot), "reason": ""})
    assert response.status_code == 200 and "Give the reason for voiding this ballot." in response.content.decode()
    response = client.post(url, {"district": "A", "ballot_id": public_id(ballot), "reason": "Keying error"})
    assert "There is no ballot with this id in this cycle." in response.content.decode()  # wrong district
    assert not BallotVoid.objects.exists()
    response = client.post(
        url, {"district": "B", "ballot_id": public_id(ballot), "reason": "Keying error"}, follow=True
    )
    html = response.content.decode()
    assert "Run the tally again before certifying the results." in html and "Keying error" in html
    response = client.post(url, {"district": "B", "ballot_id": public_id(ballot), "reason": "Again"})
    assert "This ballot is already void." in response.content.decode()
    assert BallotVoid.objects.count() == 1


@pytest.mark.parametrize("stage", ["voting", "results"])
def test_the_void_page_is_closed_outside_counting(official, stage):
    world = voting_world(official)
    cast(world, "A", ["A-01"], key="v")
    if stage == "results":
        close_voting(world)
        certify(world)
    ballot = Ballot.objects.get()
    client = client_for(official)
    url = reverse("staff_ballot_void", args=[world.cycle.slug])
    html = client.get(url).content.decode()
    assert "Ballots can be voided only during counting" in html and "<textarea" not in html
    response = client.post(url, {"district": "A", "ballot_id": public_id(ballot), "reason": "Keying error"})
    assert "Ballots can be voided only during counting" in response.content.decode()
    assert not BallotVoid.objects.exists()


def test_the_void_page_before_voting(official):
    from voting.tests.builders import vetting_world

    world = vetting_world(official)
    html = client_for(official).get(reverse("staff_ballot_void", args=[world.cycle.slug])).content.decode()
    assert "Ballots can be voided only during counting" in html


# --- the public record ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_the_public_record_exists_only_after_certification(role, users, official, django_capture_on_commit_callbacks):
    world = results_world(official, certified=False)
    client = client_for(users[role])
    assert client.get(reverse("public_record", args=[world.cycle.slug])).status_code == 404
    certify(world)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("public_record", args=[world.cycle.slug]))
    assert response.status_code == 200
    record = Bundle.objects.get(variant="public")
    download = reverse("public_record_download", args=[world.cycle.slug, record.pk])
    assert download in client.get(reverse("public_record", args=[world.cycle.slug])).content.decode()
    response = client.get(download)
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert "ballots.csv" in names
    # The public record's download link is not an auditor bundle's: that one stays closed.
    assert client.get(reverse("audit_bundle_download", args=[record.pk])).status_code == 404


def test_the_public_record_being_built_does_not_reload_itself(official, monkeypatch):
    """While the zip is built the page has no meta refresh: a "check again" link (no JavaScript) and
    the status endpoint its script asks (JavaScript); once built, the endpoint gives the link."""
    monkeypatch.setattr(services, "_dispatch", lambda bundle_id: None)  # the build waits for the test
    world = results_world(official)
    page = reverse("public_record", args=[world.cycle.slug])
    html = Client().get(page).content.decode()
    record = Bundle.objects.get(variant="public")
    status_url = reverse("public_record_status", args=[world.cycle.slug, record.pk])
    assert 'http-equiv="refresh"' not in html
    assert f'data-bundle-poll="{status_url}"' in html and "js/bundle-status.js" in html
    assert f'<a href="{page}">Check again</a>' in html
    assert 'role="status" aria-live="polite"' in html

    Bundle.objects.filter(pk=record.pk).update(status="building", progress=40, stage="ballots.csv")
    state = Client().get(status_url).json()
    assert state == {"status": "building", "progress": 40, "message": "Being built (ballots.csv)", "html": ""}

    Bundle.objects.filter(pk=record.pk).update(status="queued")  # as the task finds it
    services.bundle_build(bundle_id=record.pk)
    state = Client().get(status_url).json()
    download = reverse("public_record_download", args=[world.cycle.slug, record.pk])
    assert state["status"] == "ready" and f'href="{download}"' in state["html"]
    html = Client().get(page).content.decode()
    assert f'href="{download}"' in html and "Check again" not in html and "data-bundle-poll" not in html


def test_the_status_endpoint_knows_only_this_cycles_public_record(official, auditor, monkeypatch):
    monkeypatch.setattr(services, "_dispatch", lambda bundle_id: None)
    world = results_world(official)
    auditors = services.bundle_request(actor=auditor, cycle=world.cycle)
    assert Client().get(reverse("public_record_status", args=[world.cycle.slug, auditors.pk])).status_code == 404
    other = results_world(official)
    Client().get(reverse("public_record", args=[other.cycle.slug]))
    record = Bundle.objects.get(variant="public", cycle=other.cycle)
    assert Client().get(reverse("public_record_status", args=[world.cycle.slug, record.pk])).status_code == 404


def test_the_public_record_is_linked_from_the_cycle_page_once_certified(official):
    world = results_world(official)
    html = Client().get(reverse("cycle_detail", args=[world.cycle.slug])).content.decode()
    assert reverse("public_record", args=[world.cycle.slug]) in html


# --- the API matrix -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_api_permissions_matrix(role, users, counting_world, denials):
    world, user = counting_world, users[role]
    slug = world.cycle.slug
    ballot = Ballot.objects.filter(district__code="A").order_by("id").first()
    client = client_for(user)
    calls = [
        ("get", reverse("api-audit-bundle-list", args=[slug]), None, AUDITORS, 200),
        ("post", reverse("api-audit-bundle-list", args=[slug]), None, AUDITORS, 202),
        ("get", reverse("api-audit-bundle-detail", args=[world.bundle.pk]), None, AUDITORS, 200),
        ("get", reverse("api-audit-bundle-download", args=[world.bundle.pk]), None, AUDITORS, 200),
        ("post", reverse("api-audit-receipt-lookup", args=[slug]), {"code": "0000-0000"}, AUDITORS, 200),
        (
            "post",
            reverse("api-audit-ballot-void", args=[slug]),
            {"district": "A", "ballot_id": public_id(ballot), "reason": "Keying error"},
            OFFICIALS,
            201,
        ),
    ]
    for method, path, data, allowed, ok in calls:
        bundles, voids = Bundle.objects.count(), BallotVoid.objects.count()
        denied, events = len(denials()), AuditEvent.objects.count()
        response = getattr(client, method)(path, data, content_type="application/json")
        if role in allowed:
            assert response.status_code == ok, (role, path, response.status_code)
        else:
            assert response.status_code in (401, 403), (role, path, response.status_code)
            assert response["Content-Type"].startswith("application/problem+json")
            assert [(d["path"], d["status"]) for d in denials()[denied:]] == [(path, response.status_code)]
            assert AuditEvent.objects.count() == events
            assert (Bundle.objects.count(), BallotVoid.objects.count()) == (bundles, voids)
    assert BallotVoid.objects.filter(ballot=ballot).exists() == (role in OFFICIALS)


def test_api_bundle_and_receipt(auditor, official, django_capture_on_commit_callbacks):
    world = voting_world(official)
    code = cast(world, "A", ["A-02"], key="complainant")
    client = client_for(auditor)
    response = client.post(reverse("api-audit-bundle-list", args=[world.cycle.slug]))
    assert response.status_code == 409 and response.json()["code"] == "phase_closed"  # voting still open
    close_voting(world)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api-audit-bundle-list", args=[world.cycle.slug]))
    assert response.status_code == 202 and response.json()["status"] == "queued"
    detail = client.get(reverse("api-audit-bundle-detail", args=[response.json()["id"]])).json()
    assert detail["status"] == "ready" and detail["progress"] == 100
    assert detail["download"] == reverse("api-audit-bundle-download", args=[detail["id"]])
    found = client.post(
        reverse("api-audit-receipt-lookup", args=[world.cycle.slug]), {"code": code}, content_type="application/json"
    ).json()
    ballot = Ballot.objects.get(receipt_hash=crypto.receipt_hash(code))
    assert found == {"found": True, "ballot_id": public_id(ballot), "district": "A", "status": "counted"}


def test_api_public_record(official, django_capture_on_commit_callbacks):
    world = results_world(official, certified=False)
    client = Client()
    response = client.get(reverse("api-public-record", args=[world.cycle.slug]))
    assert response.status_code == 409
    certify(world)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("api-public-record", args=[world.cycle.slug]))
    assert response.status_code == 200
    body = client.get(reverse("api-public-record", args=[world.cycle.slug])).json()
    assert body["variant"] == "public" and body["status"] == "ready"
    download = client.get(body["download"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"


def test_api_void_errors(official):
    world = results_world(official, certified=False)
    ballot = Ballot.objects.filter(district__code="A").order_by("id").first()
    client = client_for(official)
    url = reverse("api-audit-ballot-void", args=[world.cycle.slug])
    response = client.post(
        url, {"district": "A", "ballot_id": public_id(ballot), "reason": " "}, content_type="application/json"
    )
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    response = client.post(url, {"district": "A", "ballot_id": "nope", "reason": "x"}, content_type="application/json")
    assert response.status_code == 404
    assert (
        client.post(
            url, {"district": "A", "ballot_id": public_id(ballot), "reason": "x"}, content_type="application/json"
        ).status_code
        == 201
    )
    second = client.post(
        url, {"district": "A", "ballot_id": public_id(ballot), "reason": "x"}, content_type="application/json"
    )
    assert second.status_code == 409 and second.json()["code"] == "already_void"
