"""Implementation updates on funded projects (``services.implementation``, ``selectors.implementation``):
who may post and when, who is told (everyone in the project's chain, once, as they asked), nothing
stored on bad input, photos checked and cleaned, and the public list on the project page (newest
first)."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from PIL import Image

from allocation.services import tally
from budgets.models import Cycle
from budgets.phases import Phase
from budgets.services import cycle_transition
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent, Notification
from proposals import permissions, selectors, services
from proposals.images import MSG_NOT_AN_IMAGE
from proposals.models import Project, ProjectUpdate
from tests.factories import CycleFactory, user_with_role
from voting import methods
from voting import services as voting_services
from voting.tests.builders import assert_roll_matches_ballots, voter

from .builders import move, new_resident, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roll_matches_ballots_after_each_test(db):
    yield
    assert_roll_matches_ballots()  # voter-roll entries = ballots per district, whatever happened


A_BALLOTS = [("A-03",)] * 6 + [("A-01",)] * 3 + [("A-02",)] * 3  # greedy funds


class World:
    pass


def implementation_world(official, *, phase: str = Phase.IMPLEMENTATION) -> World:
    """Ward A: A-01 and A-03 made from idea 1, A-02 from idea 2; residents who proposed, endorsed
    and followed; voted, tallied (greedy funds A-01 and A-03), certified, then ``phase``."""
    w = World()
    w.official = official
    cycle = CycleFactory(ideas=True, wards="AB")
    w.author, w.endorser, w.idea_follower, w.project_follower = (new_resident() for _ in range(4))
    w.everywhere, w.muted, w.gone, w.other_author, w.stranger = (new_resident() for _ in range(5))
    w.muted.notifications_enabled = False
    w.muted.save(update_fields=["notifications_enabled"])
    w.idea = submit(cycle, w.author)  # the author follows it too
    w.idea2 = submit(cycle, w.other_author, title="Benches on Grove Street")
    for user in (w.endorser, w.everywhere, w.muted, w.gone):
        services.idea_endorse(actor=user, idea=w.idea)
    services.follow_set(actor=w.idea_follower, idea=w.idea)
    services.follow_set(actor=w.everywhere, idea=w.idea)
    move(cycle, official, Phase.VETTING)
    from .builders import make_project

    w.a01 = make_project(cycle, official, [w.idea], code="A-01", cost="20000")
    w.a02 = make_project(cycle, official, [w.idea2], code="A-02", cost="15000")
    w.a03 = make_project(cycle, official, [w.idea], code="A-03", cost="30000")
    services.follow_set(actor=w.project_follower, project=w.a01)
    services.follow_set(actor=w.everywhere, project=w.a01)
    cycle = move(cycle, official, Phase.VOTING)
    for n, choices in enumerate(A_BALLOTS):
        voting_services.ballot_cast(
            voter=voter(f"impl-{n}"), district=cycle.districts.get(code="A"), ballot=methods.Ballot(choices=choices)
        )
    cycle = cycle_transition(actor=official, cycle=cycle, target=Phase.COUNTING, reason="Test: close.")
    tally.tally_cycle(cycle=cycle)
    cycle = tally.cycle_certify(actor=official, cycle=cycle, reason="Test.")
    if phase == Phase.IMPLEMENTATION:
        cycle = cycle_transition(actor=official, cycle=cycle, target=Phase.IMPLEMENTATION, reason="Building starts.")
    w.gone.is_active = False
    w.gone.save(update_fields=["is_active"])
    w.cycle = cycle
    return w


def png(size=(12, 8)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 140, 60)).save(out, format="PNG")
    return SimpleUploadedFile("site.png", out.getvalue(), content_type="image/png")


def written() -> dict[str, int]:
    return {
        "updates": ProjectUpdate.objects.count(),
        "notifications": Notification.objects.filter(kind="project.update").count(),
        "audit": AuditEvent.objects.filter(action="project.update_posted").count(),
    }


NOTHING = {"updates": 0, "notifications": 0, "audit": 0}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def world(official):
    return implementation_world(official)


# --- posting -------------------------------------------------------------------------------------------
def test_an_official_posts_an_update_and_the_chain_is_told_once_each(world, media):
    update = services.project_update_post(
        actor=world.official,
        project=world.a01,
        status="in_progress",
        note="  Digging started on Monday. ",
        photo=png(),
    )
    assert (update.status, update.note, update.author_id) == (
        "in_progress",
        "Digging started on Monday.",
        world.official.pk,
    )
    assert update.photo and update.photo.name.startswith("updates/") and update.photo.name.endswith(".png")
    sent = Notification.objects.filter(kind="project.update")
    told = sorted(sent.values_list("recipient_id", flat=True))
    # Author (proposed and follows), endorser, idea follower, project follower, and the resident who
    # endorsed and followed both idea and project (once); not the muted one, not the deactivated
    # one, not the author of another project's idea, not a stranger, not the official.
    expected = sorted(
        u.pk for u in (world.author, world.endorser, world.idea_follower, world.project_follower, world.everywhere)
    )
    assert told == expected
    one = sent.get(recipient=world.everywhere)
    assert one.subject == "News on project A-01: In progress"
    assert "Drinking fountains" in one.body and "Digging started on Monday." in one.body
    [event] = AuditEvent.objects.filter(action="project.update_posted")
    assert (event.actor_id, event.object_id) == (world.official.pk, str(world.a01.pk))
    assert event.after == {
        "update": update.pk,
        "status": "in_progress",
        "note": "Digging started on Monday.",
        "photo": True,
    }
    assert_roll_matches_ballots()


def test_a_spanish_speaker_is_told_in_spanish(world):
    world.endorser.language = "es"
    world.endorser.save(update_fields=["language"])
    services.project_update_post(actor=world.official, project=world.a01, status="done", note="Listo.")
    body = Notification.objects.get(kind="project.update", recipient=world.endorser).body
    assert "Fuentes de agua" in body  # the project's Spanish title


def test_the_photo_is_optional(world):
    update = services.project_update_post(
        actor=world.official, project=world.a03, status="planned", note="Design in the spring."
    )
    assert not update.photo
    # A-03 comes from the same idea; the resident who follows only A-01 is not in its chain.
    told = set(Notification.objects.filter(kind="project.update").values_list("recipient_id", flat=True))
    assert told == {u.pk for u in (world.author, world.endorser, world.idea_follower, world.everywhere)}


@pytest.mark.parametrize(
    "status, note, expected",
    [
        ("", "A note.", {"status": ["Choose planned, in progress or done."]}),
        ("finished", "A note.", {"status": ["Choose planned, in progress or done."]}),
        ("done", "   ", {"note": ["This field is required."]}),
        ("done", "x" * 2001, {"note": ["Please keep this under 2000 characters (it has 2001)."]}),
        ("", "", {"status": ["Choose planned, in progress or done."], "note": ["This field is required."]}),
    ],
)
def test_bad_input_stores_nothing(world, status, note, expected):
    with pytest.raises(ValidationFailed) as exc:
        services.project_update_post(actor=world.official, project=world.a01, status=status, note=note)
    assert {k: [str(m) for m in v] for k, v in exc.value.extra.items()} == expected
    assert written() == NOTHING


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("site.jpg", b"not an image at all", content_type="image/jpeg"),
        SimpleUploadedFile("site.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", content_type="image/gif"),
    ],
)
def test_a_photo_that_is_not_a_usable_image_stores_nothing(world, media, upload):
    with pytest.raises(ValidationFailed) as exc:
        services.project_update_post(actor=world.official, project=world.a01, status="done", note="Done.", photo=upload)
    assert exc.value.extra == {"photo": [MSG_NOT_AN_IMAGE]}
    assert written() == NOTHING
    assert not (media / "updates").exists()


def test_a_photo_is_re_encoded_without_its_metadata(world, media):
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    Image.new("RGB", (10, 10), "red").save(out, format="JPEG", exif=exif)
    upload = SimpleUploadedFile("site.jpg", out.getvalue(), content_type="image/jpeg")
    update = services.project_update_post(
        actor=world.official, project=world.a01, status="done", note="Finished.", photo=upload
    )
    with Image.open(update.photo.path) as stored:
        assert stored.format == "JPEG" and not stored.getexif()
    with open(update.photo.path, "rb") as stored_bytes:
        assert b"SecretCam" not in stored_bytes.read()


# --- who and when --------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["resident", "volunteer", "vetting_staff", "auditor", "official_without_mfa"])
def test_only_officials_with_mfa_post(world, role, request):
    with pytest.raises(NotAllowed):
        services.project_update_post(actor=request.getfixturevalue(role), project=world.a01, status="done", note="No.")
    with pytest.raises(NotAllowed):
        services.project_update_post(actor=AnonymousUser(), project=world.a01, status="done", note="No.")
    assert written() == NOTHING


def test_only_funded_projects_take_updates(world):
    with pytest.raises(Conflict) as exc:
        services.project_update_post(actor=world.official, project=world.a02, status="planned", note="No.")
    assert exc.value.message == services.MSG_NOT_FUNDED
    Project.objects.filter(pk=world.a01.pk).update(withdrawn_at=timezone.now(), withdrawn_reason="Impossible.")
    with pytest.raises(Conflict):
        services.project_update_post(actor=world.official, project=world.a01, status="planned", note="No.")
    assert written() == NOTHING


def test_updates_wait_for_the_implementation_phase(official):
    world = implementation_world(official, phase=Phase.RESULTS)
    with pytest.raises(PhaseClosed) as exc:
        services.project_update_post(actor=official, project=world.a01, status="planned", note="Soon.")
    assert exc.value.message == permissions.MSG_UPDATES_CLOSED
    assert written() == NOTHING
    cycle = cycle_transition(actor=official, cycle=world.cycle, target=Phase.IMPLEMENTATION, reason="Go.")
    services.project_update_post(actor=official, project=world.a01, status="planned", note="Soon.")
    Cycle.objects.filter(pk=cycle.pk).update(phase=Phase.ARCHIVED)  # (archiving waits for data retention)
    with pytest.raises(PhaseClosed):
        services.project_update_post(actor=official, project=world.a01, status="done", note="Late.")
    assert written()["updates"] == 1


def test_a_project_of_a_cycle_without_results_is_not_funded(official):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, new_resident())
    move(cycle, official, Phase.VETTING)
    from .builders import make_project

    project = make_project(cycle, official, [idea])
    assert selectors.project_is_funded(project) is False


# --- pages ---------------------------------------------------------------------------------------------
def test_the_project_page_lists_updates_newest_first(world, media, client):
    first = services.project_update_post(
        actor=world.official, project=world.a01, status="planned", note="Design approved."
    )
    ProjectUpdate.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=30))
    second = services.project_update_post(
        actor=world.official, project=world.a01, status="in_progress", note="Digging started.", photo=png()
    )
    page = client.get(reverse("project_detail", args=[world.a01.pk])).content.decode()
    photo = client.get(second.photo.url)  # served to the public through the media view
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert "Progress of the project" in page
    assert page.index("Digging started.") < page.index("Design approved.")
    assert page.index("In progress") < page.index("Planned")
    assert '<img src="/media/updates/' in page and 'alt="Photo with the update “In progress” of' in page
    other = client.get(reverse("project_detail", args=[world.a02.pk])).content.decode()
    assert "Progress of the project" not in other


def staff_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_officials_form_posts_an_update(world, media):
    client = staff_client(world.official)
    url = reverse("staff_project_updates", args=[world.a01.pk])
    page = client.get(url).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="photo"' in page and 'accept="image/jpeg' in page
    response = client.post(url, {"status": "done", "note": "Opened to the public.", "photo": png()})
    assert response.status_code == 302 and response.url == url
    assert ProjectUpdate.objects.get().note == "Opened to the public."
    assert "Opened to the public." in client.get(url).content.decode()


def test_the_officials_form_shows_errors_and_stores_nothing(world, media):
    client = staff_client(world.official)
    url = reverse("staff_project_updates", args=[world.a01.pk])
    response = client.post(url, {"status": "", "note": "", "photo": SimpleUploadedFile("x.png", b"nope")})
    page = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in page
    assert "Choose planned, in progress or done." in page and escape(str(MSG_NOT_AN_IMAGE)) in page
    assert written() == NOTHING
    response = client.post(reverse("staff_project_updates", args=[world.a02.pk]), {"status": "done", "note": "x"})
    assert response.status_code == 409 and escape(str(services.MSG_NOT_FUNDED)) in response.content.decode()
    assert written() == NOTHING


@pytest.mark.parametrize(
    "role, expected",
    [
        ("anonymous", "login"),
        ("resident", 403),
        ("volunteer", 403),
        ("vetting_staff", 403),
        ("auditor", 403),
        ("official_without_mfa", "mfa"),
        ("official", 200),
    ],
)
def test_who_may_use_the_officials_form(world, role, expected):
    client = Client()
    if role != "anonymous":
        client.force_login(
            user_with_role("official", mfa=False) if role == "official_without_mfa" else user_with_role(role)
        )
    url = reverse("staff_project_updates", args=[world.a01.pk])
    for response in (client.get(url), client.post(url, {"status": "done", "note": "x"})):
        if expected == "login":
            assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
        elif expected == "mfa":
            assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
        else:
            assert response.status_code in ((200, 302) if expected == 200 else (expected,))
    assert written()["updates"] == (1 if expected == 200 else 0)


def test_the_officials_tally_page_links_to_the_form_in_implementation(world):
    page = staff_client(world.official).get(reverse("staff_tally", args=[world.cycle.slug])).content.decode()
    assert reverse("staff_project_updates", args=[world.a01.pk]) in page
    assert reverse("staff_project_updates", args=[world.a02.pk]) not in page


def test_the_project_list_and_the_cycle_page_link_to_the_update_form(world):
    """Not only from the tally page: the staff project list and the cycle page link to the form of
    each funded project (and of no other)."""
    client = staff_client(world.official)
    for page_url in (
        reverse("vetting_project_list", args=[world.cycle.slug]),
        reverse("staff_cycle_detail", args=[world.cycle.slug]),
    ):
        page = client.get(page_url).content.decode()
        for funded in (world.a01, world.a03):
            url = reverse("staff_project_updates", args=[funded.pk])
            assert f'<a href="{url}">Post an update on {funded.code}</a>' in page
        assert reverse("staff_project_updates", args=[world.a02.pk]) not in page


def test_the_cycle_page_links_to_updates_in_spanish_and_only_in_implementation(official):
    world = implementation_world(official, phase=Phase.RESULTS)
    client = staff_client(world.official)
    url = reverse("staff_cycle_detail", args=[world.cycle.slug])
    assert reverse("staff_project_updates", args=[world.a01.pk]) not in client.get(url).content.decode()
    world.cycle = cycle_transition(actor=official, cycle=world.cycle, target=Phase.IMPLEMENTATION, reason="Go.")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    update_url = reverse("staff_project_updates", args=[world.a01.pk])
    assert "Novedades de la ejecución" in page
    assert f'<a href="{update_url}">Publicar una novedad sobre A-01</a>' in page
    listing = client.get(reverse("vetting_project_list", args=[world.cycle.slug]), HTTP_ACCEPT_LANGUAGE="es")
    assert f'<a href="{update_url}">Publicar una novedad sobre A-01</a>' in listing.content.decode()
