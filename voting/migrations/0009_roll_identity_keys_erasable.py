from django.db import migrations

from core.db.append_only import _install_sql

# The roll's row trigger (append-only) with one exception: inside a transaction that has set
# ``pb.roll_erase``, an UPDATE that changes nothing but the identity key, once, to an ``erased:``
# value passes. Every other UPDATE, any DELETE and TRUNCATE are still refused.
ROLL_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION pb_roll_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('pb.roll_erase', true) = 'on'
       AND OLD.identity_key NOT LIKE 'erased:%'
       AND NEW.identity_key LIKE 'erased:%'
       AND (to_jsonb(NEW) - 'identity_key') = (to_jsonb(OLD) - 'identity_key') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS voting_voterrollentry_append_only_rows ON voting_voterrollentry;
CREATE TRIGGER voting_voterrollentry_append_only_rows BEFORE UPDATE OR DELETE ON voting_voterrollentry
    FOR EACH ROW EXECUTE FUNCTION pb_roll_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ROLL_TRIGGER_SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_install_sql("voting_voterrollentry"), params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS pb_roll_refuse_change()", params=None)


class Migration(migrations.Migration):
    """The roll stays insert-only, except that the archive may replace each identity key, once, with
    a random value (voting/erase.py)."""

    dependencies = [("voting", "0008_identity_match_key_normalised")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
