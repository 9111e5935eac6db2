"""Migrations of the audit log that must not quietly break its chain."""

import importlib

import pytest
from django.apps import apps
from django.db.migrations.exceptions import IrreversibleError

from core.services import audit_record

pytestmark = pytest.mark.django_db

refuse_if_split = importlib.import_module("core.migrations.0004_audit_event_public_split").refuse_if_split


def test_going_back_before_the_split_is_refused_once_an_event_is_in_the_current_format():
    refuse_if_split(apps, None)  # an empty log: nothing to lose, going back is allowed
    audit_record(actor=None, action="cycle.updated", object_type="cycle", object_id=1, after={"name": "x"})
    with pytest.raises(IrreversibleError):
        refuse_if_split(apps, None)
