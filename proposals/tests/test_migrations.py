"""Data migrations of proposals: projects made before drafts existed stay public."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from proposals import selectors
from proposals.models import Project
from tests.factories import CycleFactory

from .builders import make_project, move, new_resident, submit

pytestmark = pytest.mark.django_db


def test_projects_made_before_drafts_existed_are_published(official):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    project = make_project(cycle, official, [idea])
    Project.objects.filter(pk=project.pk).update(published_at=None)  # as the new column starts out
    assert list(selectors.project_list(cycle=cycle)) == []
    migration = importlib.import_module("proposals.migrations.0005_project_drafts")
    state = MigrationExecutor(connection).loader.project_state(("proposals", "0005_project_drafts"))
    migration.publish_existing(state.apps, connection.schema_editor())
    project.refresh_from_db()
    assert project.published_at == project.created_at
    assert list(selectors.project_list(cycle=cycle)) == [project]
