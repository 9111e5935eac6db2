from django.db import migrations, models

# The words the two fixed reasons were stored with, as ballots.csv shows them (kept as they are).
WORDS = {
    "superseded": "superseded by the voter's later ballot",
    "provisional_rejected": "provisional ballot rejected",
}


def classify(apps, schema_editor):
    """Each existing void's kind, from its words: the fixed words of a supersession or a rejected
    provisional ballot, else an official's void. The words themselves stay as they are."""
    BallotVoid = apps.get_model("voting", "BallotVoid")
    for kind, words in WORDS.items():
        BallotVoid.objects.filter(reason=words).update(kind=kind)


class Migration(migrations.Migration):
    """Why a ballot is void, as a choice (``VoidReason``) next to the words ``ballots.csv`` shows."""

    dependencies = [
        ("voting", "0010_ballot_intro_translations"),
    ]

    operations = [
        migrations.AddField(
            model_name="ballotvoid",
            name="kind",
            field=models.CharField(
                choices=[
                    ("superseded", "Superseded"),
                    ("provisional_rejected", "Provisional Rejected"),
                    ("official", "Official"),
                ],
                default="official",
                max_length=24,
            ),
        ),
        migrations.RunPython(classify, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="ballotvoid",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "official"), ("reason__gt", "")),
                    models.Q(("kind", "superseded"), ("reason", "superseded by the voter's later ballot")),
                    models.Q(("kind", "provisional_rejected"), ("reason", "provisional ballot rejected")),
                    _connector="OR",
                ),
                name="ballot_void_reason_valid",
            ),
        ),
    ]
