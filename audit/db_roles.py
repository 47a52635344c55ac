"""PostgreSQL roles: the owner migrates, the service appends (invariant "append-only",
docs/ARCHITECTURE.md).

Migrations run as the owner role (``DATABASE_URL`` of the migrate step), which owns every table
and therefore could drop the audit triggers. The web and worker processes run as a service role
(``DATABASE_SERVICE_ROLE``) that owns nothing: it may read and write the ordinary tables, but
on the audit tables only SELECT and INSERT. Without ownership it can neither ALTER them, nor
disable or drop their triggers; without the privileges it cannot UPDATE, DELETE or TRUNCATE
them, triggers or not. ``grant_service_role`` runs after every ``migrate`` (post_migrate), so
tables added later are covered too.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from audit.testing import APPEND_ONLY_TABLES


def grant_service_role(connection: BaseDatabaseWrapper, role: str) -> None:
    """Give ``role`` what the service needs, and on the audit tables no more than SELECT and
    INSERT. PostgreSQL only; run as the owner."""
    quote = connection.ops.quote_name
    grantee = quote(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {grantee}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {grantee}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {grantee}",
    ]
    existing = set(connection.introspection.table_names())
    for table in sorted(APPEND_ONLY_TABLES & existing):
        for who in (grantee, "PUBLIC"):
            statements.append(
                f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {quote(table)} FROM {who}"
            )
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def grant_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate: re-grant when ``DATABASE_SERVICE_ROLE`` is set (PostgreSQL)."""
    from django.conf import settings
    from django.db import connections

    connection = connections[using]
    if settings.DATABASE_SERVICE_ROLE and connection.vendor == "postgresql":
        grant_service_role(connection, settings.DATABASE_SERVICE_ROLE)
