"""Writing many rows in one statement: COPY ... FROM STDIN on PostgreSQL with psycopg 3.

Run through Django's cursor wrappers (``cursor._execute_with_wrappers(sql, rows, many=True,
executor=copy_rows)``), so query logging and database error wrapping apply as to any query.
"""

from __future__ import annotations

from typing import Any


def copies(connection: Any) -> bool:
    """Whether rows go in with COPY on ``connection``: PostgreSQL through psycopg 3."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def copy_rows(sql: str, rows: list[list[Any]], many: bool, context: Any) -> None:
    """Django's executor signature, over psycopg 3's COPY ... FROM STDIN."""
    with context["connection"].wrap_database_errors, context["cursor"].cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
