"""The tally's tables moved from budgets to allocation: a database that has runs and published
results keeps them, the same rows under the new tables, and the way back restores them too."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from allocation.models import DistrictResult, TallyRun

BEFORE = [("budgets", "0005_cycle_tie_break_lottery"), ("allocation", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


@pytest.mark.django_db(transaction=True)
def test_runs_and_results_keep_their_rows_through_the_move_and_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    permission = Permission.objects.get(codename="view_tallyrun")
    try:
        old = _migrate(BEFORE)
        assert {"budgets_tallyrun", "budgets_districtresult"} <= _tables()
        assert not {"allocation_tallyrun", "allocation_districtresult"} & _tables()
        cycle = old.get_model("budgets", "Cycle").objects.create(name="Old", slug="old", phase="counting")
        district = old.get_model("budgets", "District").objects.create(
            cycle=cycle, code="A", name="Ward A", budget=Decimal("100.00")
        )
        run = old.get_model("budgets", "TallyRun").objects.create(
            cycle=cycle,
            district=district,
            rule="greedy",
            input_hash="a" * 64,
            status="done",
            output='{"selected":["P1"]}',
            output_hash="b" * 64,
            ballots=3,
        )
        result = old.get_model("budgets", "DistrictResult").objects.create(
            district=district, run=run, kind="certified", actor_id=7
        )
        assert Permission.objects.get(pk=permission.pk).content_type.app_label == "budgets"
    finally:
        _migrate(latest)

    assert {"allocation_tallyrun", "allocation_districtresult"} <= _tables()
    assert not {"budgets_tallyrun", "budgets_districtresult"} & _tables()
    moved = DistrictResult.objects.select_related("run", "district").get(pk=result.pk)
    assert (moved.kind, moved.actor_id, moved.district.code) == ("certified", 7, "A")
    assert (moved.run.pk, moved.run.rule, moved.run.output, moved.run.ballots) == (
        run.pk,
        "greedy",
        '{"selected":["P1"]}',
        3,
    )
    # The same permission row (and so every role holding it) now names the allocation app.
    assert Permission.objects.get(pk=permission.pk).content_type.app_label == "allocation"
    # New rows go on from the moved ones (the id sequence came along) and the constraints still hold.
    again = TallyRun.objects.create(cycle_id=cycle.pk, district_id=district.pk, rule="mes", input_hash="a" * 64)
    assert again.pk > run.pk
    with pytest.raises(Exception, match="tally_run_once|UNIQUE"):
        TallyRun.objects.create(cycle_id=cycle.pk, district_id=district.pk, rule="mes", input_hash="a" * 64)
