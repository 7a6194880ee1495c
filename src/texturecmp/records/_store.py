"""The record store, on SQLite or PostgreSQL (private; see texturecmp.records)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from texturecmp.records import _schema as S
from texturecmp.records._backend import (APPLICATION_ID, DB_ENV, Backend, PostgresBackend, SQLiteBackend, StoreError,
                                         backend_for, has_password)
from texturecmp.records._record import BadRecordError, canonical_bytes, date_sort_key, problems

__all__ = ["Store", "StoreError", "DamagedRecordError", "Copied", "copy_records", "Entry", "StoredRecord", "MIGRATIONS", "STORE_VERSION",
           "APPLICATION_ID", "migrate", "verified_record"]

MIGRATIONS = S.MIGRATIONS
STORE_VERSION = S.STORE_VERSION


class DamagedRecordError(StoreError):
    """A stored record fails its checks on reading: its body no longer hashes to its id, or it is not a valid record.

    Attributes
    ----------
    record_id : str
        The id the record is stored under.
    problems : tuple of str
        What is wrong, one item each (``"$.path: ..."`` for schema problems).
    """

    def __init__(self, message: str, record_id: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.record_id = record_id
        self.problems = tuple(problems) or (message,)


def verified_record(record_id: str, body: str | bytes, *, where: str = "") -> dict[str, Any]:
    """The record stored as ``body`` under ``record_id``, after checking it.

    Checks that the SHA-256 of the body's bytes is the id (the body is the record's
    canonical JSON, so any change after storing breaks it) and that the parsed record
    passes :func:`texturecmp.records.problems` (the schema and the checks beyond it).

    Raises
    ------
    DamagedRecordError
        Naming the record (its first 12 id characters, its subject and session when
        readable) and every problem found.
    """
    blob = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    found: list[str] = []
    if hashlib.sha256(blob).hexdigest() != record_id:
        found.append("its content no longer hashes to its id (changed after it was stored)")
    rec: Any = None
    try:
        rec = json.loads(blob)
    except ValueError as exc:
        found.append(f"its body is not JSON ({exc})")
    else:
        found.extend(problems(rec))
    if not found:
        return rec
    label = f"record {record_id[:12]}"
    if isinstance(rec, Mapping) and isinstance(rec.get("subject"), str) and isinstance(rec.get("session"), str):
        label += f" (subject {rec['subject']!r}, session {rec['session']!r})"
    raise DamagedRecordError(f"{label}{where} is damaged: " + "; ".join(found), record_id, found)


@dataclass(frozen=True)
class Entry:
    """Index fields of one stored record (what ``records list`` shows).

    Attributes
    ----------
    id : str
        Content id (SHA-256 of the record's canonical JSON).
    kind : str
        ``"measurement"`` or ``"comparison"``.
    subject, session : str
    date : str or None
        Capture date as in the record.
    baseline_session : str or None
        Comparisons: the baseline's session.
    texturecmp_version : str
    added_at : str
        UTC time the record was first added (ISO 8601).
    """

    id: str
    kind: str
    subject: str
    session: str
    date: str | None
    baseline_session: str | None
    texturecmp_version: str
    added_at: str


@dataclass(frozen=True)
class StoredRecord(Entry):
    """An :class:`Entry` with its record.

    ``record`` (the dict that was added) is parsed from ``body`` (its canonical JSON) on
    first access, so listing a long history stays fast when only some records are read.
    """

    body: str = field(default="", repr=False)

    @cached_property
    def record(self) -> dict[str, Any]:
        """The record (parsed and checked once from ``body``; :class:`DamagedRecordError` when it fails)."""
        return verified_record(self.id, self.body)


# ----------------------------------------------------------------------------- migrations

def _migrate(backend: Backend, conn: Connection, *, upto: int | None = None) -> int:
    """Bring an open store to version ``upto`` (default: the latest), in one write transaction."""
    target = STORE_VERSION if upto is None else upto
    backend.begin_write(conn)
    try:
        marked, version = backend.read_version(conn)
        if not marked:
            raise StoreError(f"db: {backend.display} is not a texturecmp records database (no texturecmp mark)")
        if version == 0:
            tables = backend.foreign_tables(conn)
            if tables:
                raise StoreError(f"db: {backend.display} is not a texturecmp records database (it already has tables: "
                                 f"{', '.join(tables[:5])})")
        if version > STORE_VERSION:
            raise StoreError(f"db: {backend.display} was written by a newer texturecmp (store version {version}, this "
                             f"one reads up to {STORE_VERSION}); upgrade texturecmp")
        for i in range(version, target):
            MIGRATIONS[i](conn)
        if target > version:
            backend.write_version(conn, target)
            S.set_meta(conn, "migrated_at", _now())
        conn.exec_driver_sql("COMMIT")
        return max(version, target)
    except BaseException:
        with contextlib.suppress(SQLAlchemyError):
            conn.exec_driver_sql("ROLLBACK")
        raise


def migrate(target: str | os.PathLike, *, upto: int | None = None, timeout: float = 60.0) -> int:
    """Bring the store at ``target`` (an SQLite path or a PostgreSQL URL) to layout version ``upto`` (default: the latest).

    Returns the version reached. :class:`Store` does this on opening; this function is
    for stepping a store to a given version (tests, tools). A database that is not a
    texturecmp store, or one from a newer texturecmp, raises :class:`StoreError`
    unchanged.
    """
    backend = backend_for(os.fspath(target), timeout=timeout, durable=False)
    if isinstance(backend, SQLiteBackend):
        backend.identify(create=True)
    engine = backend.engine()
    try:
        with engine.connect() as conn:
            if isinstance(backend, PostgresBackend):
                backend.identify(create=True, conn=conn)
            return _migrate(backend, conn, upto=upto)
    except DBAPIError as exc:
        raise StoreError(f"db: {backend.display}: {_reason(exc)}") from None
    finally:
        engine.dispose()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reason(exc: BaseException) -> str:
    """The driver's message on one line."""
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


_DISCONNECT_STATES = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect now


def _is_disconnect(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None) or ""
    return state.startswith("08") or state in _DISCONNECT_STATES


# ----------------------------------------------------------------------------- the store

class Store:
    """Records in one SQLite file or one PostgreSQL database: subjects, sessions, records, measurements, comparisons.

    Parameters
    ----------
    path : str or os.PathLike
        An SQLite file (``":memory:"`` for a throw-away store), or a PostgreSQL URL
        (``postgresql://user@host/dbname``, libpq's form: ``?sslmode=verify-full``,
        ``?service=clinic``...). The password comes from ``PGPASSWORD``, ``~/.pgpass`` or
        the service file. A URL holding a password is refused unless it is the value of
        ``TEXTURECMP_DB``; its password is never shown (:attr:`path` leaves it out).
    timeout : float
        Seconds a writer waits for another writer's transaction to end before
        :class:`StoreError` (SQLite's busy timeout, PostgreSQL's ``lock_timeout``; default 60).
    durable : bool
        SQLite: ``PRAGMA synchronous=FULL``, a committed record also survives a power cut.
        The default (NORMAL, in WAL mode) survives a crash or kill of the process.
        PostgreSQL commits durably as the server is configured.
    create : bool
        Make the store when there is none (a missing SQLite file, a PostgreSQL database
        without tables). Otherwise :class:`StoreError` ``no record store at ...``.

    Notes
    -----
    * Every :meth:`add` / :meth:`add_many` is one transaction: a crash leaves either all
      of it or nothing. Writers are serialised (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
      a transaction-level advisory lock), readers never wait for them.
    * Several processes may write at once: each waits for the others.
    * One ``Store`` may be shared by threads (calls are serialised by a lock). After a
      ``fork`` the child reopens its own connection on first use.
    * A connection dropped by the PostgreSQL server (a restart) is reopened and the call
      run once more: every call is safe to repeat (records are stored by content id).
    * Records are identified by content (:func:`texturecmp.records.record_id`): adding
      the same record again stores nothing and returns the same id.
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 60.0, durable: bool = False, create: bool = True):
        target = os.fspath(path)
        if not isinstance(target, str):
            raise StoreError(f"db: expected a file path or a postgresql:// URL, got {type(path).__name__}")
        if has_password(target) and target != os.environ.get(DB_ENV, "").strip():
            raise StoreError("db: the URL holds a password; credentials never go in code or on a command line: put "
                             f"it in PGPASSWORD, ~/.pgpass or a service file, or give the whole URL in {DB_ENV}")
        self._backend = backend_for(target, timeout=float(timeout), durable=bool(durable))
        #: The store as shown in messages: the SQLite path, or the URL without its password.
        self.path = self._backend.display
        #: ``"sqlite"`` or ``"postgresql"``.
        self.backend = self._backend.name
        self.timeout = float(timeout)
        self.durable = bool(durable)
        self.create = bool(create)
        self._lock = threading.RLock()
        self._engine = None
        self._conn: Connection | None = None
        self._pid = -1
        self._connect()

    # -- connection --------------------------------------------------------------------------
    def _connect(self) -> Connection:
        b = self._backend
        version = None
        if isinstance(b, SQLiteBackend):
            version = b.identify(create=self.create)
            if version is None and b.path != ":memory:":
                b.create(_migrate)
                version = STORE_VERSION
        try:
            engine = b.engine()
            conn = engine.connect()
        except DBAPIError as exc:
            raise StoreError(f"db: cannot open {self.path} ({_reason(exc)})") from None
        try:
            if isinstance(b, PostgresBackend):
                version = b.identify(create=self.create, conn=conn)
            if version != STORE_VERSION:
                _migrate(b, conn)
        except DBAPIError as exc:
            conn.close()
            engine.dispose()
            raise StoreError(f"db: {self.path} is damaged or not a usable database ({_reason(exc)})") from None
        except BaseException:
            conn.close()
            engine.dispose()
            raise
        self._engine, self._conn, self._pid = engine, conn, os.getpid()
        return conn

    @property
    def conn(self) -> Connection:
        """The SQLAlchemy connection of this process (reopened after a fork)."""
        if self._conn is None or self._pid != os.getpid():
            if self._pid != os.getpid():
                self._conn = self._engine = None  # the parent's: never used here
            self._connect()
        return self._conn  # type: ignore[return-value]

    def _drop(self) -> None:
        """Forget a connection the server dropped (the next call opens a new one)."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()
            with contextlib.suppress(Exception):
                self._conn.close()
        if self._engine is not None:
            with contextlib.suppress(Exception):
                self._engine.dispose()
        self._conn = self._engine = None

    def close(self) -> None:
        """Close the connection (the store reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                with contextlib.suppress(SQLAlchemyError):
                    self._conn.close()
                self._engine.dispose()
            self._conn = self._engine = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def _run(self, fn: Callable[[Connection], Any], *, write: bool = False) -> Any:
        """Run ``fn(connection)`` under the lock (in one write transaction when ``write``).

        A driver error becomes a one-line :class:`StoreError`. A connection the server
        dropped is reopened and ``fn`` run once more (every call of the store is safe to
        repeat: a record already stored is stored once).
        """
        for attempt in (0, 1):
            with self._lock:
                try:
                    return self._once(fn, write)
                except DBAPIError as exc:
                    lost = isinstance(self._backend, PostgresBackend) and _is_disconnect(exc)
                    if lost:
                        self._drop()
                        if attempt == 0:
                            continue
                    raise self._error(exc, write, lost) from None
                except StoreError as exc:
                    if attempt == 0 and isinstance(self._backend, PostgresBackend) and self._conn is None:
                        continue
                    raise exc from None
        raise AssertionError("unreachable")

    def _once(self, fn: Callable[[Connection], Any], write: bool) -> Any:
        conn = self.conn
        if not write:
            return fn(conn)
        self._backend.check_before_writing(conn)
        self._backend.begin_write(conn)
        try:
            out = fn(conn)
            conn.exec_driver_sql("COMMIT")
            self._backend.wrote()
            return out
        except BaseException:
            with contextlib.suppress(SQLAlchemyError):
                conn.exec_driver_sql("ROLLBACK")
            raise

    def _error(self, exc: DBAPIError, write: bool, lost: bool) -> StoreError:
        why = _reason(exc)
        if lost:
            what = ("the records may or may not have been stored; adding them again is safe (a record already "
                    "stored is stored once)") if write else "nothing was read"
            return StoreError(f"db: lost the connection to {self.path} and could not reopen it ({why}); {what}")
        if self.backend == "sqlite":
            if "locked" in why or "busy" in why:
                return StoreError(f"db: could not start writing to {self.path} ({why}); another process holds it")
            return StoreError(f"db: {self.path} is damaged or unreadable ({why}); restore it from a backup")
        if getattr(exc.orig, "sqlstate", "") == "55P03":  # lock_not_available
            return StoreError(f"db: could not start writing to {self.path} within {self.timeout:g} s ({why}); "
                              "another writer holds it")
        return StoreError(f"db: {self.path}: {why}")

    @property
    def version(self) -> int:
        """Layout version of the store (SQLite ``PRAGMA user_version``; PostgreSQL ``meta.store_version``)."""
        return self._run(lambda c: self._backend.read_version(c)[1])

    # -- writing -----------------------------------------------------------------------------
    def add(self, record: Mapping[str, Any]) -> str:
        """Validate and store one record; return its id (the same record twice is stored once).

        Raises
        ------
        BadRecordError
            The record is invalid (nothing is written).
        """
        return self.add_many([record])[0]

    def add_many(self, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Validate every record, then store them all in **one** transaction (all or none).

        Returns the ids in input order (duplicates, within the batch or of stored records,
        are stored once). Much faster than :meth:`add` in a loop.

        Raises
        ------
        BadRecordError
            Naming the first invalid record by its position and listing its problems.
        """
        return self._add_counted(records)[0]

    def _add_counted(self, records: Iterable[Mapping[str, Any]]) -> tuple[list[str], int]:
        """:meth:`add_many`, and how many of these records the store did not hold (counted inside
        the write transaction, so records other writers add meanwhile are not counted)."""
        prepared = []
        for i, rec in enumerate(records):
            found = problems(rec)
            if found:
                raise BadRecordError(f"record {i}: invalid texturecmp record ({len(found)} problem"
                                     f"{'s' if len(found) > 1 else ''}): " + "; ".join(found), found)
            blob = canonical_bytes(rec)  # serialised once: the id hashes the body's bytes
            prepared.append((hashlib.sha256(blob).hexdigest(), blob, rec))
        if not prepared:
            return [], 0
        added_at = _now()
        n = self._run(lambda c: S.insert_records(c, prepared, added_at=added_at, sort_key=date_sort_key), write=True)
        return [p[0] for p in prepared], int(n)

    # -- reading -----------------------------------------------------------------------------
    def _resolve(self, conn: Connection, record_id: str) -> str:
        if not isinstance(record_id, str) or not record_id:
            raise StoreError(f"id: expected a record id (hex), got {record_id!r}")
        rid = record_id.strip().lower()
        if len(rid) == 64:
            return rid
        if len(rid) < 6:
            raise StoreError(f"id: give at least 6 characters of the record id, got {record_id!r}")
        rows = conn.execute(S.id_prefix_query(rid)).scalars().all()
        if len(rows) > 1:
            raise StoreError(f"id: {record_id!r} matches several records; give more characters")
        if not rows:
            raise StoreError(f"id: no record {record_id!r} in {self.path}")
        return rows[0]

    def get(self, record_id: str) -> dict[str, Any]:
        """The record with this id (or unique id prefix of at least 6 characters), checked on reading.

        Raises
        ------
        StoreError
            No such record, or an ambiguous prefix.
        DamagedRecordError
            The stored record fails its checks (:func:`verified_record`).
        """
        def read(conn: Connection) -> tuple[str, Any]:
            rid = self._resolve(conn, record_id)
            return rid, conn.execute(select(S.records.c.body).where(S.records.c.id == rid)).scalar()

        rid, body = self._run(read)
        if body is None:
            raise StoreError(f"id: no record {record_id!r} in {self.path}")
        return verified_record(rid, body)

    def __contains__(self, record_id: object) -> bool:
        if not isinstance(record_id, str):
            return False
        q = select(S.records.c.record_key).where(S.records.c.id == record_id)
        return self._run(lambda c: c.execute(q).first() is not None)

    def __len__(self) -> int:
        return int(self._run(lambda c: c.execute(S.count_query()).scalar()))

    def ids(self) -> list[str]:
        """Every record id, in insertion order."""
        q = select(S.records.c.id).order_by(S.records.c.record_key)
        return self._run(lambda c: c.execute(q).scalars().all())

    def subjects(self) -> list[str]:
        """Every subject identifier, sorted."""
        q = select(S.subjects.c.subject).order_by(S.subjects.c.subject)
        return self._run(lambda c: c.execute(q).scalars().all())

    def entries(self, *, subject: str | None = None, kind: str | None = None) -> list[Entry]:
        """Index fields of the stored records, by subject then date (records without a date last)."""
        q = S.entry_query(subject=subject, kind=kind)
        return [Entry(*row) for row in self._run(lambda c: c.execute(q).all())]

    def history(self, subject: str) -> list[StoredRecord]:
        """That subject's records in date order (then in insertion order; undated last).

        Each item has the index fields and the record (``.record``, parsed and checked
        on first access). Returns an empty list for an unknown subject.
        """
        q = S.entry_query(subject=subject, body=True)
        rows = self._run(lambda c: c.execute(q).all())
        return [StoredRecord(*row[1:], body=row[0]) for row in rows]

    def records(self, *, subject: str | None = None, errors: list | None = None) -> list[dict[str, Any]]:
        """The records themselves (all, or one subject's), by subject and date, each checked on reading.

        Parameters
        ----------
        subject : str, optional
            Only this subject's records.
        errors : list, optional
            Where to put the :class:`DamagedRecordError` of each record that fails its
            checks (:func:`verified_record`); those records are left out and the others
            returned. Without it, the first damaged record raises.
        """
        q = S.body_query(subject=subject)
        rows = self._run(lambda c: c.execute(q).all())
        out = []
        for rid, body in rows:
            try:
                out.append(verified_record(rid, body))
            except DamagedRecordError as exc:
                if errors is None:
                    raise
                errors.append(exc)
        return out

    def query(self, sql: str, **params: Any) -> list[tuple]:
        """Rows of a read-only SQL query with ``:name`` parameters (e.g. ``store.query("SELECT count(*) FROM comparisons")``).

        Metric values are in the JSON bodies: ``json_extract(body, '$.metrics."texture.sq".value')``
        on SQLite, ``(body::jsonb #>> '{metrics,texture.sq,value}')::float`` on PostgreSQL.
        """
        def run(conn: Connection) -> list[tuple]:
            res = conn.execute(text(sql), params)
            return [tuple(r) for r in res] if res.returns_rows else []

        return self._run(run)

    def check(self) -> list[DamagedRecordError]:
        """Check the whole store: the database's own check, then every record's id and schema.

        Returns the damaged records' errors (empty when every record passes). SQLite's
        ``integrity_check`` finds a damaged file structure; the records' own check finds
        damaged or altered content that the database cannot see (it keeps no checksums of
        the data).

        Raises
        ------
        StoreError
            When the file structure is damaged.
        """
        result = self.integrity_check()
        if result != "ok":
            raise StoreError(f"db: {self.path} is damaged (integrity_check: {result})")
        errors: list[DamagedRecordError] = []
        self.records(errors=errors)
        return errors

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok" when the file is sound); PostgreSQL: every table read through."""
        return self._run(self._backend.integrity_check)

    # -- tables ------------------------------------------------------------------------------
    def to_frame(self, *, subject: str | None = None):
        """Tidy table: one row per subject x session x metric (x baseline, for comparisons).

        Columns: ``subject, session, date, metric, family, value, unit, uncertainty, note,
        baseline_session, delta, percent, delta_uncertainty, threshold, verdict,
        rule_kind, kind, record_id``. A comparison gives its session's values with the
        change from its baseline; the baseline's values appear once, from the baseline's
        own record when there is one, else from the comparison. Pair metrics
        (``quality.exposure_shift``, ``change.lbp_chi2``) have their pair value as
        ``delta`` and no ``value``.
        """
        from texturecmp.records._export import frame_from_store

        return frame_from_store(self, subject=subject)

    def to_wide(self, *, subject: str | None = None, values: str = "value"):
        """Wide table: one row per subject x session (x baseline), one column per metric.

        ``values`` is the long column to spread (``value``, ``delta``, ``percent``,
        ``verdict``, ``uncertainty``...).
        """
        from texturecmp.records._export import wide

        return wide(self.to_frame(subject=subject), values=values)


# ----------------------------------------------------------------------------- copying

@dataclass(frozen=True)
class Copied:
    """What :func:`copy_records` did.

    Attributes
    ----------
    source : str
        The source store (as shown: no password).
    target : str
    read : int
        Records in the source (each checked on reading).
    added : int
        Records this copy added (those the target did not hold before, less any another
        writer added first).
    target_count : int
        Records in the target afterwards.
    """

    source: str
    target: str
    read: int
    added: int
    target_count: int


def copy_records(source: "str | os.PathLike | Store", target: "str | os.PathLike | Store", *,
                 batch: int = 1000) -> Copied:
    """Copy every record of one store into another (SQLite -> PostgreSQL, or back), then verify.

    The source must exist (it is only read); the target is created when missing.
    Records already in the target are stored once. Every source record is checked on
    reading first: a damaged one stops the copy before anything is written. Afterwards
    the target must hold every source id once, and the copy must have added no more
    records than the target lacked (records other writers add to a shared target
    meanwhile are not counted).

    Raises
    ------
    DamagedRecordError
        A source record fails its checks (nothing is copied).
    StoreError
        The verification failed (naming how many ids are missing), or a store cannot
        be opened.
    """
    src = source if isinstance(source, Store) else Store(source, create=False)
    dst = target if isinstance(target, Store) else Store(target)
    try:
        if src.path == dst.path and src.backend == dst.backend:
            raise StoreError(f"db: the source and the target are the same store ({src.path})")
        damaged: list[DamagedRecordError] = []
        recs = src.records(errors=damaged)
        if damaged:
            raise DamagedRecordError(f"{damaged[0]}; nothing was copied ({len(damaged)} damaged record"
                                     f"{'s' if len(damaged) != 1 else ''} in {src.path}; see records check)",
                                     damaged[0].record_id, damaged[0].problems)
        ids = src.ids()
        lacked = len(set(ids) - set(dst.ids()))
        added = 0
        for i in range(0, len(recs), batch):
            added += dst._add_counted(recs[i:i + batch])[1]
        after = dst.ids()
        missing = set(ids) - set(after)
        # Other writers may add to the target meanwhile (a shared store): only this copy's records are
        # checked, each id once; a record another writer added first was not added by this copy.
        if missing or added > lacked or len(after) != len(set(after)):
            raise StoreError(f"db: copy to {dst.path} failed its check: {len(missing)} of {len(ids)} record ids "
                             f"missing, {added} records added where the target lacked {lacked}")
        return Copied(src.path, dst.path, len(ids), added, len(after))
    finally:
        if src is not source:
            src.close()
        if dst is not target:
            dst.close()
