"""The record store's tables, migrations and queries: all of its SQL, for SQLite and PostgreSQL (private).

Written with SQLAlchemy Core, so one statement serves both back ends; what differs
between them (opening, marking a database as a store, locking for writes) is in
``_backend.py``.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import (CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, Table, Text, UniqueConstraint,
                        bindparam, func, insert, select, update)
from sqlalchemy.engine import Connection

__all__ = ["METADATA", "meta", "subjects", "sessions", "records", "measurements", "comparisons", "MIGRATIONS",
           "STORE_VERSION", "TABLES", "entry_query", "body_query", "id_prefix_query", "count_query", "index_rows",
           "insert_records", "set_meta"]

#: Text compared byte by byte on both back ends (PostgreSQL's default collation follows
#: the server's locale and would order subjects, dates and ids differently from SQLite).
_Key = Text().with_variant(Text(collation="C"), "postgresql")

METADATA = MetaData()

meta = Table(
    "meta", METADATA,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
subjects = Table(
    "subjects", METADATA,
    Column("subject_key", Integer, primary_key=True),
    Column("subject", _Key, nullable=False, unique=True),
)
sessions = Table(
    "sessions", METADATA,
    Column("session_key", Integer, primary_key=True),
    Column("subject_key", Integer, ForeignKey("subjects.subject_key"), nullable=False),
    Column("session", _Key, nullable=False),
    Column("date", Text),
    UniqueConstraint("subject_key", "session"),
)
records = Table(
    "records", METADATA,
    Column("record_key", Integer, primary_key=True),
    Column("id", _Key, nullable=False, unique=True),
    Column("kind", Text, CheckConstraint("kind IN ('measurement', 'comparison')"), nullable=False),
    Column("subject_key", Integer, ForeignKey("subjects.subject_key"), nullable=False),
    Column("session_key", Integer, ForeignKey("sessions.session_key"), nullable=False),
    Column("baseline_session_key", Integer, ForeignKey("sessions.session_key")),
    Column("date", Text),
    Column("sort_key", _Key),
    Column("photo_sha256", Text, nullable=False),
    Column("texturecmp_version", Text, nullable=False),
    Column("record_schema_version", Integer, nullable=False),
    Column("added_at", Text, nullable=False),
    Column("body", Text, nullable=False),  # the canonical JSON, byte for byte (its SHA-256 is the id)
)
_records_by_subject = Index("records_by_subject", records.c.subject_key, records.c.sort_key)
measurements = Table(
    "measurements", METADATA,
    Column("record_key", Integer, ForeignKey("records.record_key"), primary_key=True, autoincrement=False),
    Column("role", Text, CheckConstraint("role IN ('session', 'baseline')"), primary_key=True),
    Column("session_key", Integer, ForeignKey("sessions.session_key"), nullable=False),
    Column("photo_sha256", Text, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    sqlite_with_rowid=False,
)
_measurements_by_photo = Index("measurements_by_photo", measurements.c.photo_sha256)
comparisons = Table(
    "comparisons", METADATA,
    Column("record_key", Integer, ForeignKey("records.record_key"), primary_key=True, autoincrement=False),
    Column("baseline_session_key", Integer, ForeignKey("sessions.session_key"), nullable=False),
    Column("session_key", Integer, ForeignKey("sessions.session_key"), nullable=False),
    Column("aligned", Integer, nullable=False),
    Column("improved", Integer, nullable=False),
    Column("worsened", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("quality_flags", Text, nullable=False),
)
#: The store's tables, in the order they are created.
TABLES = ("meta", "subjects", "sessions", "records", "measurements", "comparisons")


# ----------------------------------------------------------------------------- migrations

def _m1_records(conn: Connection) -> None:
    """Version 1: subjects, sessions and records (JSON bodies with their index fields)."""
    meta.create(conn, checkfirst=True)
    for t in (subjects, sessions, records):
        t.create(conn)  # with its indexes


def _m2_photo_tables(conn: Connection) -> None:
    """Version 2: per-photo and per-comparison index tables, filled from the stored bodies."""
    measurements.create(conn)
    comparisons.create(conn)
    rows = conn.execute(select(records.c.record_key, records.c.session_key, records.c.baseline_session_key,
                               records.c.body)).all()
    _insert_index(conn, [index_rows(key, skey, bkey, json.loads(body)) for key, skey, bkey, body in rows])


#: Migrations, in order: ``MIGRATIONS[i]`` takes a store from version i to i + 1 (on
#: either back end, inside the write transaction that marks the new version). Append a
#: function to change the layout (with explicit DDL for what it changes); never edit a
#: released one.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_m1_records, _m2_photo_tables)
#: Layout version of a store written by this texturecmp.
STORE_VERSION = len(MIGRATIONS)


# ----------------------------------------------------------------------------- writing

def set_meta(conn: Connection, key: str, value: str) -> None:
    """Insert or replace one ``meta`` row."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(meta).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": value}))


