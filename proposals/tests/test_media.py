"""Uploaded files (proposals/uploads.py, proposals/views/media.py): random names that keep nothing of
the uploaded name, and a file is served only to whoever may see the idea, project or update it
belongs to — a hidden or withdrawn idea's photo is a 404 for the public, as its page is."""

import io
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from budgets.phases import Capability, Phase
from proposals import services
from proposals.models import Idea
from proposals.uploads import RandomName
from tests.factories import CycleFactory

from .builders import make_project, move, new_resident, submit
from .test_images import jpeg_with_exif, upload

pytestmark = pytest.mark.django_db

PHONE_NAME = "IMG_20260312_Jane_Doe_123_Grand_St.jpg"
RANDOM = re.compile(r"^ideas/[A-Za-z0-9_-]{32}\.jpg$")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def photographed(media, resident):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, resident, photo=upload(jpeg_with_exif(), name=PHONE_NAME))
    return Idea.objects.get(pk=idea.pk)


def fetch(client, user, url):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(url)


def test_an_upload_gets_a_random_name_with_nothing_of_the_original(photographed, media):
    name = photographed.photo.name
    assert RANDOM.match(name), name
    stem = name.removeprefix("ideas/").removesuffix(".jpg").lower()
    # The parts that say something (the date, the name, the street); two or three random characters
    # ("st", "123") turn up in a random name by chance and prove nothing.
    for part in (p for p in re.split(r"[_.]", PHONE_NAME.lower()) if len(p) >= 4):
        assert part not in stem
    assert (media / name).is_file()
    assert [p.name for p in media.rglob("*") if p.is_file()] == [name.removeprefix("ideas/")]


def test_two_uploads_of_the_same_file_get_different_names(media, resident):
    cycle = CycleFactory(ideas=True, wards="A")
    first = submit(cycle, resident, photo=upload(jpeg_with_exif(), name="same.jpg"))
    second = submit(cycle, resident, title="Second", photo=upload(jpeg_with_exif(), name="same.jpg"))
    assert first.photo.name != second.photo.name


def test_random_name_keeps_only_known_image_extensions():
    name = RandomName("ideas")
    assert name(None, "photo.webp").endswith(".webp")
    assert "." not in name(None, "evil.html").removeprefix("ideas/")
    assert name(None, "x.jpg") != name(None, "x.jpg")


def test_the_public_fetches_a_visible_ideas_photo(client, photographed, media):
    url = photographed.photo.url
    assert url == f"{settings.MEDIA_URL}{photographed.photo.name}"
    response = fetch(client, None, url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == (media / photographed.photo.name).read_bytes()
    page = client.get(reverse("idea_detail", args=[photographed.pk]))
    assert url in page.content.decode()


@pytest.mark.parametrize("how", ["hidden", "withdrawn"])
def test_a_hidden_or_withdrawn_ideas_photo_is_served_to_its_author_and_staff_only(
    client, photographed, how, resident, vetting_staff
):
    url = photographed.photo.url
    assert fetch(client, None, url).status_code == 200
    if how == "hidden":
        services.content_hide(actor=vetting_staff, reason="Shows a neighbour's face.", idea=photographed)
    else:
        services.idea_withdraw(actor=resident, idea=photographed, reason="Changed my mind.")
    assert fetch(client, None, url).status_code == 404
    assert fetch(client, new_resident(), url).status_code == 404
    assert fetch(client, resident, url).status_code == 200  # the author
    assert fetch(client, vetting_staff, url).status_code == 200


def test_a_file_nothing_refers_to_is_not_served(client, photographed, media):
    (media / "ideas" / "stray.jpg").write_bytes(b"\xff\xd8stray")
    (media / "secret.txt").write_text("not for the public")
    for path in ("ideas/stray.jpg", "secret.txt", "../etc/passwd", "ideas/../secret.txt", "ideas/"):
        assert client.get(f"{settings.MEDIA_URL}{path}").status_code == 404, path


def test_the_old_dated_path_of_a_hidden_photo_is_not_served(client, media, resident, vetting_staff, settings):
    """A photo stored under the old scheme (ideas/YYYY/MM/<phone's name>) that the idea still refers
    to: visible while the idea is, a 404 once it is hidden — no route serves MEDIA_ROOT as such."""
    settings.DEBUG = True  # the development static() route used to serve MEDIA_ROOT in DEBUG
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, resident)
    old = "ideas/2026/03/IMG_2041.JPG"
    (media / "ideas" / "2026" / "03").mkdir(parents=True)
    (media / old).write_bytes(jpeg_with_exif())
    Idea.objects.filter(pk=idea.pk).update(photo=old)
    assert client.get(f"/media/{old}").status_code == 200
    services.content_hide(actor=vetting_staff, reason="Personal data.", idea=idea)
    assert client.get(f"/media/{old}").status_code == 404


def test_a_project_image_and_update_photo_follow_the_projects_visibility(client, media, resident, official):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, resident)
    move(cycle, official, Phase.VETTING)
    project = make_project(cycle, official, [idea], image=upload(jpeg_with_exif(), name="site_plan.jpg"))
    assert re.match(r"^projects/[A-Za-z0-9_-]{32}\.jpg$", project.image.name)
    assert fetch(client, official, project.image.url).status_code == 200
    cycle.refresh_from_db()
    assert fetch(client, None, project.image.url).status_code == (200 if cycle.allows(Capability.PUBLIC) else 404)


def test_the_x_accel_redirect_mode_hands_the_file_to_the_web_server(client, photographed, settings):
    settings.PB_MEDIA_ACCEL_REDIRECT = "/protected-media/"
    response = client.get(photographed.photo.url)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{photographed.photo.name}"
    assert response.content == b""


def test_uploads_rename_gives_old_dated_names_random_ones(media, resident, django_capture_on_commit_callbacks):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, resident)
    kept = submit(cycle, resident, title="Kept", photo=upload(jpeg_with_exif(), name="new.jpg"))
    old = f"ideas/2026/03/{PHONE_NAME}"
    (media / "ideas" / "2026" / "03").mkdir(parents=True)
    (media / old).write_bytes(b"old bytes")
    Idea.objects.filter(pk=idea.pk).update(photo=old)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("uploads_rename", stdout=out)
    assert "1 uploaded files renamed" in out.getvalue()
    renamed = Idea.objects.get(pk=idea.pk).photo.name
    assert RANDOM.match(renamed) and (media / renamed).read_bytes() == b"old bytes"
    assert not (media / old).exists()
    assert Idea.objects.get(pk=kept.pk).photo.name == kept.photo.name  # already random: untouched
    call_command("uploads_rename", stdout=out)
    assert "0 uploaded files renamed" in out.getvalue()


@pytest.mark.parametrize("path", ["/media/ideas/%00x.jpg", "/media/ideas/x%00.jpg", "/media/%00"])
def test_a_name_with_a_nul_byte_is_a_404_not_an_error(client, db, path):
    assert client.get(path).status_code == 404
