"""Logging in and signing up, as a keyboard and screen-reader user meets them: a refused form starts
at an error summary (announced, focused, each mistake a link to its field) and each field says
what is wrong with it (aria-invalid, aria-describedby); "Forgot your password?" is a target of at
least 24 × 24 px; the focus ring stands out (3:1) on every background it appears on."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from budgets.demo import DEMO_SLUG, demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The focused element's ring colours and the background behind it (the nearest ancestor with one).
RING = """(element) => {
  const style = getComputedStyle(element);
  let node = element.parentElement, background = "rgb(255, 255, 255)";
  while (node) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour && colour !== "transparent" && !/rgba\\(.*, 0\\)$/.test(colour)) { background = colour; break; }
    node = node.parentElement;
  }
  return {outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 ? style.outlineColor : null,
          shadow: style.boxShadow, background};
}"""


def _rgb(text: str) -> tuple[int, int, int]:
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3])


def _luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_is_the_wcag_ratio():
    assert round(contrast((255, 191, 71), (255, 255, 255)), 2) == 1.64  # the old ring on white
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0


def ring_contrast(page, locator) -> float:
    """The best contrast of the focus ring's colours (outline, box-shadow) against the background."""
    locator.focus()
    found = locator.evaluate(RING)
    colours = []
    if found["outline"]:
        colours.append(_rgb(found["outline"]))
    if found["shadow"] and found["shadow"] != "none":
        colours += [_rgb(m) for m in re.findall(r"rgba?\([^)]*\)", found["shadow"])]
    assert colours, "no focus ring"
    background = _rgb(found["background"])
    return max(contrast(colour, background) for colour in colours)


@pytest.fixture
def spanish_page(browser, live_server):
    context = browser.new_context(locale="es-ES", viewport={"width": 1024, "height": 800})
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "es", "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_a_failed_log_in_is_announced_and_tied_to_the_fields(live_server, page):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label(re.compile("Email")).fill("nobody@example.org")
    page.get_by_label(re.compile("Password")).fill("not-the-password")
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("The email address and/or password you specified are not correct.")
    expect(summary).to_be_focused()  # keyboard and screen reader start at the mistakes
    for name in ("login", "password"):
        field = page.locator(f"input[name={name}]")
        expect(field).to_have_attribute("aria-invalid", "true")
        described = field.get_attribute("aria-describedby").split()
        texts = " ".join(page.locator(f"#{i}").inner_text() for i in described)
        assert "are not correct" in texts
    # The summary's link goes to the first field.
    summary.get_by_role("link").first.click()
    expect(page.locator("input[name=login]")).to_be_focused()
    assert page.evaluate("[...document.querySelectorAll('[id]')].length") == len(
        set(page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)"))
    )


def test_sign_up_mistakes_are_listed_and_each_links_to_its_field(live_server, spanish_page):
    page = spanish_page
    page.goto(f"{live_server.url}/accounts/signup/")
    assert page.evaluate("document.documentElement.lang") == "es"
    page.locator("input[name=email]").fill("not-an-address")
    page.locator("input[name=password1]").fill("123")
    page.locator("input[name=password2]").fill("123")
    page.locator("form button[type=submit]").last.click()

    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Hay un problema")
    links = summary.get_by_role("link")
    assert links.count() >= 2
    for i in range(links.count()):
        link = links.nth(i)
        target = link.get_attribute("href")
        page.locator("#error-summary").focus()
        link.click()
        field = page.locator(target)
        expect(field).to_be_focused()
        expect(field).to_have_attribute("aria-invalid", "true")
        described = field.get_attribute("aria-describedby").split()
        said = " ".join(page.locator(f"#{i}").inner_text() for i in described)
        # What the summary says about the field is what the field is described by.
        assert link.inner_text().split(": ", 1)[-1] in said


def test_forgot_password_is_a_big_enough_target(live_server, page, spanish_page):
    for p, name in ((page, "Forgot your password?"), (spanish_page, re.compile("contraseña", re.I))):
        p.goto(f"{live_server.url}/accounts/login/")
        box = p.get_by_role("link", name=name).bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, box


def test_the_focus_ring_stands_out_on_every_background(live_server, page):
    demo_load(phase="voting")
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    checks = {
        "header link (dark blue)": page.locator(".site-header a.brand"),
        "language menu (dark blue)": page.locator("#language-select"),
        "email field (white)": page.locator("input[name=login]"),
        "forgot password (white)": page.get_by_role("link", name="Forgot your password?"),
        "submit button (white)": page.get_by_role("button", name=re.compile("Sign In", re.I)),
        "footer link": page.locator(".site-footer a"),
    }
    for where, locator in checks.items():
        assert ring_contrast(page, locator) >= 3, where
    # A link inside a tinted notice (the vote page before one logs in).
    page.goto(f"{base}/cycles/{DEMO_SLUG}/ideas/")
    page.keyboard.press("Tab")  # the skip link: a yellow box on the page
    expect(page.locator(".skip-link")).to_be_focused()
    assert ring_contrast(page, page.locator(".skip-link")) >= 3