def index_rows(key: int, skey: int, bkey: int | None, rec: Mapping[str, Any]) -> tuple[list[dict], dict | None]:
    """Rows of the index tables for one record (metric values stay in the JSON body)."""
    p = rec["photo"]
    photos = [dict(record_key=key, role="session", session_key=skey, photo_sha256=p["sha256"], width=p["width"],
                   height=p["height"])]
    cmp = None
    if rec["kind"] == "comparison":
        b = rec["baseline"]["photo"]
        photos.append(dict(record_key=key, role="baseline", session_key=bkey, photo_sha256=b["sha256"],
                           width=b["width"], height=b["height"]))
        verdicts = [c["verdict"] for c in rec["changes"].values()]
        cmp = dict(record_key=key, baseline_session_key=bkey, session_key=skey, aligned=int(rec["alignment"]["ok"]),
                   improved=verdicts.count("improved"), worsened=verdicts.count("worsened"),
                   changed=verdicts.count("changed"), quality_flags=",".join(rec["quality_flags"]))
    return photos, cmp


# Statements built once (SQLAlchemy caches their compiled form; ``in_`` lists expand at run time).
_STORED_IDS = select(records.c.id).where(records.c.id.in_(bindparam("ids", expanding=True)))
_SUBJECTS_NAMED = (select(subjects.c.subject, subjects.c.subject_key)
                   .where(subjects.c.subject.in_(bindparam("names", expanding=True))))
_NEW_SUBJECTS = insert(subjects).returning(subjects.c.subject, subjects.c.subject_key, sort_by_parameter_order=True)
_SESSIONS_OF = (select(sessions.c.subject_key, sessions.c.session, sessions.c.session_key, sessions.c.date)
                .where(sessions.c.subject_key.in_(bindparam("keys", expanding=True))))
_DATE_SESSION = update(sessions).where(sessions.c.session_key == bindparam("k")).values(date=bindparam("d"))
_NEW_SESSIONS = insert(sessions).returning(sessions.c.session_key, sort_by_parameter_order=True)
_NEW_RECORDS = insert(records).returning(records.c.record_key, sort_by_parameter_order=True)
_NEW_MEASUREMENTS = insert(measurements)
_NEW_COMPARISONS = insert(comparisons)


def _insert_index(conn: Connection, rows: Sequence[tuple[list[dict], dict | None]]) -> None:
    photos = [p for ph, _ in rows for p in ph]
    cmps = [c for _, c in rows if c is not None]
    if photos:
        conn.execute(_NEW_MEASUREMENTS, photos)
    if cmps:
        conn.execute(_NEW_COMPARISONS, cmps)


