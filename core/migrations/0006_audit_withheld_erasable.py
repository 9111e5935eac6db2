from django.db import migrations

from core.db.append_only import _install_sql

# The audit log's row trigger (append-only) with one exception: inside a transaction that has set
# ``pb.audit_erase``, an UPDATE of a version 2 event that has a stored private digest and was not
# erased yet passes if it does exactly the erasure — the client IP null, the withheld ``before``/
# ``after`` keys removed, the reason and the actor id blanked where they are withheld, and
# ``withheld_erased_at`` set — and changes no other column. The public body (and so the hash) is
# the same before and after. Every other UPDATE, a second erasure, DELETE and TRUNCATE are refused.
AUDIT_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION pb_audit_refuse_change() RETURNS trigger AS $$
DECLARE
    kept text[] := ARRAY['before', 'after', 'reason', 'ip', 'actor_id', 'withheld_erased_at'];
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('pb.audit_erase', true) = 'on'
       AND OLD.version = 2
       AND OLD.private_digest <> ''
       AND OLD.withheld_erased_at IS NULL
       AND NEW.withheld_erased_at IS NOT NULL
       AND NEW.ip IS NULL
       AND NEW.reason = (CASE WHEN OLD.withheld ? 'reason' THEN '' ELSE OLD.reason END)
       AND NEW.actor_id IS NOT DISTINCT FROM (CASE WHEN OLD.withheld ? 'actor_id' THEN NULL ELSE OLD.actor_id END)
       AND NEW.before = OLD.before - ARRAY(
           SELECT substr(path, 8) FROM jsonb_array_elements_text(OLD.withheld) AS path WHERE path LIKE 'before.%')
       AND NEW.after = OLD.after - ARRAY(
           SELECT substr(path, 7) FROM jsonb_array_elements_text(OLD.withheld) AS path WHERE path LIKE 'after.%')
       AND (to_jsonb(NEW) - kept) = (to_jsonb(OLD) - kept) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS core_auditevent_append_only_rows ON core_auditevent;
CREATE TRIGGER core_auditevent_append_only_rows BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION pb_audit_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(AUDIT_TRIGGER_SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_install_sql("core_auditevent"), params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS pb_audit_refuse_change()", params=None)


class Migration(migrations.Migration):
    """The audit log stays insert-only, except that the archive may erase a version 2 event's
    withheld values, once, leaving its public body and hash as they were
    (``core.erase.audit_withheld_erase``)."""

    dependencies = [("core", "0005_audit_event_private_digest")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
