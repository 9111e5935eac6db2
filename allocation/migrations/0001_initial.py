# The tally's two tables move here from budgets with their rows: created in this app's state over
# the existing tables (budgets.0006 drops them from budgets' state only), then renamed.

import django.db.models.deletion
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """Permissions (and anything else keyed by content type) follow the models to their new app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("tallyrun", "districtresult"):
        if not ContentType.objects.filter(app_label="allocation", model=model).exists():
            ContentType.objects.filter(app_label="budgets", model=model).update(app_label="allocation")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("tallyrun", "districtresult"):
        if not ContentType.objects.filter(app_label="budgets", model=model).exists():
            ContentType.objects.filter(app_label="allocation", model=model).update(app_label="budgets")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("budgets", "0005_cycle_tie_break_lottery"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TallyRun",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("rule", models.CharField(max_length=16)),
                        ("params", models.CharField(default="{}", max_length=200)),
                        ("input_hash", models.CharField(max_length=64)),
                        ("status", models.CharField(choices=[("running", "Running"), ("done", "Done"), ("failed", "Failed")], default="running", max_length=8)),
                        ("output", models.TextField(blank=True)),
                        ("output_hash", models.CharField(blank=True, max_length=64)),
                        ("error", models.TextField(blank=True)),
                        ("ballots", models.PositiveIntegerField(default=0)),
                        ("started_at", models.DateTimeField(auto_now_add=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("seconds", models.FloatField(blank=True, null=True)),
                        ("cycle", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="tally_runs", to="budgets.cycle")),
                        ("district", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="tally_runs", to="budgets.district")),
                    ],
                    options={
                        "ordering": ["district_id", "rule", "-started_at"],
                        "db_table": "budgets_tallyrun",
                        "constraints": [
                            models.UniqueConstraint(fields=("district", "rule", "params", "input_hash"), name="tally_run_once"),
                            models.CheckConstraint(condition=models.Q(("rule__in", ["greedy", "mes", "mes-greedy"])), name="tally_rule_valid"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="DistrictResult",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("certified", "Certified"), ("revised", "Revised after a project was withdrawn")], max_length=10)),
                        ("reason", models.TextField(blank=True)),
                        ("actor_id", models.BigIntegerField(null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("district", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="results", to="budgets.district")),
                        ("run", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="results", to="allocation.tallyrun")),
                    ],
                    options={
                        "ordering": ["district_id", "-created_at", "-id"],
                        "db_table": "budgets_districtresult",
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="tallyrun", table=None),
        migrations.AlterModelTable(name="districtresult", table=None),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