def _chunks(items: Sequence[Any], n: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _subject_keys(conn: Connection, names: set[str]) -> dict[str, int]:
    keys: dict[str, int] = {}
    for chunk in _chunks(sorted(names)):
        keys.update(conn.execute(_SUBJECTS_NAMED, {"names": list(chunk)}).all())
    missing = sorted(names - keys.keys())
    if missing:
        keys.update(conn.execute(_NEW_SUBJECTS, [{"subject": s} for s in missing]).all())
    return keys


def _session_keys(conn: Connection, wanted: Mapping[tuple[int, str], str | None]) -> dict[tuple[int, str], int]:
    """Keys of (subject key, session) pairs, adding the missing ones with their first known date."""
    keys: dict[tuple[int, str], int] = {}
    dated: list[dict] = []
    for chunk in _chunks(sorted({k for k, _ in wanted})):
        for skey, name, key, date in conn.execute(_SESSIONS_OF, {"keys": list(chunk)}):
            if (skey, name) in wanted:
                keys[(skey, name)] = key
                if date is None and wanted[(skey, name)] is not None:
                    dated.append({"k": key, "d": wanted[(skey, name)]})
    if dated:
        conn.execute(_DATE_SESSION, dated)
    missing = sorted(set(wanted) - keys.keys())
    if missing:
        got = conn.execute(_NEW_SESSIONS, [{"subject_key": s, "session": n, "date": wanted[(s, n)]}
                                           for s, n in missing]).scalars()
        keys.update(zip(missing, got))
    return keys


def insert_records(conn: Connection, prepared: Sequence[tuple[str, bytes, Mapping[str, Any]]], *, added_at: str,
                   sort_key: Callable[[str | None], str | None]) -> int:
    """Insert the records not stored yet (``(id, canonical bytes, record)``), inside the caller's write transaction.

    A few statements per call whatever the number of records (each an ``executemany``).
    Returns how many were inserted.
    """
    todo = {rid: (blob, rec) for rid, blob, rec in prepared}
    for chunk in _chunks(list(todo)):
        for (rid,) in conn.execute(_STORED_IDS, {"ids": list(chunk)}):
            todo.pop(rid, None)
    if not todo:
        return 0
    skeys = _subject_keys(conn, {rec["subject"] for _, rec in todo.values()})
    wanted: dict[tuple[int, str], str | None] = {}

    def want(skey: int, session: str, date: str | None) -> None:
        if wanted.get((skey, session)) is None:
            wanted[(skey, session)] = date

    for _, rec in todo.values():
        skey = skeys[rec["subject"]]
        want(skey, rec["session"], rec["date"])
        if rec["kind"] == "comparison":
            want(skey, rec["baseline"]["session"], rec["baseline"]["date"])
    sess = _session_keys(conn, wanted)
    rows, links = [], []
    for rid, (blob, rec) in todo.items():
        skey = skeys[rec["subject"]]
        s = sess[(skey, rec["session"])]
        b = sess[(skey, rec["baseline"]["session"])] if rec["kind"] == "comparison" else None
        rows.append(dict(id=rid, kind=rec["kind"], subject_key=skey, session_key=s, baseline_session_key=b,
                         date=rec["date"], sort_key=sort_key(rec["date"]), photo_sha256=rec["photo"]["sha256"],
                         texturecmp_version=rec["texturecmp_version"], record_schema_version=rec["schema_version"],
                         added_at=added_at, body=blob.decode("utf-8")))
        links.append((s, b, rec))
    keys = conn.execute(_NEW_RECORDS, rows).scalars()
    _insert_index(conn, [index_rows(k, s, b, rec) for k, (s, b, rec) in zip(keys, links)])
    return len(rows)


# ----------------------------------------------------------------------------- reading

_se = sessions.alias("se")
_bs = sessions.alias("bs")
_FROM = (records.join(subjects, subjects.c.subject_key == records.c.subject_key)
         .join(_se, _se.c.session_key == records.c.session_key)
         .outerjoin(_bs, _bs.c.session_key == records.c.baseline_session_key))
_ORDER = (subjects.c.subject, records.c.sort_key.is_(None), records.c.sort_key, records.c.record_key)
_ENTRY_COLUMNS = (records.c.id, records.c.kind, subjects.c.subject, _se.c.session, records.c.date, _bs.c.session,
                  records.c.texturecmp_version, records.c.added_at)


def entry_query(*, subject: str | None = None, kind: str | None = None, body: bool = False):
    """The index fields (and the body, first, when ``body``) of records, by subject then date, undated last."""
    cols = ((records.c.body,) if body else ()) + _ENTRY_COLUMNS
    q = select(*cols).select_from(_FROM)
    if subject is not None:
        q = q.where(subjects.c.subject == subject)
    if kind is not None:
        q = q.where(records.c.kind == kind)
    return q.order_by(*_ORDER)


def body_query(*, subject: str | None = None):
    """``(id, body)`` of records, in :func:`entry_query`'s order."""
    q = select(records.c.id, records.c.body).select_from(records.join(subjects, subjects.c.subject_key == records.c.subject_key))
    if subject is not None:
        q = q.where(subjects.c.subject == subject)
    return q.order_by(*_ORDER)


def id_prefix_query(prefix: str):
    """At most two ids starting with ``prefix`` (lowercase hex)."""
    return select(records.c.id).where(records.c.id >= prefix, records.c.id < prefix + "g").limit(2)


def count_query():
    return select(func.count()).select_from(records)
