"""An auditor logs in with a password and TOTP on a phone, builds the certified demo's bundle, downloads
it and checks it with the verifier; looks up a receipt by keyboard; a visitor downloads the public
record from the cycle page."""

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from budgets.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, demo_load
from core.models import AuditEvent
from pbverify.verify import bundle_verify
from tests.browser.login import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _bundle_root(settings, tmp_path):
    settings.PB_BUNDLE_ROOT = tmp_path / "bundles"


def log_in_auditor(page, base_url):
    email, _name, secret = DEMO_USERS[Role.AUDITOR]
    log_in(page, base_url, email, password=DEMO_PASSWORD, totp_secret=secret)


def test_auditor_builds_downloads_and_verifies_the_bundle(live_server, phone_page, browser, tmp_path):
    demo_load(phase="results")
    page, base = phone_page, live_server.url
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in_auditor(page, base)
    page.goto(f"{base}/audit/")
    page.get_by_role("link", name=re.compile("Jersey City PB 2026")).click()
    page.get_by_role("button", name="Build a new bundle").click()
    expect(page.get_by_role("status").filter(has_text="being built")).to_be_visible()
    link = page.get_by_role("link", name="Download the zip")
    expect(link).to_be_visible(timeout=30_000)  # built by the (in-process) task; the page reloads itself
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "bundle.zip"
    download.value.save_as(path)
    report = bundle_verify(path)
    assert report.ok, report.first_failure
    assert AuditEvent.objects.filter(action="bundle.download").count() == 1

    # A receipt look-up, by keyboard only.
    page.get_by_label("Receipt code").focus()
    page.keyboard.type("0000-0000-0000-0000-0000")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("No ballot of this cycle has this receipt code.")
    assert AuditEvent.objects.filter(action="receipt.lookup").count() == 1
    assert errors == []

    # Anyone: the cycle page links the public record once the results are certified.
    visitor = browser.new_context().new_page()
    visitor.goto(f"{base}/cycles/{DEMO_SLUG}/")
    visitor.get_by_role("link", name=re.compile("Public record")).click()
    link = visitor.get_by_role("link", name="Download the zip")
    expect(link).to_be_visible(timeout=30_000)
    with visitor.expect_download() as download:
        link.click()
    public = tmp_path / "public.zip"
    download.value.save_as(public)
    report = bundle_verify(public)
    assert report.ok, report.first_failure
