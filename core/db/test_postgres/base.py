"""PostgreSQL backend for the test settings only.

Append-only tables refuse TRUNCATE by trigger. Django's test runner empties every
table between transactional tests with a TRUNCATE, so in tests only, the flush runs with triggers
disabled for its own transaction (``session_replication_role = replica``, superuser only). Every
other statement, in tests as in production, meets the triggers.
"""

from django.db.backends.postgresql import base


class DatabaseOperations(base.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if not statements:
            return statements
        return ["SET LOCAL session_replication_role = replica", *statements]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
