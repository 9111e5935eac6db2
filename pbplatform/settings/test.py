"""Test settings: the same parts as production (PostgreSQL and Redis when their URLs are set)."""

from .base import *  # noqa: F403
from .base import DATABASES, USING_POSTGRES, env

SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
# locmem by default; a worker process started by a test writes mail to files the test can read.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH", default="/tmp/pbplatform-test-mail")
if USING_POSTGRES:
    # Same backend, except that the test runner's flush between transactional tests may empty the
    # append-only tables (see core/db/test_postgres). Production's backend never does.
    DATABASES["default"]["ENGINE"] = "core.db.test_postgres"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
ACCOUNT_RATE_LIMITS = False
# Tasks run in-process in tests, so a test sees their effect; the tests that start a real Celery
# worker switch this off for their duration (tests/conftest.py, `worker`).
CELERY_TASK_ALWAYS_EAGER = env.bool("PB_CELERY_EAGER", default=True)
# A worker and beat started by a test (tests/conftest.py, `scheduler`) share a queue of their own,
# so parallel test runs on one broker never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env("PB_CELERY_QUEUE", default="celery")
PB_SMS_BACKEND = "core.sms.LocmemBackend"
# The matrix tests make hundreds of refusals a minute from one client; each must be logged. The
# rate limit itself is tested with its own, low limit (core/tests/test_security.py).
PB_DENIAL_LOG_PER_MINUTE = 100_000
