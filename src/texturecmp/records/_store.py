"""The embedded record store on SQLite (private; see texturecmp.records)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, Sequence

from texturecmp.errors import TextureCmpError
from texturecmp.records._record import BadRecordError, canonical_bytes, date_sort_key, problems

__all__ = ["Store", "StoreError", "Entry", "StoredRecord", "MIGRATIONS", "STORE_VERSION", "APPLICATION_ID", "migrate"]

#: ``PRAGMA application_id`` of a texturecmp store ("TXCR").
APPLICATION_ID = 0x54584352


class StoreError(TextureCmpError):
    """The record store cannot be opened or used (not a texturecmp store, newer format, unknown id...)."""


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
        """The record (parsed once from ``body``)."""
        return json.loads(self.body)


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

    def __init__(self, path: str | os.PathLike, *, timeout: float = 60.0, durable: bool = False):
        self.path = os.fspath(path)
        self.timeout = float(timeout)
        self.durable = bool(durable)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._connect()

    # -- connection --------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"db: cannot open {self.path} ({exc})") from None
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal" and self.path != ":memory:":
                raise StoreError(f"db: cannot switch {self.path} to WAL mode (journal mode {mode})")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"db: {self.path} is not a usable SQLite database ({exc})") from None
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

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
        with self._lock:
            return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

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
        with self._lock:
            conn = self.conn
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
        with self._lock:
            conn = self.conn
            rid = self._resolve(conn, record_id)
            row = conn.execute("SELECT body FROM records WHERE id = ?", (rid,)).fetchone()
        if row is None:
            raise StoreError(f"id: no record {record_id!r} in {self.path}")
        return json.loads(row[0])

    def __contains__(self, record_id: object) -> bool:
        with self._lock:
            return self.conn.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            return int(self.conn.execute("SELECT count(*) FROM records").fetchone()[0])

    def ids(self) -> list[str]:
        """Every record id, in insertion order."""
        with self._lock:
            return [r[0] for r in self.conn.execute("SELECT id FROM records ORDER BY record_key")]

    def subjects(self) -> list[str]:
        """Every subject identifier, sorted."""
        with self._lock:
            return [r[0] for r in self.conn.execute("SELECT subject FROM subjects ORDER BY subject")]

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
        with self._lock:
            return [Entry(*row) for row in self.conn.execute(sql + _ORDER, args)]

    def history(self, subject: str) -> list[StoredRecord]:
        """That subject's records in date order (then in insertion order; undated last).

        Each item has the index fields and the record (``.record``, parsed on first
        access). Returns an empty list for an unknown subject.
        """
        with self._lock:
            rows = self.conn.execute(_ENTRY_SQL.replace("SELECT ", "SELECT r.body, ", 1) + " WHERE su.subject = ?" + _ORDER,
                                     (subject,)).fetchall()
        return [StoredRecord(*row[1:], body=row[0]) for row in rows]

    def records(self, *, subject: str | None = None) -> list[dict[str, Any]]:
        """The records themselves (all, or one subject's), by subject and date."""
        with self._lock:
            sql = "SELECT r.body FROM records r JOIN subjects su ON su.subject_key = r.subject_key"
            args: Sequence[Any] = ()
            if subject is not None:
                sql += " WHERE su.subject = ?"
                args = (subject,)
            return [json.loads(r[0]) for r in self.conn.execute(sql + _ORDER, args)]

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok" when the file is sound)."""
        with self._lock:
            return "; ".join(r[0] for r in self.conn.execute("PRAGMA integrity_check"))

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
