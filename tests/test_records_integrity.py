"""Record store integrity: records re-checked on reading, damaged and foreign files refused without a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3

import pytest

from texturecmp import records as R

from pg_fixture import pg_cluster  # noqa: F401  (the session's PostgreSQL server)
from test_records import _cli, _variant, new_store, rec, results  # noqa: F401  (fixtures)


def _store_with(tmp_path, rec, n=3, db=None):
    db = tmp_path / "s.db" if db is None else db
    recs = [_variant(rec, i, subject="P-001", session=f"v{i}", date=f"2024-0{i + 1}-01") for i in range(n)]
    with R.Store(db) as store:
        ids = store.add_many(recs)
    return db, recs, ids


def _zero_a_tree_page(db) -> None:
    """Zero the root pages of the store's b-trees (tables and indexes): structural damage that
    SQLite's own checks see. (Where the last page falls depends on the records' sizes: it may
    be a body's overflow page, which only the id check on reading finds.)"""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page = con.execute("PRAGMA page_size").fetchone()[0]
        roots = [r for (r,) in con.execute("SELECT rootpage FROM sqlite_master WHERE rootpage > 1")]
    finally:
        con.close()
    with open(db, "r+b") as f:
        for root in roots:
            f.seek((root - 1) * page)
            f.write(b"\0" * page)


def _edit_body(db, rid, edit):
    """Change a stored body behind the store's back (as a tool or a damaged disk would)."""
    from sqlalchemy import create_engine, text

    db = str(db)
    engine = create_engine(db.replace("postgresql://", "postgresql+psycopg://") if "://" in db else f"sqlite:///{db}")
    with engine.begin() as conn:
        body = json.loads(conn.execute(text("SELECT body FROM records WHERE id = :i"), {"i": rid}).scalar())
        edit(body)
        conn.execute(text("UPDATE records SET body = :b WHERE id = :i"), {"b": json.dumps(body, sort_keys=True), "i": rid})
    engine.dispose()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("edit, what", [
    (lambda b: b.update(patient_name="Jane Doe"), "patient_name"),
    (lambda b: b.pop("metrics"), "metrics"),
])
def test_tampered_record_is_named_and_the_others_export(tmp_path, new_store, rec, edit, what):
    db, recs, ids = _store_with(tmp_path, rec, db=new_store())
    _edit_body(db, ids[1], edit)
    with R.Store(db) as store:
        with pytest.raises(R.DamagedRecordError, match=rf"record {ids[1][:12]} .*no longer hashes to its id.*{what}"):
            store.get(ids[1])
        with pytest.raises(R.DamagedRecordError):
            store.records()
        errors = []
        assert store.records(errors=errors) == [recs[0], recs[2]]
        assert [e.record_id for e in errors] == [ids[1]]
        hist = store.history("P-001")
        assert hist[0].record == recs[0]
        with pytest.raises(R.DamagedRecordError, match=ids[1][:12]):
            hist[1].record
        assert [e.record_id for e in store.check()] == [ids[1]]
    for fmt in ("csv", "json", "fhir"):
        code, out, err = _cli(["records", "export", "--db", str(db), "--format", fmt])
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and ids[1][:12] in lines[0] and "not exported" in lines[0] and "Traceback" not in err
        if fmt == "json":
            assert R.read_records(json.loads(out)) == [recs[0], recs[2]]
        else:  # the others are there (csv and fhir name each record's id)
            assert ids[0] in out and ids[2] in out and ids[1] not in out
        assert "Jane Doe" not in out
    code, _, err = _cli(["records", "check", "--db", str(db)])
    assert code == 2 and ids[1][:12] in err and "2 of 3" in err


