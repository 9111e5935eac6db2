"""Append-only tables: PostgreSQL refuses UPDATE, DELETE and TRUNCATE by trigger.

A trigger, not revoked privileges: a superuser ignores privileges but not triggers. Used by the
audit log here and, later, by the ballot and voter-roll tables. On other databases (the embedded
SQLite default) the models' own save/delete guards are what remains.
"""

from django.db import migrations, models

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION pb_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _install_sql(table: str) -> str:
    return f"""
    {FUNCTION_SQL}
    DROP TRIGGER IF EXISTS {table}_append_only_rows ON {table};
    CREATE TRIGGER {table}_append_only_rows BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION pb_refuse_change();
    DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table};
    CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION pb_refuse_change();
    """


def _remove_sql(table: str) -> str:
    return f"""
    DROP TRIGGER IF EXISTS {table}_append_only_rows ON {table};
    DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table};
    """


def make_append_only(table: str) -> migrations.RunPython:
    """A migration operation installing the triggers on ``table`` (PostgreSQL only)."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_install_sql(table), params=None)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_remove_sql(table), params=None)

    return migrations.RunPython(forwards, backwards, elidable=False)


class AppendOnlyQuerySet:
    """Mixin for managers of append-only models: no bulk update or delete from the ORM."""

    def update(self, **kwargs):
        raise TypeError("append-only table: updates are refused")

    def delete(self):
        raise TypeError("append-only table: deletes are refused")


class AppendOnlyManagerQuerySet(AppendOnlyQuerySet, models.QuerySet):
    pass


class AppendOnlyModel(models.Model):
    """Rows are inserted, never changed or deleted through the ORM (the trigger is the real guard)."""

    objects = AppendOnlyManagerQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} is append-only (insert-only)")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is append-only (insert-only)")
