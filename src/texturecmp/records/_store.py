"""The embedded record store on SQLite (private; see texturecmp.records)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from texturecmp.errors import TextureCmpError
from texturecmp.records._record import BadRecordError, canonical_bytes, date_sort_key, problems

__all__ = ["Store", "StoreError", "DamagedRecordError", "Entry", "StoredRecord", "MIGRATIONS", "STORE_VERSION",
           "APPLICATION_ID", "migrate", "verified_record"]

#: ``PRAGMA application_id`` of a texturecmp store ("TXCR").
APPLICATION_ID = 0x54584352


class StoreError(TextureCmpError):
    """The record store cannot be opened or used (not a texturecmp store, newer format, damaged, unknown id...)."""


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

def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run ;-separated statements inside the current transaction (``executescript`` would commit it)."""
    for stmt in sql.split(";"):
        if stmt.strip():
            conn.execute(stmt)


def _m1_records(conn: sqlite3.Connection) -> None:
    """Version 1: subjects, sessions and records (JSON bodies with their index fields)."""
    _script(conn, """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE subjects (
            subject_key INTEGER PRIMARY KEY,
            subject TEXT NOT NULL UNIQUE
        );
        CREATE TABLE sessions (
            session_key INTEGER PRIMARY KEY,
            subject_key INTEGER NOT NULL REFERENCES subjects(subject_key),
            session TEXT NOT NULL,
            date TEXT,
            UNIQUE (subject_key, session)
        );
        CREATE TABLE records (
            record_key INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('measurement', 'comparison')),
            subject_key INTEGER NOT NULL REFERENCES subjects(subject_key),
            session_key INTEGER NOT NULL REFERENCES sessions(session_key),
            baseline_session_key INTEGER REFERENCES sessions(session_key),
            date TEXT,
            sort_key TEXT,
            photo_sha256 TEXT NOT NULL,
            texturecmp_version TEXT NOT NULL,
            record_schema_version INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX records_by_subject ON records (subject_key, sort_key);
    """)


def _m2_photo_tables(conn: sqlite3.Connection) -> None:
    """Version 2: per-photo and per-comparison index tables, filled from the stored bodies."""
    _script(conn, """
        CREATE TABLE measurements (
            record_key INTEGER NOT NULL REFERENCES records(record_key),
            role TEXT NOT NULL CHECK (role IN ('session', 'baseline')),
            session_key INTEGER NOT NULL REFERENCES sessions(session_key),
            photo_sha256 TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            PRIMARY KEY (record_key, role)
        ) WITHOUT ROWID;
        CREATE INDEX measurements_by_photo ON measurements (photo_sha256);
        CREATE TABLE comparisons (
            record_key INTEGER PRIMARY KEY REFERENCES records(record_key),
            baseline_session_key INTEGER NOT NULL REFERENCES sessions(session_key),
            session_key INTEGER NOT NULL REFERENCES sessions(session_key),
            aligned INTEGER NOT NULL,
            improved INTEGER NOT NULL,
            worsened INTEGER NOT NULL,
            changed INTEGER NOT NULL,
            quality_flags TEXT NOT NULL
        );
    """)
    rows = conn.execute("SELECT record_key, session_key, baseline_session_key, body FROM records").fetchall()
    for key, skey, bkey, body in rows:
        _insert_index(conn, key, skey, bkey, json.loads(body))


#: Migrations, in order: ``MIGRATIONS[i]`` takes a store from version i to i + 1.
#: Append a function to change the layout; never edit a released one.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_m1_records, _m2_photo_tables)
#: Layout version of a store written by this texturecmp (``PRAGMA user_version``).
STORE_VERSION = len(MIGRATIONS)


def _insert_index(conn: sqlite3.Connection, key: int, skey: int, bkey: int | None, rec: Mapping[str, Any]) -> None:
    """Rows of the index tables for one record (metric values stay in the JSON body)."""
    p = rec["photo"]
    conn.execute("INSERT INTO measurements VALUES (?, 'session', ?, ?, ?, ?)", (key, skey, p["sha256"], p["width"], p["height"]))
    if rec["kind"] == "comparison":
        b = rec["baseline"]["photo"]
        conn.execute("INSERT INTO measurements VALUES (?, 'baseline', ?, ?, ?, ?)", (key, bkey, b["sha256"], b["width"], b["height"]))
        verdicts = [c["verdict"] for c in rec["changes"].values()]
        conn.execute("INSERT INTO comparisons VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (key, bkey, skey, int(rec["alignment"]["ok"]), verdicts.count("improved"), verdicts.count("worsened"),
                      verdicts.count("changed"), ",".join(rec["quality_flags"])))


