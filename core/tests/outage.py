"""Test helper: the database unavailable, as when PostgreSQL is down or restarting."""

from contextlib import contextmanager
from unittest import mock

from django.db import OperationalError, connections


@contextmanager
def database_down(error: Exception | None = None):
    """Within it every query fails: opening a cursor raises ``error`` (an OperationalError by default)."""
    error = error or OperationalError("could not connect to server: Connection refused")
    with mock.patch.object(connections["default"], "cursor", side_effect=error):
        yield
