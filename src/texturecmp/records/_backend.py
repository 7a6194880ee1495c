"""What differs between the store's two back ends, SQLite and PostgreSQL (private; see texturecmp.records).

Opening (and refusing, without changing it, what is not a texturecmp store), marking a
database as a store of a given layout version, and serialising writers. The tables and
every query are in ``_schema.py``, the same for both.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, pool, select, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from texturecmp.errors import TextureCmpError
from texturecmp.records._schema import meta, set_meta

__all__ = ["StoreError", "APPLICATION_ID", "APPLICATION", "Backend", "SQLiteBackend", "PostgresBackend", "backend_for",
           "is_url", "has_password", "shown", "DB_ENV"]

#: ``PRAGMA application_id`` of an SQLite texturecmp store ("TXCR"); also the key of the
#: PostgreSQL advisory lock that serialises writers.
APPLICATION_ID = 0x54584352
#: ``meta.application`` of a PostgreSQL texturecmp store.
APPLICATION = "texturecmp-records"
#: Environment variable holding the store (a path or a PostgreSQL URL) for the CLI and the app.
DB_ENV = "TEXTURECMP_DB"

_SQLITE_HEADER = b"SQLite format 3\x00"
#: SQLite files this process has checked (or written to) -> their stat signature then.
_CHECKED: dict[str, tuple] = {}
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class StoreError(TextureCmpError):
    """The record store cannot be opened or used (not a texturecmp store, newer format, damaged, unknown id...)."""


def is_url(target: str) -> bool:
    """Whether a store target is a PostgreSQL URL (else it is an SQLite file path)."""
    return target.split("://", 1)[0].lower() in _PG_SCHEMES and "://" in target


def has_password(target: str) -> bool:
    """Whether a PostgreSQL URL carries a password (which must not be typed where it shows)."""
    if not is_url(target):
        return False
    try:
        return make_url(_pg_url_text(target)).password is not None
    except ArgumentError:
        return False


def shown(target: str) -> str:
    """A store as messages and the app show it: an SQLite path as given, a URL without its password."""
    if not is_url(target):
        return target
    try:
        u = make_url(_pg_url_text(target))
    except ArgumentError:
        return target.split("://", 1)[0] + "://..."
    return URL.create("postgresql", username=u.username, host=u.host, port=u.port, database=u.database,
                      query=u.query).render_as_string(hide_password=True)


def _pg_url_text(target: str) -> str:
    scheme, rest = target.split("://", 1)
    return "postgresql+psycopg://" + rest


class Backend:
    """One back end: its engine, how it shows itself, how it marks and locks a store."""

    name = ""
    #: Text naming the store in messages (a path, or a URL without its password).
    display = ""

    def identify(self, *, create: bool, conn: Connection | None = None) -> int | None:
        """The layout version of the store, or None when there is none yet (and ``create``); refuse anything else.

        Reads only. SQLite reads the file before any connection is made (``conn`` unused);
        PostgreSQL reads through ``conn``.
        """
        raise NotImplementedError

    def engine(self) -> Engine:
        raise NotImplementedError

    def begin_write(self, conn: Connection) -> None:
        """Start a write transaction that excludes every other writer until it ends."""
        raise NotImplementedError

    def read_version(self, conn: Connection) -> tuple[bool, int]:
        """(marked as a texturecmp store, layout version) inside a transaction."""
        raise NotImplementedError

    def write_version(self, conn: Connection, version: int) -> None:
        raise NotImplementedError

    def check_before_writing(self, conn: Connection) -> None:
        """Refuse to write to a damaged store (before each write transaction)."""

    def wrote(self) -> None:
        """A write transaction of this process committed."""

    def integrity_check(self, conn: Connection) -> str:
        raise NotImplementedError

    def foreign_tables(self, conn: Connection) -> list[str]:
        """Tables already in the database (to refuse making a store in one that holds another application's)."""
        raise NotImplementedError


# ----------------------------------------------------------------------------- SQLite

class SQLiteBackend(Backend):
    """One SQLite file in WAL mode (standard library ``sqlite3`` through SQLAlchemy's pysqlite dialect)."""

    name = "sqlite"

    def __init__(self, path: str, *, timeout: float, durable: bool):
        self.path = path
        self.display = path
        self.timeout = timeout
        self.durable = durable

    def engine(self, path: str | None = None) -> Engine:
        path = self.path if path is None else path
        eng = create_engine(URL.create("sqlite", database=path), isolation_level="AUTOCOMMIT",
                            poolclass=pool.StaticPool if path == ":memory:" else pool.NullPool,
                            connect_args={"timeout": self.timeout, "check_same_thread": False})
        sync = "FULL" if self.durable else "NORMAL"

        @event.listens_for(eng, "connect")
        def _pragmas(dbapi: sqlite3.Connection, _record: Any) -> None:
            mode = dbapi.execute("PRAGMA journal_mode = WAL").fetchone()[0]  # a no-op on a texturecmp store
            if mode.lower() != "wal" and path != ":memory:":
                raise StoreError(f"db: cannot switch {path} to WAL mode (journal mode {mode})")
            dbapi.execute(f"PRAGMA synchronous = {sync}")
            dbapi.execute("PRAGMA foreign_keys = ON")

        return eng

    def identify(self, *, create: bool, conn: Connection | None = None) -> int | None:
        """Reads without changing anything: the file's header, then the pragmas and tables read-only.

        The read-only connection also sees what the write-ahead log holds.
        """
        path = self.path
        if path == ":memory:":
            return None
        if not os.path.lexists(path):
            if not create:
                raise StoreError(f"db: no record store at {path}")
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise StoreError(f"db: the folder {folder} does not exist (no record store at {path})")
            return None
        if os.path.isdir(path):
            raise StoreError(f"db: {path} is a folder, not a record store")
        try:
            with open(path, "rb") as f:
                head = f.read(100)
        except OSError as exc:
            raise StoreError(f"db: cannot read {path} ({exc.strerror})") from None
        if not head:
            raise StoreError(f"db: {path} is an empty file (0 bytes), not a texturecmp record store; "
                             "give the path of a store, or of a file that does not exist yet to create one")
        if not head.startswith(_SQLITE_HEADER) or len(head) < 100:
            raise StoreError(f"db: {path} is not a texturecmp record store (not an SQLite database)")
        try:
            uri = Path(path).resolve().as_uri() + "?mode=ro"
            ro = sqlite3.connect(uri, uri=True, timeout=self.timeout)
            try:
                app = ro.execute("PRAGMA application_id").fetchone()[0]
                version = ro.execute("PRAGMA user_version").fetchone()[0]
                tables = [r[0] for r in ro.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            finally:
                ro.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"db: {path} is damaged or not a texturecmp record store ({exc})") from None
        if app != APPLICATION_ID:
            what = f"its tables: {', '.join(tables[:5])}" if tables else "an SQLite file without tables"
            why = f"application_id {app:#x}, " if app else ""
            raise StoreError(f"db: {path} is not a texturecmp records database ({why}{what}); it was left unchanged")
        return int(version)

    def create(self, migrate: Any) -> None:
        """Make a new store at ``path`` atomically: built under a temporary name, then linked into place.

        So no other process ever sees a half-made store (a file without the texturecmp
        marks is refused), and processes creating the same store at once all use the
        one linked first.
        """
        folder, name = os.path.split(os.path.abspath(self.path))
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            eng = self.engine(tmp)
            try:
                with eng.connect() as conn:
                    migrate(self, conn)
            finally:
                eng.dispose()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another process made it first: use that one
            except OSError:  # a file system without hard links
                if not os.path.exists(self.path):
                    os.replace(tmp, self.path)
        except OSError as exc:
            raise StoreError(f"db: cannot create a record store at {self.path} ({exc})") from None
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp + suffix)

    def begin_write(self, conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def read_version(self, conn: Connection) -> tuple[bool, int]:
        app = conn.exec_driver_sql("PRAGMA application_id").scalar()
        version = conn.exec_driver_sql("PRAGMA user_version").scalar()
        return app == APPLICATION_ID or (app == 0 and version == 0), int(version)

    def write_version(self, conn: Connection, version: int) -> None:
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")

    def foreign_tables(self, conn: Connection) -> list[str]:
        return list(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())

    def _signature(self) -> tuple | None:
        """The file and its write-ahead log as ``stat`` sees them (None for ``:memory:``)."""
        if self.path == ":memory:":
            return None
        out: tuple = ()
        for p in (self.path, self.path + "-wal"):
            try:
                st = os.stat(p)
                out += (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                out += (None,)
        return out

    def check_before_writing(self, conn: Connection) -> None:
        """``PRAGMA quick_check`` before writing: never add to a damaged file.

        Its cost grows with the file (it reads every page), so it runs once per state of
        the file in this process:
        again only after another process (or anything else) has changed the file since
        this process last checked it or wrote to it.
        """
        sig = self._signature()
        key = os.path.realpath(self.path)
        if sig is not None and _CHECKED.get(key) == sig:
            return
        rows = conn.exec_driver_sql("PRAGMA quick_check(5)").scalars()
        result = "; ".join(line.strip() for r in rows for line in r.splitlines())
        if result != "ok":
            raise StoreError(f"db: {self.path} is damaged (SQLite quick_check: {result}); nothing was written. "
                             "Restore it from a backup or give another store")
        if sig is not None:
            _CHECKED[key] = sig

    def wrote(self) -> None:
        sig = self._signature()
        if sig is not None:
            _CHECKED[os.path.realpath(self.path)] = sig

    def integrity_check(self, conn: Connection) -> str:
        rows = conn.exec_driver_sql("PRAGMA integrity_check").scalars()
        return "; ".join(line.strip() for r in rows for line in r.splitlines())


# ----------------------------------------------------------------------------- PostgreSQL

class PostgresBackend(Backend):
    """A PostgreSQL database (psycopg 3 through SQLAlchemy), in the connection's current schema.

    The URL is libpq's: ``postgresql://user@host:port/dbname?sslmode=verify-full``, or
    ``postgresql:///?service=clinic``. Passwords come from ``PGPASSWORD``, ``~/.pgpass``
    or the service file; one in the URL works but is never shown (:attr:`display`).
    """

    name = "postgresql"

    def __init__(self, url: str, *, timeout: float):
        try:
            self.url = make_url(_pg_url_text(url))
        except ArgumentError as exc:
            raise StoreError(f"db: not a PostgreSQL URL ({exc})") from None
        self.display = shown(url)
        self.timeout = timeout

    def engine(self) -> Engine:
        args = {"connect_timeout": max(1, int(min(self.timeout, 30)))}
        if "application_name" not in self.url.query:
            args["application_name"] = "texturecmp"
        try:
            eng = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=2,
                                pool_pre_ping=True, connect_args=args)
        except ImportError:
            raise StoreError("db: a PostgreSQL store needs psycopg 3: pip install 'texturecmp[postgresql]'") from None
        lock_ms = int(self.timeout * 1000)

        @event.listens_for(eng, "connect")
        def _settings(dbapi: Any, _record: Any) -> None:
            with dbapi.cursor() as cur:  # a writer waits up to `timeout` for another's lock, as SQLite's busy timeout
                cur.execute(f"SET lock_timeout = {lock_ms}")

        return eng

    def _tables(self, conn: Connection) -> list[str]:
        return list(conn.execute(text("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = current_schema() ORDER BY table_name")).scalars())

    def identify(self, *, create: bool, conn: Connection | None = None) -> int | None:
        """Read-only: the tables of the current schema and, when there is a ``meta`` table, its marks."""
        tables = self._tables(conn)
        if not tables:
            if not create:
                raise StoreError(f"db: no record store at {self.display} (the database has no tables)")
            return None
        marked, version = self.read_version(conn) if "meta" in tables else (False, 0)
        if not marked:
            raise StoreError(f"db: {self.display} is not a texturecmp records database (its tables: "
                             f"{', '.join(tables[:5])}); it was left unchanged")
        return version

    def begin_write(self, conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPLICATION_ID})

    def read_version(self, conn: Connection) -> tuple[bool, int]:
        tables = self._tables(conn)
        if "meta" not in tables:
            return not tables, 0
        marks = dict(conn.execute(select(meta.c.key, meta.c.value)).all())
        if marks.get("application") != APPLICATION:
            return False, 0
        return True, int(marks.get("store_version", "0"))

    def write_version(self, conn: Connection, version: int) -> None:
        set_meta(conn, "application", APPLICATION)
        set_meta(conn, "store_version", str(int(version)))

    def foreign_tables(self, conn: Connection) -> list[str]:
        return [t for t in self._tables(conn) if t != "meta"]

    def integrity_check(self, conn: Connection) -> str:
        """PostgreSQL checks its own pages: here every table is read through (``count(*)``)."""
        for t in self._tables(conn):
            conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar()
        return "ok"


def backend_for(target: str, *, timeout: float, durable: bool) -> Backend:
    """The back end of a store target: a PostgreSQL URL, else an SQLite file path."""
    if is_url(target):
        return PostgresBackend(target, timeout=timeout)
    if "://" in target:
        raise StoreError(f"db: {target.split('://', 1)[0]}:// is not a supported store; give an SQLite file path "
                         "or a postgresql:// URL")
    return SQLiteBackend(target, timeout=timeout, durable=durable)