def migrate(conn: sqlite3.Connection, *, upto: int | None = None) -> int:
    """Bring an open store to version ``upto`` (default: the latest), in one write transaction.

    Returns the version reached. Raises :class:`StoreError` for a file that is not a
    texturecmp store or was written by a newer texturecmp.
    """
    target = STORE_VERSION if upto is None else upto
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        if app not in (0, APPLICATION_ID):
            raise StoreError(f"db: not a texturecmp records database (application_id {app:#x})")
        if version == 0:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if tables:
                raise StoreError(f"db: not a texturecmp records database (it already has tables: {', '.join(tables[:5])})")
        elif app != APPLICATION_ID:
            raise StoreError("db: not a texturecmp records database (no texturecmp application_id)")
        if version > STORE_VERSION:
            raise StoreError(f"db: written by a newer texturecmp (store version {version}, this one reads up to "
                             f"{STORE_VERSION}); upgrade texturecmp")
        for i in range(version, target):
            MIGRATIONS[i](conn)
        if target > version:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {int(target)}")
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('migrated_at', ?)", (_now(),))
        conn.execute("COMMIT")
        return max(version, target)
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ----------------------------------------------------------------------------- opening

_SQLITE_HEADER = b"SQLite format 3\x00"


def _identify(path: str, *, create: bool, timeout: float = 5.0) -> int | None:
    """The layout version of the texturecmp store at ``path``, or None when there is no file yet.

    Reads without changing anything: the file's header, then the pragmas and tables
    through a read-only connection (which also sees what the write-ahead log holds).

    Raises
    ------
    StoreError
        No file and ``create`` is false; a folder, an empty (0-byte) file, a file that
        is not SQLite, a damaged one, or an SQLite file of another application.
    """
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
        ro = sqlite3.connect(uri, uri=True, timeout=timeout)
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


# ----------------------------------------------------------------------------- the store

_ENTRY_SQL = """
    SELECT r.id, r.kind, su.subject, se.session, r.date, bs.session, r.texturecmp_version, r.added_at
    FROM records r
    JOIN subjects su ON su.subject_key = r.subject_key
    JOIN sessions se ON se.session_key = r.session_key
    LEFT JOIN sessions bs ON bs.session_key = r.baseline_session_key
"""
_ORDER = " ORDER BY su.subject, r.sort_key IS NULL, r.sort_key, r.record_key"