def test_zeroed_last_page_gives_one_line_errors_and_add_refuses(tmp_path, rec):
    db, recs, ids = _store_with(tmp_path, rec, n=5)
    _zero_a_tree_page(db)
    before = _digest(db)
    for argv in (["records", "list", "--db", str(db)], ["records", "export", "--db", str(db), "--format", "csv"]):
        code, _, err = _cli(argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "damaged" in err, (argv, err)
    new = tmp_path / "new.json"
    new.write_text(R.dumps(_variant(rec, 9)))
    code, out, err = _cli(["records", "add", str(new), "--db", str(db)])
    assert code == 2 and "damaged" in err and len(err.strip().splitlines()) == 1
    assert _digest(db) == before and not out  # nothing was written


def test_damaged_body_the_file_structure_hides_is_found_on_reading(tmp_path, rec):
    """Zeroed bytes inside a body (SQLite keeps no checksums: its own checks pass) fail the id check."""
    db, recs, ids = _store_with(tmp_path, rec, n=1)
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.seek(size - 4096)
        f.write(b"\0" * 4096)
    with R.Store(db) as store:
        assert store.integrity_check() == "ok"
        with pytest.raises(R.DamagedRecordError, match=ids[0][:12]):
            store.get(ids[0])
        assert [e.record_id for e in store.check()] == ids


def _foreign(path, journal="delete"):
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("CREATE TABLE patients (name TEXT, dob TEXT)")
    conn.execute("INSERT INTO patients VALUES ('Jane Doe', '1970-01-01')")
    conn.commit()
    conn.close()


def test_foreign_sqlite_file_is_left_unchanged(tmp_path, rec):
    other = tmp_path / "other.db"
    _foreign(other)
    before = _digest(other)
    with pytest.raises(R.StoreError, match="not a texturecmp records database.*patients.*left unchanged"):
        R.Store(other)
    f = tmp_path / "r.json"
    f.write_text(R.dumps(rec))
    for argv in (["records", "list", "--db", str(other)], ["records", "add", str(f), "--db", str(other)]):
        code, _, err = _cli(argv)
        assert code == 2 and "not a texturecmp records database" in err and len(err.strip().splitlines()) == 1
    assert _digest(other) == before
    assert sorted(os.listdir(tmp_path)) == ["other.db", "r.json"]  # no -wal / -shm left beside it
    conn = sqlite3.connect(other)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_sqlite_file_without_tables_is_not_made_a_store(tmp_path):
    empty = tmp_path / "empty.db"
    conn = sqlite3.connect(empty)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("DROP TABLE t")
    conn.commit()
    conn.close()
    before = _digest(empty)
    with pytest.raises(R.StoreError, match="not a texturecmp records database.*without tables"):
        R.Store(empty)
    assert _digest(empty) == before


def test_empty_file_and_missing_store(tmp_path, rec):
    zero = tmp_path / "zero.db"
    zero.touch()
    with pytest.raises(R.StoreError, match="empty file"):
        R.Store(zero)
    for argv in (["records", "list", "--db", str(zero)], ["records", "export", "--db", str(zero), "--format", "csv"]):
        code, _, err = _cli(argv)
        assert code == 2 and "empty file" in err
    assert zero.stat().st_size == 0
    missing = tmp_path / "missing.db"
    for argv in (["records", "list", "--db", str(missing)], ["records", "export", "--db", str(missing), "--format", "json"],
                 ["records", "show", "abcdef", "--db", str(missing)], ["records", "check", "--db", str(missing)]):
        code, _, err = _cli(argv)
        assert code == 2 and f"no record store at {missing}" in err, (argv, err)
    with pytest.raises(R.StoreError, match="no record store at"):
        R.Store(missing, create=False)
    assert sorted(os.listdir(tmp_path)) == ["zero.db"]
    f = tmp_path / "r.json"
    f.write_text(R.dumps(rec))
    code, out, _ = _cli(["records", "add", str(f), "--db", str(missing)])  # add creates it
    assert code == 0 and out.strip() == R.record_id(rec)
    assert sorted(os.listdir(tmp_path)) == ["missing.db", "r.json", "zero.db"]  # no temporary file left
    with R.Store(missing, create=False) as store:
        assert len(store) == 1


def test_processes_creating_the_same_store_at_once(tmp_path, rec):
    """The store is made under a temporary name and linked into place: no process sees it half-made."""
    from concurrent.futures import ProcessPoolExecutor

    db = tmp_path / "race.db"
    with ProcessPoolExecutor(2) as pool:
        ids = list(pool.map(_add_one, [str(db)] * 6, [_variant(rec, i) for i in range(6)]))
    with R.Store(db) as store:
        assert sorted(store.ids()) == sorted(ids) and store.integrity_check() == "ok"
    assert sorted(os.listdir(tmp_path)) == ["race.db"]


def _add_one(db, record):
    with R.Store(db) as store:
        return store.add(record)


def test_damage_after_this_process_wrote_is_still_found(tmp_path, rec):
    """quick_check runs once per state of the file: a change made by anything else is checked again."""
    db, recs, ids = _store_with(tmp_path, rec, n=5)
    with R.Store(db) as store:
        store.add(_variant(rec, 7))  # checked and written by this process
    _zero_a_tree_page(db)
    before = _digest(db)
    with pytest.raises(R.StoreError, match="damaged"):
        with R.Store(db) as store:
            store.add(_variant(rec, 8))
    assert _digest(db) == before
