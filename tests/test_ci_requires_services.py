"""Under CI=true a run that lacks a real part a selected test needs (PostgreSQL, Redis, Chromium)
fails, loudly; it never passes by skipping or expecting to fail the tests it could not run.
Outside CI the same test is a skip that names what to set.

Each case runs pytest in a child process on one test that needs the missing part.
"""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

POSTGRES_TEST = "voting/tests/test_concurrency.py"  # every test in it needs PostgreSQL
REDIS_TEST = "tests/test_celery_worker.py"  # needs PostgreSQL too
BROWSER_TEST = "tests/browser/test_entrance.py::test_a_failed_log_in_is_announced_and_tied_to_the_fields"


def run_pytest(target: str, **env) -> subprocess.CompletedProcess:
    child_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test", **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", target],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite3'}"


def test_in_ci_a_postgres_test_on_sqlite_stops_the_run(tmp_path):
    run = run_pytest(POSTGRES_TEST, CI="true", DATABASE_URL=sqlite_url(tmp_path))
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "CI must set DATABASE_URL to PostgreSQL: a PostgreSQL test would not run" in output
    assert "no tests ran" in output and "xfail" not in output


def test_outside_ci_a_postgres_test_on_sqlite_is_a_named_skip(tmp_path):
    run = run_pytest(POSTGRES_TEST, CI="false", DATABASE_URL=sqlite_url(tmp_path), REDIS_URL="")
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.OK, output
    assert " skipped" in output and "passed" not in output
    assert "needs PostgreSQL: set DATABASE_URL" in output


@pytest.mark.postgres
def test_in_ci_a_redis_test_without_redis_stops_the_run():
    run = run_pytest(REDIS_TEST, CI="true", REDIS_URL="")  # this session's PostgreSQL, no Redis
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "CI must set REDIS_URL: a Redis test would be skipped" in output
    assert "no tests ran" in output


def test_in_ci_a_browser_test_without_chromium_fails(tmp_path):
    run = run_pytest(
        BROWSER_TEST, CI="true", DATABASE_URL=sqlite_url(tmp_path), REDIS_URL="", PB_CHROMIUM="/nonexistent/chromium"
    )
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert "Chromium not found at /nonexistent/chromium: CI must install Debian's chromium" in output
    assert "1 error" in output and "passed" not in output and "skipped" not in output