class Store:
    """Records in one SQLite file: subjects, sessions, records, measurements and comparisons.

    Parameters
    ----------
    path : str or os.PathLike
        The database file (created when missing; ``":memory:"`` for a throw-away store).
    timeout : float
        Seconds a writer waits for another writer's transaction to end before
        :class:`StoreError` (SQLite's busy timeout; default 60).
    durable : bool
        ``PRAGMA synchronous=FULL``: a committed record also survives a power cut. The
        default (NORMAL, in WAL mode) survives a crash or kill of the process, not
        necessarily of the machine.

    Notes
    -----
    * Every :meth:`add` / :meth:`add_many` is one transaction: a crash leaves either all
      of it or nothing. The file is in WAL mode: readers never block the writer.
    * Several processes may write at once: each waits for the others (busy timeout).
    * One ``Store`` may be shared by threads (calls are serialised by a lock). After a
      ``fork`` the child reopens its own connection on first use.
    * Records are identified by content (:func:`texturecmp.records.record_id`): adding
      the same record again stores nothing and returns the same id.
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 60.0, durable: bool = False, create: bool = True):
        self.path = os.fspath(path)
        self.timeout = float(timeout)
        self.durable = bool(durable)
        self.create = bool(create)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._checked = False
        self._connect()

    # -- connection --------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:" and _identify(self.path, create=self.create, timeout=self.timeout) is None:
            self._create()
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"db: cannot open {self.path} ({exc})") from None
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]  # a no-op on a texturecmp store
            if mode.lower() != "wal" and self.path != ":memory:":
                raise StoreError(f"db: cannot switch {self.path} to WAL mode (journal mode {mode})")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"db: {self.path} is damaged or not a usable SQLite database ({exc})") from None
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid, self._checked = conn, os.getpid(), False
        return conn

    def _create(self) -> None:
        """Make a new store at ``self.path`` atomically: built under a temporary name, then linked into place.

        So no other process ever sees a half-made store (a file without the texturecmp
        marks is refused), and two processes creating the same store both end up using
        the one that was linked first.
        """
        folder, name = os.path.split(os.path.abspath(self.path))
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                migrate(conn)
            finally:
                conn.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another process made it first: use that one
            except OSError:  # a file system without hard links
                if not os.path.exists(self.path):
                    os.replace(tmp, self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"db: cannot create a record store at {self.path} ({exc})") from None
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp + suffix)

    @contextlib.contextmanager
    def _reading(self):
        """Hold the lock; an SQLite error while using the store becomes a one-line :class:`StoreError`."""
        with self._lock:
            try:
                yield self.conn
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"db: {self.path} is damaged or unreadable ({exc}); restore it from a backup") from None

    def _check_before_writing(self, conn: sqlite3.Connection) -> None:
        """``PRAGMA quick_check`` once per connection before its first write: never add to a damaged file."""
        if self._checked:
            return
        result = "; ".join(line.strip() for r in conn.execute("PRAGMA quick_check(5)") for line in r[0].splitlines())
        if result != "ok":
            raise StoreError(f"db: {self.path} is damaged (SQLite quick_check: {result}); nothing was written. "
                             "Restore it from a backup or give another store")
        self._checked = True

    @property
    def conn(self) -> sqlite3.Connection:
        """The SQLite connection of this process (reopened after a fork)."""
        if self._conn is None or self._pid != os.getpid():
            self._connect()
        return self._conn  # type: ignore[return-value]

    def close(self) -> None:
        """Close the connection (the store reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    @property
    def version(self) -> int:
        """Layout version of the file (``PRAGMA user_version``)."""
        with self._reading() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

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
        prepared = []
        for i, rec in enumerate(records):
            found = problems(rec)
            if found:
                raise BadRecordError(f"record {i}: invalid texturecmp record ({len(found)} problem"
                                     f"{'s' if len(found) > 1 else ''}): " + "; ".join(found), found)
            blob = canonical_bytes(rec, checked=True)  # serialised once: the id hashes the body's bytes
            prepared.append((hashlib.sha256(blob).hexdigest(), blob, rec))
        if not prepared:
            return []
        added_at = _now()
        with self._reading() as conn:
            self._check_before_writing(conn)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"db: could not start writing to {self.path} ({exc}); another process holds it") from None
            try:
                subjects: dict[str, int] = {}
                sessions: dict[tuple[int, str], int] = {}
                for rid, blob, rec in prepared:
                    if conn.execute("SELECT 1 FROM records WHERE id = ?", (rid,)).fetchone():
                        continue
                    skey = self._subject_key(conn, subjects, rec["subject"])
                    sess = self._session_key(conn, sessions, skey, rec["session"], rec["date"])
                    base = None
                    if rec["kind"] == "comparison":
                        base = self._session_key(conn, sessions, skey, rec["baseline"]["session"], rec["baseline"]["date"])
                    cur = conn.execute(
                        "INSERT INTO records (id, kind, subject_key, session_key, baseline_session_key, date, sort_key, "
                        "photo_sha256, texturecmp_version, record_schema_version, added_at, body) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT))",  # UTF-8 bytes stored as text
                        (rid, rec["kind"], skey, sess, base, rec["date"], date_sort_key(rec["date"]), rec["photo"]["sha256"],
                         rec["texturecmp_version"], rec["schema_version"], added_at, blob))
                    _insert_index(conn, cur.lastrowid, sess, base, rec)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return [p[0] for p in prepared]

    @staticmethod
    def _subject_key(conn: sqlite3.Connection, cache: dict, subject: str) -> int:
        if subject not in cache:
            row = conn.execute("SELECT subject_key FROM subjects WHERE subject = ?", (subject,)).fetchone()
            cache[subject] = row[0] if row else conn.execute("INSERT INTO subjects (subject) VALUES (?)", (subject,)).lastrowid
        return cache[subject]

    @staticmethod
    def _session_key(conn: sqlite3.Connection, cache: dict, skey: int, session: str, date: str | None) -> int:
        k = (skey, session)
        if k not in cache:
            row = conn.execute("SELECT session_key, date FROM sessions WHERE subject_key = ? AND session = ?", k).fetchone()
            if row is None:
                cache[k] = conn.execute("INSERT INTO sessions (subject_key, session, date) VALUES (?, ?, ?)",
                                        (skey, session, date)).lastrowid
                return cache[k]
            cache[k] = row[0]
            if row[1] is None and date is not None:
                conn.execute("UPDATE sessions SET date = ? WHERE session_key = ?", (date, row[0]))
        return cache[k]

    # -- reading -----------------------------------------------------------------------------
    def _resolve(self, conn: sqlite3.Connection, record_id: str) -> str:
        if not isinstance(record_id, str) or not record_id:
            raise StoreError(f"id: expected a record id (hex), got {record_id!r}")
        rid = record_id.strip().lower()
        if len(rid) == 64:
            return rid
        if len(rid) < 6:
            raise StoreError(f"id: give at least 6 characters of the record id, got {record_id!r}")
        rows = conn.execute("SELECT id FROM records WHERE id >= ? AND id < ? LIMIT 2", (rid, rid + "g")).fetchall()
        if len(rows) > 1:
            raise StoreError(f"id: {record_id!r} matches several records; give more characters")
        if not rows:
            raise StoreError(f"id: no record {record_id!r} in {self.path}")
        return rows[0][0]

    def get(self, record_id: str) -> dict[str, Any]:
        """The record with this id (or unique id prefix of at least 6 characters).

        Raises
        ------
        StoreError
            No such record, or an ambiguous prefix.
        """
        with self._reading() as conn:
            rid = self._resolve(conn, record_id)
            row = conn.execute("SELECT body FROM records WHERE id = ?", (rid,)).fetchone()
        if row is None:
            raise StoreError(f"id: no record {record_id!r} in {self.path}")
        return verified_record(rid, row[0])

    def __contains__(self, record_id: object) -> bool:
        with self._reading() as conn:
            return conn.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone() is not None

    def __len__(self) -> int:
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])

    def ids(self) -> list[str]:
        """Every record id, in insertion order."""
        with self._reading() as conn:
            return [r[0] for r in conn.execute("SELECT id FROM records ORDER BY record_key")]

    def subjects(self) -> list[str]:
        """Every subject identifier, sorted."""
        with self._reading() as conn:
            return [r[0] for r in conn.execute("SELECT subject FROM subjects ORDER BY subject")]

    def entries(self, *, subject: str | None = None, kind: str | None = None) -> list[Entry]:
        """Index fields of the stored records, by subject then date (records without a date last)."""
        sql, args = _ENTRY_SQL, []
        where = []
        if subject is not None:
            where.append("su.subject = ?")
            args.append(subject)
        if kind is not None:
            where.append("r.kind = ?")
            args.append(kind)
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._reading() as conn:
            return [Entry(*row) for row in conn.execute(sql + _ORDER, args)]

    def history(self, subject: str) -> list[StoredRecord]:
        """That subject's records in date order (then in insertion order; undated last).

        Each item has the index fields and the record (``.record``, parsed on first
        access). Returns an empty list for an unknown subject.
        """
        with self._reading() as conn:
            rows = conn.execute(_ENTRY_SQL.replace("SELECT ", "SELECT r.body, ", 1) + " WHERE su.subject = ?" + _ORDER,
                                     (subject,)).fetchall()
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
        sql = "SELECT r.id, r.body FROM records r JOIN subjects su ON su.subject_key = r.subject_key"
        args: Sequence[Any] = ()
        if subject is not None:
            sql += " WHERE su.subject = ?"
            args = (subject,)
        with self._reading() as conn:
            rows = conn.execute(sql + _ORDER, args).fetchall()
        out = []
        for rid, body in rows:
            try:
                out.append(verified_record(rid, body))
            except DamagedRecordError as exc:
                if errors is None:
                    raise
                errors.append(exc)
        return out

    def check(self) -> list[DamagedRecordError]:
        """Check the whole store: SQLite's ``PRAGMA integrity_check``, then every record's id and schema.

        Returns the damaged records' errors (empty when every record passes). SQLite's
        check finds a damaged file structure; the records' own check finds damaged or
        altered content that SQLite cannot see (it keeps no checksums of the data).

        Raises
        ------
        StoreError
            When the file structure is damaged.
        """
        result = self.integrity_check()
        if result != "ok":
            raise StoreError(f"db: {self.path} is damaged (SQLite integrity_check: {result})")
        errors: list[DamagedRecordError] = []
        self.records(errors=errors)
        return errors

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok" when the file is sound)."""
        with self._reading() as conn:
            return "; ".join(line.strip() for r in conn.execute("PRAGMA integrity_check") for line in r[0].splitlines())

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
