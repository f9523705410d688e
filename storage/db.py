"""Engine and sessions for SQLite and PostgreSQL; the schema is created by the code (`init_db`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, DateTime, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

#: Nullable columns added to a table after its first release, as (table, column): `create_all` leaves an
#: existing table as it is, so `init_db` adds them (and the indexes over them) to older databases.
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (("jobs", "course"),)

#: Arbitrary constant for `pg_advisory_xact_lock`, so concurrent processes create the schema one at a time.
_SCHEMA_LOCK_KEY = 0x0C1A5590


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both back-ends (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer (API + workers + beat)
    cursor.execute("PRAGMA busy_timeout=30000")  # wait for the write lock instead of failing at once
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


#: Process-wide connection pools, one per URL (the one piece of module state: pools must be shared).
_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """The engine (connection pool) for `url` in this process."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = _create_engine(url)
    return engine


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def dispose_engines(*, close: bool = True) -> None:
    """Drop every pool. In a forked child pass `close=False`: inherited connections belong to the parent."""
    for engine in _ENGINES.values():
        engine.dispose(close=close)
    _ENGINES.clear()


def init_db(engine: Engine) -> None:
    """Create missing tables, and add the columns of `ADDED_COLUMNS` to a database made before them. Safe
    to run from several processes at once (API, workers, beat)."""
    from storage import models  # noqa: F401  (registers the tables on Base.metadata)

    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            _create_schema(conn)
        return
    try:
        with engine.begin() as conn:
            _create_schema(conn)
    except DatabaseError:  # another process created a table or column between the check and the CREATE
        log.debug("schema creation raced with another process; retrying", exc_info=True)
        with engine.begin() as conn:
            _create_schema(conn)


def _create_schema(conn: Connection) -> None:
    Base.metadata.create_all(conn)
    present = {name: {c["name"] for c in inspect(conn).get_columns(name)} for name, _ in ADDED_COLUMNS}
    for table_name, column_name in ADDED_COLUMNS:
        table = Base.metadata.tables[table_name]
        if column_name not in present[table_name]:
            column_type = table.c[column_name].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {column_name} {column_type}"))
            log.info("database schema: added %s.%s", table_name, column_name)
        for index in table.indexes:
            if column_name in index.columns:
                index.create(conn, checkfirst=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer `SELECT 1`."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
