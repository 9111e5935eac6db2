"""The public record while its zip is built: with JavaScript the page stays put — progress appears
in its polite live region and the download link appears there when ready; without JavaScript a
"check again" link takes the reader to the news. The page never reloads itself."""

import pytest
from playwright.sync_api import expect

from audit import services
from audit.models import Bundle
from audit.tests.builders import results_world
from tests.factories import user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def record(settings, tmp_path, monkeypatch):
    """A certified cycle whose public record is queued; the test decides when it is built."""
    settings.PB_BUNDLE_ROOT = tmp_path / "bundles"
    monkeypatch.setattr(services, "_dispatch", lambda bundle_id: None)
    return results_world(user_with_role("official")).cycle


def build(cycle) -> None:
    bundle = Bundle.objects.get(cycle=cycle, variant="public")
    Bundle.objects.filter(pk=bundle.pk).update(status="queued")
    services.bundle_build(bundle_id=bundle.pk)


def test_with_javascript_progress_and_the_link_appear_without_a_reload(live_server, page, record):
    url = f"{live_server.url}/cycles/{record.slug}/record/"
    loads = []
    page.on("load", lambda _page: loads.append(page.url))
    page.goto(url)
    live = page.locator("[data-bundle-live]")
    expect(live).to_have_attribute("role", "status")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live).to_contain_text("Waiting to be built")
    expect(page.get_by_role("link", name="Check again")).to_be_hidden()  # the script follows the build
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    page.evaluate("window.sameDocument = true")

    bundle = Bundle.objects.get(cycle=record, variant="public")
    Bundle.objects.filter(pk=bundle.pk).update(status="building", progress=40, stage="ballots.csv")
    expect(live).to_contain_text("Being built (ballots.csv)")
    expect(live).to_contain_text("40%")
    expect(page.locator("progress")).to_have_attribute("value", "40")

    build(record)
    link = live.get_by_role("link", name="Download the zip")
    expect(link).to_be_visible()
    assert page.evaluate("window.sameDocument") is True  # the same page, never reloaded
    assert loads == [url]
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".zip")


def test_without_javascript_a_check_again_link(live_server, browser, record):
    context = browser.new_context(locale="en-US", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/cycles/{record.slug}/record/")
    expect(page.get_by_role("status")).to_contain_text("Waiting to be built")
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    again = page.get_by_role("link", name="Check again")
    expect(again).to_be_visible()
    again.click()
    expect(page.get_by_role("link", name="Check again")).to_be_visible()  # still being built

    build(record)
    page.get_by_role("link", name="Check again").click()
    expect(page.get_by_role("link", name="Download the zip")).to_be_visible()
    expect(page.get_by_role("link", name="Check again")).to_have_count(0)
    context.close()
