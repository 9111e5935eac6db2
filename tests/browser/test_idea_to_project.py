"""The whole path of an idea in a browser: a resident signs up (verifying the email from the sent
message), submits an idea with a photo and an address; vetting staff merge it with another idea
into a costed project; the resident follows the chain from the idea to the project and has
received the notifications."""

import io
import re

import pyotp
import pytest
from django.core import mail
from PIL import Image
from playwright.sync_api import expect

from budgets.services import cycle_transition
from core.models import Notification
from proposals import services
from proposals.models import Idea, Project
from tests.factories import CycleFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "maria.resident@example.org"
PASSWORD = "Sturdy-Pass-2026!"
STAFF_PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def new_context(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1024, "height": 900})
    # No map tiles or anything else from outside: the pages must work on their own.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost).*"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def sign_up_and_verify(page, base):
    page.goto(f"{base}/accounts/signup/")
    page.get_by_label(re.compile("^Email", re.I)).fill(EMAIL)
    page.get_by_label(re.compile(r"^Password:?$", re.I)).fill(PASSWORD)
    page.get_by_label(re.compile(r"Password \(again\)", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign Up", re.I)).click()
    expect(page.get_by_text(re.compile("verification", re.I)).first).to_be_visible()

    (message,) = [m for m in mail.outbox if EMAIL in m.to]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()

    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile("Email", re.I)).fill(EMAIL)
    page.get_by_label(re.compile("Password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def staff_log_in(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile("Email", re.I)).fill(user.email)
    page.get_by_label(re.compile("Password", re.I)).fill(STAFF_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    page.get_by_label(re.compile("^Code", re.I)).fill(pyotp.TOTP(user.totp_secret).now())
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_idea_becomes_a_costed_project_and_its_author_can_follow_it(live_server, browser, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    base = live_server.url
    cycle = CycleFactory(ideas=True, wards="AB", slug="jc-2026")
    neighbour = user_with_role("resident")
    other = services.idea_submit(
        actor=neighbour,
        cycle=cycle,
        data=services.IdeaInput(
            title="Benches by the library",
            description="Somewhere to rest on the way to the library.",
            district=cycle.districts.get(code="B"),
            address="472 Jersey Ave",
        ),
    )

    # A resident signs up, verifies the address, and submits an idea with a photo.
    resident_context, page = new_context(browser)
    sign_up_and_verify(page, base)
    page.goto(f"{base}/cycles/jc-2026/ideas/new/")
    page.get_by_label("Title").fill("Shade trees on Grand Street")
    page.get_by_label("Description").fill("Plant shade trees along Grand Street between the school and the park.")
    page.get_by_label("District").select_option(label="Ward B (B)")
    page.get_by_label("Address or place").fill("Grand St & Jersey Ave, Jersey City")
    page.get_by_label(re.compile("^Photo")).set_input_files(
        {"name": "street.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    page.get_by_role("button", name="Submit your idea").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shade trees on Grand Street")
    idea = Idea.objects.get(title="Shade trees on Grand Street")
    assert idea.author.email == EMAIL and idea.address.startswith("Grand St") and idea.photo
    expect(page.locator(f"img[src*='{idea.photo.url}']")).to_be_visible()

    # The cycle moves to vetting; a vetting staff member merges the two ideas into one project.
    official = user_with_role("official")
    cycle_transition(actor=official, cycle=cycle, target="vetting", reason="Idea collection closed.")
    staff = user_with_role("vetting_staff")
    staff_context, staff_page = new_context(browser)
    staff_log_in(staff_page, base, staff)
    staff_page.goto(f"{base}/staff/cycles/jc-2026/vetting/")
    staff_page.get_by_label(re.compile("Shade trees on Grand Street")).check()
    staff_page.get_by_label(re.compile("Benches by the library")).check()
    staff_page.get_by_role("button", name="Create a project from the selected ideas").click()
    staff_page.get_by_label("Public code").fill("B-01")
    staff_page.get_by_label("District").select_option(label="B · Ward B")
    staff_page.get_by_label("Cost").fill("18000")
    for legend, (title, summary, text) in {
        "Text in English": ("Greener Grand Street", "Trees and benches.", "Shade trees and benches on Grand St."),
        "Text in Spanish": ("Grand Street más verde", "Árboles y bancos.", "Árboles y bancos en Grand St."),
    }.items():
        group = staff_page.get_by_role("group", name=legend)
        group.get_by_label("Title").fill(title)
        group.get_by_label("Summary").fill(summary)
        group.get_by_label("Description").fill(text)
    staff_page.get_by_role("button", name="Create project").click()
    expect(staff_page.get_by_role("status")).to_contain_text("B-01")

    project = Project.objects.get(cycle=cycle, code="B-01")
    assert sorted(project.ideas.values_list("pk", flat=True)) == sorted([idea.pk, other.pk])
    assert str(project.cost) == "18000.00"

    # The resident follows the chain from their idea to the project.
    page.goto(f"{base}/me/ideas/")
    expect(page.get_by_text(re.compile("became project B-01"))).to_be_visible()
    page.get_by_role("link", name="Shade trees on Grand Street").first.click()
    page.get_by_role("link", name=re.compile("B-01")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Greener Grand Street")
    expect(page.get_by_role("link", name="Shade trees on Grand Street")).to_be_visible()

    # ... and received the notifications (outbox rows, delivered by email).
    kinds = set(
        Notification.objects.filter(recipient=idea.author, sent_at__isnull=False).values_list("kind", flat=True)
    )
    assert {"idea.received", "idea.in_project"} <= kinds
    subjects = [m.subject for m in mail.outbox if EMAIL in m.to]
    assert any("We received your idea" in s for s in subjects)
    assert any("became project B-01" in s for s in subjects)
    staff_context.close()
    resident_context.close()
