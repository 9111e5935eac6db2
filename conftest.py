"""Shared test fixtures: users per role (staff with TOTP), cycles per phase, environment gates."""

import os

import pytest
from django.conf import settings
from django.db import connection
from hypothesis import settings as hypothesis_settings

from tests.factories import CycleFactory, UserFactory, user_with_role

IN_CI = os.environ.get("CI", "").lower() == "true"

# Property tests: no deadline (a loaded CI machine is not a bug), reproducible in CI, and a failing
# example printed as a blob that @reproduce_failure replays. Fewer examples on a laptop.
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("dev", deadline=None, print_blob=True, max_examples=30)
hypothesis_settings.load_profile("ci" if IN_CI else "dev")


def pytest_collection_modifyitems(config, items):
    """Real parts are required in CI: a test that needs one the run lacks stops the whole run before
    any test runs. Elsewhere such a test is a clear skip."""
    using_postgres = settings.DATABASES["default"]["ENGINE"].endswith(("postgresql", "test_postgres"))
    for item in items:
        if "postgres" in item.keywords and not using_postgres:
            if IN_CI:
                raise pytest.UsageError("CI must set DATABASE_URL to PostgreSQL: a PostgreSQL test would not run")
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "redis" in item.keywords and not settings.REDIS_URL:
            if IN_CI:
                raise pytest.UsageError("CI must set REDIS_URL: a Redis test would be skipped")
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL"))


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def official(db):
    return user_with_role("official")


@pytest.fixture
def vetting_staff(db):
    return user_with_role("vetting_staff")


@pytest.fixture
def auditor(db):
    return user_with_role("auditor")


@pytest.fixture
def volunteer(db):
    return user_with_role("volunteer")


@pytest.fixture
def resident(db):
    return user_with_role("resident")


@pytest.fixture
def official_without_mfa(db):
    return user_with_role("official", mfa=False)


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def cycle_factory(db):
    return CycleFactory


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def denials(caplog):
    """The refusals logged to the security log (core.security) so far: a function returning each
    logged line's ``denial`` dict (actor_type, actor_id, method, path, reason, status, …)."""
    caplog.set_level("INFO", logger="pbplatform.security")

    def logged() -> list[dict]:
        return [r.denial for r in caplog.records if r.name == "pbplatform.security" and hasattr(r, "denial")]

    return logged
