from django.db import migrations

from core.db.append_only import make_append_only


class Migration(migrations.Migration):
    """The vote record is insert-only: PostgreSQL refuses UPDATE, DELETE and TRUNCATE."""

    dependencies = [("voting", "0001_initial")]

    operations = [
        make_append_only("voting_ballot"),
        make_append_only("voting_voterrollentry"),
    ]
