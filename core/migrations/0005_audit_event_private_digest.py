from django.db import migrations, models

from pbverify import chain
from pbverify.canonical import to_jsonable

ROW_TRIGGER = "core_auditevent_append_only_rows"


def fill_private_digests(apps, schema_editor):
    """Store the digest of the withheld values of every version 2 event written so far, computed as
    ``pbverify.chain`` computes it when the hash is made (version 1 events have none and are left). The
    append-only row trigger is set aside for this one statement per row, in this migration's
    transaction; no other column changes."""
    AuditEvent = apps.get_model("core", "AuditEvent")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(f"ALTER TABLE core_auditevent DISABLE TRIGGER {ROW_TRIGGER}", params=None)
    for event in AuditEvent.objects.filter(version=chain.V2, private_digest="").iterator(chunk_size=2000):
        full = to_jsonable(
            {"actor_id": event.actor_id, "reason": event.reason, "ip": event.ip, "before": event.before,
             "after": event.after}
        )
        digest = chain.private_digest(event.salt, chain.private_values(full, event.withheld))
        AuditEvent.objects.filter(pk=event.pk).update(private_digest=digest)
    if postgres:
        schema_editor.execute(f"ALTER TABLE core_auditevent ENABLE TRIGGER {ROW_TRIGGER}", params=None)


class Migration(migrations.Migration):
    """Each version 2 event keeps the digest its body commits to, and when its withheld values were
    erased by the archive (``core.erase.audit_withheld_erase``)."""

    dependencies = [("core", "0004_audit_event_public_split")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="private_digest",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="withheld_erased_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill_private_digests, migrations.RunPython.noop, elidable=False),
    ]
