"""Logging in through the real pages, as every browser test does (allauth's form, then its TOTP
step for staff and auditors)."""

import re

import pyotp
from playwright.sync_api import expect

PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory


def log_in(page, base_url, email, *, password=PASSWORD, totp_secret=None):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label(re.compile("Email", re.I)).fill(email)
    page.get_by_label(re.compile("Password", re.I)).fill(password)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    if totp_secret:
        page.get_by_label(re.compile("^Code", re.I)).fill(pyotp.TOTP(totp_secret).now())
        page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def log_in_user(page, base_url, user):
    """A test user (tests.factories), with their TOTP step if they have a secret."""
    log_in(page, base_url, user.email, totp_secret=getattr(user, "totp_secret", None))
