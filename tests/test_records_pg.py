"""The record store on a real PostgreSQL server: credentials, foreign databases, a server restart, migration, Dask.

The store suite of test_records.py runs on both back ends (its ``new_store`` fixture);
this file holds what only a server has.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from texturecmp import records as R
from texturecmp.phantoms import save_image, save_mask, skin_phantom

from pg_fixture import CLINIC_PASSWORD, pg_cluster  # noqa: F401  (the session's PostgreSQL server)
from test_records import _cli, _variant, new_store, rec, results  # noqa: F401  (fixtures)


def _with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


def test_url_opens_postgresql_and_the_password_is_never_shown(pg_cluster, rec, monkeypatch, tmp_path):
    url = pg_cluster.new_database(owner="clinic")  # scram-sha-256 for this role
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    with pytest.raises(R.StoreError, match="cannot open") as err:
        R.Store(url)
    assert len(str(err.value).splitlines()) == 1
    monkeypatch.setenv("PGPASSWORD", CLINIC_PASSWORD)  # libpq's own ways: PGPASSWORD...
    with R.Store(url) as store:
        assert store.backend == "postgresql" and store.path == url
        rid = store.add(rec)
    pgpass = tmp_path / "pgpass"  # ... or a password file
    pgpass.write_text(f"{pg_cluster.host}:{pg_cluster.port}:*:clinic:{CLINIC_PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    with R.Store(url + "?sslmode=disable&application_name=room2") as store:  # libpq parameters pass through
        assert store.get(rid) == rec and CLINIC_PASSWORD not in store.path
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    secret = _with_password(url, CLINIC_PASSWORD)
    with pytest.raises(R.StoreError, match="credentials never go in code") as err:  # a password written in code
        R.Store(secret)
    assert CLINIC_PASSWORD not in str(err.value)
    monkeypatch.setenv(R.DB_ENV, secret)  # the URL with its password from the environment works, and is not shown
    with R.Store(os.environ[R.DB_ENV]) as store:
        assert store.path == url and CLINIC_PASSWORD not in repr(store) and len(store) == 1
        assert CLINIC_PASSWORD not in json.dumps(store.records())
    # the CLI refuses it on the command line (process list, shell history) and takes it from TEXTURECMP_DB
    code, out, err = _cli(["records", "list", "--db", secret])
    assert code == 2 and "PGPASSWORD" in err and R.DB_ENV in err and CLINIC_PASSWORD not in err + out
    code, out, err = _cli(["records", "list"])
    assert code == 0 and rid[:12] in out and CLINIC_PASSWORD not in out + err
    monkeypatch.setenv(R.DB_ENV, url + "?sslmode=require")  # the throwaway server has no TLS: a clear refusal
    code, out, err = _cli(["records", "list"])
    assert code == 2 and "SSL" in err and len(err.strip().splitlines()) == 1


def test_foreign_or_empty_database_is_left_unchanged(pg_cluster, rec, tmp_path):
    url = pg_cluster.new_database()
    name = url.rsplit("/", 1)[1]
    pg_cluster.sql("CREATE TABLE patients (name text, dob date)", name)
    pg_cluster.sql("INSERT INTO patients VALUES ('Jane Doe', '1970-01-01')", name)
    with pytest.raises(R.StoreError, match="not a texturecmp records database.*patients.*left unchanged"):
        R.Store(url)
    tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    assert pg_cluster.sql(tables, name) == [("patients",)]
    empty = pg_cluster.new_database()
    for argv in (["records", "list", "--db", empty], ["records", "export", "--db", empty, "--format", "csv"]):
        code, _, err = _cli(argv)
        assert code == 2 and "no record store at" in err
    assert pg_cluster.sql(tables, empty.rsplit("/", 1)[1]) == []


def test_server_restart_between_two_adds(pg_cluster, rec):
    """A dropped connection is reopened and the add run again; with the server down, a clear error; then a safe retry."""
    url = pg_cluster.new_database()
    with R.Store(url) as store:
        first = store.add(_variant(rec, 1))
        pg_cluster.restart()
        second = store.add(_variant(rec, 2))  # the old connection is dead: reopened, the add done once
        assert store.ids() == [first, second]
        pg_cluster.stop()
        try:
            with pytest.raises(R.StoreError) as err:
                store.add(_variant(rec, 3))
            msg = str(err.value)
            assert len(msg.splitlines()) == 1 and store.path in msg and "Traceback" not in msg
            with pytest.raises(R.StoreError):
                store.history("S01")
        finally:
            pg_cluster.start()
        third = store.add(_variant(rec, 3))  # the retry after the server is back
        assert store.add(_variant(rec, 3)) == third  # and again: stored once
        assert store.ids() == [first, second, third] and len(store) == 3


def test_migrate_sqlite_to_postgresql_and_back_with_identical_exports(pg_cluster, rec, results, tmp_path):
    src = tmp_path / "room1.db"
    m0 = R.measurement_record(results["c1"].before, subject="P-001", session="week0", date="2024-02-02")
    recs = [rec, m0] + [_variant(rec, i, subject=f"P-{i % 3:03d}", session=f"v{i}",
                                 date=None if i % 4 == 0 else f"2024-0{1 + i % 9}-1{i % 10}") for i in range(2, 14)]
    with R.Store(src) as store:
        store.add_many(recs)
    pg = pg_cluster.new_database()
    back = tmp_path / "back.db"
    code, _, err = _cli(["records", "migrate", str(src), pg])
    assert code == 0 and f"{len(recs)} record(s) read" in err and f"{len(recs)} added" in err, err
    code, _, err = _cli(["records", "migrate", pg, str(back)])
    assert code == 0 and f"holds {len(recs)}" in err, err
    code, _, err = _cli(["records", "migrate", str(src), pg])  # again: nothing added, still verified
    assert code == 0 and "0 added" in err and f"holds {len(recs)}" in err
    exports = {}
    with R.Store(src) as store:
        order = [(e.subject, e.session, e.date) for e in store.entries()]
    for db in (str(src), pg, str(back)):
        for fmt in ("json", "csv", "fhir"):
            code, out, _ = _cli(["records", "export", "--db", db, "--format", fmt])
            assert code == 0
            exports.setdefault(fmt, []).append(out)
        with R.Store(db) as store:
            assert sorted(store.ids()) == sorted(R.record_id(r) for r in recs)
            assert [(e.subject, e.session, e.date) for e in store.entries()] == order
    for fmt, texts in exports.items():
        assert texts[0] == texts[1] == texts[2], fmt


def test_migrate_refuses_a_damaged_source(pg_cluster, rec, tmp_path):
    import sqlite3

    src = tmp_path / "s.db"
    with R.Store(src) as store:
        ids = store.add_many([_variant(rec, i) for i in range(3)])
    conn = sqlite3.connect(src)
    conn.execute("UPDATE records SET body = replace(body, '\"warnings\":[]', '\"warnings\":[\"Jane Doe\"]') WHERE id = ?",
                 (ids[1],))
    conn.commit()
    conn.close()
    pg = pg_cluster.new_database()
    code, _, err = _cli(["records", "migrate", str(src), pg])
    assert code == 2 and ids[1][:12] in err and "nothing was copied" in err
    with R.Store(pg) as store:
        assert len(store) == 0


def test_postgresql_history_uses_the_index(pg_cluster, rec):
    url = pg_cluster.new_database()
    with R.Store(url) as store:
        store.add_many([_variant(rec, i, subject=f"S{i % 50:02d}") for i in range(200)])
        (index,) = store.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'records_by_subject'")[0]
        assert "(subject_key, sort_key" in index
        store.query("SET enable_seqscan = off")  # 200 rows: the planner would scan; the benchmark measures 100,000
        plan = " ".join(r[0] for r in store.query(
            "EXPLAIN SELECT r.id FROM records r JOIN subjects s ON s.subject_key = r.subject_key "
            "WHERE s.subject = :s ORDER BY r.sort_key", s="S07"))
    assert "records_by_subject" in plan, plan


def test_dask_batch_stores_from_the_client_into_postgresql(pg_cluster, tmp_path):
    """score_batch on a 2-worker Dask cluster with --db URL: the workers build the records, the client stores them."""
    from texturecmp.batch import score_batch

    rows = []
    for subject, seed in (("P01", 1), ("P02", 2)):
        (tmp_path / subject).mkdir()
        for k, treat in enumerate((0.0, 0.4, 0.6)):
            ph = skin_phantom((256, 320), seed=seed, treatment=treat, noise_seed=10 * seed + k)
            save_image(tmp_path / subject / f"v{k}.jpg", ph.rgb)
            if k == 0:
                save_mask(tmp_path / subject / "lesion.png", ph.lesion)
            rows.append({"subject": subject, "session": f"v{k}", "date": f"2024-0{k + 1}-01",
                         "image": f"{subject}/v{k}.jpg", "lesion": f"{subject}/lesion.png" if k == 0 else ""})
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    url = pg_cluster.new_database()
    df = score_batch(str(manifest), scheduler="local", jobs=2, progress=False, db=url)
    assert df.attrs["summary"]["stored"] == 4
    local = tmp_path / "local.db"
    score_batch(str(manifest), jobs=1, progress=False, db=str(local))
    with R.Store(url) as pg, R.Store(local) as lite:
        assert sorted(pg.ids()) == sorted(lite.ids()) and len(pg) == 4  # the same records on both back ends
        assert pg.to_frame().equals(lite.to_frame())


def test_unsupported_scheme_and_missing_driver_are_one_line_errors(monkeypatch):
    import sys

    with pytest.raises(R.StoreError, match="mysql:// is not a supported store"):
        R.Store("mysql://me@host/db")
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if texturecmp[postgresql] were not installed
    with pytest.raises(R.StoreError, match=r"needs psycopg 3: pip install 'texturecmp\[postgresql\]'"):
        R.Store("postgresql://me@127.0.0.1:1/db")


def test_compare_db_url_stores_into_postgresql(pg_cluster, tmp_path, capsys):
    from texturecmp import cli

    base = skin_phantom((256, 320), seed=4)
    fol = skin_phantom((256, 320), seed=4, treatment=0.5)
    save_image(tmp_path / "a.png", base.rgb)
    save_image(tmp_path / "b.png", fol.rgb)
    url = pg_cluster.new_database()
    argv = ["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--db", url, "--subject", "P-9",
            "--session", "week4"]
    assert cli.main(argv) == 0
    assert cli.main(argv) == 0  # the same comparison again: stored once
    with R.Store(url) as store:
        assert len(store) == 1 and store.history("P-9")[0].record["session"] == "week4"
    assert url in capsys.readouterr().out


def test_a_writer_that_cannot_get_the_lock_in_time_gets_a_clear_error(new_store, rec):
    """Another process holds the store's write lock past ``timeout``: a one-line StoreError, nothing written."""
    import sqlite3

    import psycopg

    db = new_store()
    with R.Store(db) as store:
        store.add(_variant(rec, 1))
    if "://" in db:
        holder = psycopg.connect(db, autocommit=True)
        holder.execute("SELECT pg_advisory_lock(%s)", (0x54584352,))  # the lock every writer takes
    else:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    try:
        with R.Store(db, timeout=0.5) as store:
            with pytest.raises(R.StoreError, match="could not start writing") as err:
                store.add(_variant(rec, 2))
            assert len(str(err.value).splitlines()) == 1
    finally:
        holder.close()
    with R.Store(db) as store:
        assert len(store) == 1
        store.add(_variant(rec, 2))  # and once the lock is free, the same add goes through
        assert len(store) == 2


