# The tally's tables now belong to the allocation app (allocation.0001_initial takes them over with
# their rows): they leave budgets' state only; the database keeps them.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0005_cycle_tie_break_lottery"),
        ("allocation", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DistrictResult"),
                migrations.DeleteModel(name="TallyRun"),
            ],
        ),
    ]
