"""Batch writes handed straight to the driver's executemany, as tuples built by the caller.

SQLAlchemy's executemany runs every value of every row through its parameter handling; for
the sweep's thousands of rows that costs about as much as SQLite's own work. Here the SQL is
written once, the caller gives rows already in the driver's terms (`binder` converts the few
values that need it, timestamps, exactly as SQLAlchemy would), and the driver gets them as
they are. Same SQL on SQLite and PostgreSQL; only the placeholder differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

# The DB-API parameter styles of the drivers Stemme runs on: sqlite3 and psycopg.
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _same(value: Any) -> Any:
    return value


_BINDERS: dict[tuple[str, str, str, str], Callable[[Any], Any]] = {}


def binder(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any]:
    """The conversion SQLAlchemy applies to `column`'s values on `dialect` (identity if none).

    Made once per column and driver: every inbound message binds its times through these.
    """
    key = (table.name, column, dialect.name, dialect.driver)
    found = _BINDERS.get(key)
    if found is None:
        processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        found = _BINDERS[key] = processor or _same
    return found


class DriverMany:
    """One statement with `?` for each value, run as a single driver executemany."""

    def __init__(self, sql: str) -> None:
        if "%" in sql:  # would be read as a placeholder by the format-style drivers
            raise ValueError("driver SQL must not contain '%'")
        self.sql = sql
        self._by_style: dict[str, str] = {}

    def for_dialect(self, dialect: Dialect) -> str:
        """The statement in the dialect's driver's placeholder style."""
        style = dialect.paramstyle
        text = self._by_style.get(style)
        if text is None:
            if style not in _PLACEHOLDERS:
                raise NotImplementedError(f"no driver SQL for paramstyle {style!r}")
            text = self._by_style[style] = self.sql.replace("?", _PLACEHOLDERS[style])
        return text

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run the statement once per row, in the connection's transaction."""
        if rows:
            connection.exec_driver_sql(self.for_dialect(connection.dialect),
                                       rows if isinstance(rows, list) else list(rows))


class Pending:
    """Rows for one statement, kept until `write` runs them together (a batch's end)."""

    def __init__(self, statement: DriverMany) -> None:
        self.statement = statement
        self.rows: list[tuple[Any, ...]] = []

    def write(self, connection: Connection) -> None:
        """Run the statement for what is pending, in order, in the caller's transaction."""
        if self.rows:
            self.statement.execute(connection, self.rows)
            self.rows = []


def _names(table: Table, columns: Sequence[str]) -> list[str]:
    # Quoted, as both backends read double quotes; checked, so a typo fails at import.
    for name in columns:
        if name not in table.c:
            raise KeyError(f"{table.name} has no column {name!r}")
    return [f'"{name}"' for name in columns]


def insert_many(table: Table, columns: Sequence[str], *,
                skip_conflicts_on: Sequence[str] = ()) -> DriverMany:
    """An INSERT of `columns` (each row a tuple in that order), optionally skipping rows
    that conflict on a unique key (ON CONFLICT ... DO NOTHING, on both backends)."""
    sql = (f'INSERT INTO "{table.name}" ({", ".join(_names(table, columns))}) '
           f'VALUES ({", ".join("?" for _ in columns)})')
    if skip_conflicts_on:
        sql += f' ON CONFLICT ({", ".join(_names(table, skip_conflicts_on))}) DO NOTHING'
    return DriverMany(sql)


def update_many(table: Table, columns: Sequence[str], *, where: str) -> DriverMany:
    """An UPDATE of `columns` in the row whose `where` column equals the last value given
    (each row a tuple: the new values in order, then the key)."""
    assignments = ", ".join(f"{name} = ?" for name in _names(table, columns))
    [key] = _names(table, [where])
    return DriverMany(f'UPDATE "{table.name}" SET {assignments} WHERE {key} = ?')


def delete_many(table: Table, where: Sequence[str]) -> DriverMany:
    """A DELETE of the rows whose `where` columns equal a row's values (a tuple, in order)."""
    conditions = " AND ".join(f"{name} = ?" for name in _names(table, where))
    return DriverMany(f'DELETE FROM "{table.name}" WHERE {conditions}')