def test_compare_and_batch_never_print_or_take_a_password_from_the_command_line(pg_cluster, tmp_path, monkeypatch,
                                                                              capsys):
    """``--db`` of compare and batch, as of records: a URL holding a password is refused before any work.

    It was taken when it equalled TEXTURECMP_DB (``--db "$TEXTURECMP_DB"``), and compare then
    printed it, password and all, in its ``stored as record ... in URL`` line (into logs).
    """
    import sys

    from texturecmp import cli

    url = pg_cluster.new_database(owner="clinic")
    secret = _with_password(url, CLINIC_PASSWORD)
    monkeypatch.setenv(R.DB_ENV, secret)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    base = skin_phantom((256, 320), seed=4)
    save_image(tmp_path / "a.png", base.rgb)
    save_image(tmp_path / "b.png", skin_phantom((256, 320), seed=4, treatment=0.5).rgb)
    (tmp_path / "P1").mkdir()
    save_image(tmp_path / "P1" / "v0.png", base.rgb)
    save_image(tmp_path / "P1" / "v1.png", base.rgb)
    computed = []
    tcc = sys.modules["texturecmp.compare"]
    real = tcc.compare
    monkeypatch.setattr(tcc, "compare", lambda *a, **k: computed.append(1) or real(*a, **k))
    for argv in (["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--db", secret, "--subject", "P-9",
                  "--session", "week4"],
                 ["batch", str(tmp_path), "-o", str(tmp_path / "out.csv"), "--jobs", "1", "--no-progress",
                  "--db", secret]):
        assert cli.main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert CLINIC_PASSWORD not in out + err
        assert len(err.strip().splitlines()) == 1 and "PGPASSWORD" in err and "process list" in err, err
    assert not computed and not (tmp_path / "out.csv").exists()  # refused before any photo was read
    monkeypatch.setenv("PGPASSWORD", CLINIC_PASSWORD)  # the password where it belongs: stored, and shown without it
    argv = ["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--db", url, "--subject", "P-9",
            "--session", "week4"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert f"in {url}" in out and CLINIC_PASSWORD not in out + err
    with R.Store(url) as store:
        assert len(store) == 1


def test_migrate_into_the_store_of_texturecmp_db(pg_cluster, rec, tmp_path, monkeypatch):
    """``records migrate clinic.db`` copies into the store named by TEXTURECMP_DB, whose URL may hold the password.

    The docs' ``records migrate clinic.db "$TEXTURECMP_DB"`` put that password on the command
    line, where it is refused; without DST nothing shows it.
    """
    url = pg_cluster.new_database(owner="clinic")
    secret = _with_password(url, CLINIC_PASSWORD)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    monkeypatch.setenv(R.DB_ENV, secret)
    src = tmp_path / "room1.db"
    with R.Store(src) as store:
        ids = store.add_many([_variant(rec, i) for i in range(3)])
    code, out, err = _cli(["records", "migrate", str(src), secret])
    assert code == 2 and "PGPASSWORD" in err and CLINIC_PASSWORD not in err
    code, out, err = _cli(["records", "migrate", str(src)])
    assert code == 0, err
    assert "3 added" in err and f"to {url}" in err and CLINIC_PASSWORD not in out + err
    with R.Store(secret) as store:
        assert sorted(store.ids()) == sorted(ids)
    monkeypatch.delenv(R.DB_ENV)
    code, out, err = _cli(["records", "migrate", str(src)])
    assert code == 2 and R.DB_ENV in err and len(err.strip().splitlines()) == 1


def test_a_libpq_service_file_names_the_store(pg_cluster, rec, tmp_path, monkeypatch):
    """``postgresql:///?service=clinic``: host, port, database, role and password all from the service file."""
    url = pg_cluster.new_database(owner="clinic")
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[clinic]\nhost={pg_cluster.host}\nport={pg_cluster.port}\ndbname={url.rsplit('/', 1)[1]}\n"
                        f"user=clinic\npassword={CLINIC_PASSWORD}\n")
    services.chmod(0o600)
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    with R.Store("postgresql:///?service=clinic") as store:
        assert store.backend == "postgresql" and store.path == "postgresql:///?service=clinic"
        rid = store.add(rec)
    with R.Store(url.replace("postgresql://clinic@", "postgresql://postgres@")) as store:  # the same database
        assert store.ids() == [rid]
    code, out, err = _cli(["records", "list", "--db", "postgresql:///?service=clinic"])
    assert code == 0 and rid[:12] in out and CLINIC_PASSWORD not in out + err
