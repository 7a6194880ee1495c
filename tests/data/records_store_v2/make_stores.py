"""Write the record stores of this folder: one SQLite file and one PostgreSQL dump, both of store version 2.

Run once, from the repository root, with the texturecmp whose stores the tests must keep
reading (see README.md beside this file for the commit it was run with):

    PYTHONPATH=src:tests .venv/bin/python tests/data/records_store_v2/make_stores.py

It writes ``store.db`` (SQLite), ``store_pg.sql`` (``pg_dump --inserts`` of the same
records added to a PostgreSQL store on a throwaway server) and ``ids.json`` (the id of
each record, in the order added, as the store returned it). The tests only read these files.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_records() -> list[dict]:
    """Three records: a baseline measurement, a comparison, and an edited comparison with edge-case values."""
    import texturecmp as tc
    from texturecmp import records
    from texturecmp.phantoms import skin_phantom

    base = skin_phantom(shape=(192, 256), seed=11)
    fol = skin_phantom(shape=(192, 256), seed=11, treatment=0.5, shift_px=(2, -1))
    c = tc.compare(base.rgb, fol.rgb, lesion=base.lesion)
    m = records.measurement_record(c.before, subject="P-0001", session="week0", date="2026-01-05")
    r = records.comparison_record(c, subject="P-0001", session="week4", date="2026-02-02T09:30:00+01:00",
                                  baseline_session="week0", baseline_date="2026-01-05")
    # The same comparison for another subject, with values that pin the canonical form: floats
    # Python writes with an exponent (1e-07, 1e+16, 5e-324), a 65-bit integer, negative zero,
    # and identifiers outside ASCII (written as UTF-8, not \u escapes).
    odd = copy.deepcopy(r)
    odd["subject"], odd["session"], odd["baseline"]["session"] = "Zoë-7", "semaine 4 ✓", "référence"
    names = [n for n, mv in odd["metrics"].items() if mv["value"] is not None]
    for name, value in zip(names, (1e-07, 1e16, 5e-324, 2 ** 64 + 1, -0.0, 123456789.123456789, 0.1)):
        odd["metrics"][name]["value"] = value
    records.validate(odd)
    return [m, r, odd]


def write_sqlite(recs: list[dict]) -> list[str]:
    from texturecmp import records

    db = HERE / "store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    with records.Store(db) as store:
        ids = store.add_many(recs[:2]) + [store.add(recs[2])]
    with sqlite3.connect(db) as con:  # fold the write-ahead log into the file: one file to vendor
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    Path(str(db) + "-wal").unlink(missing_ok=True)
    Path(str(db) + "-shm").unlink(missing_ok=True)
    return ids


def write_postgresql(recs: list[dict]) -> list[str]:
    from pg_fixture import Cluster, server_bin

    from texturecmp import records

    cluster = Cluster(server_bin())
    try:
        url = cluster.new_database()
        with records.Store(url) as store:
            ids = store.add_many(recs[:2]) + [store.add(recs[2])]
        dbname = url.rsplit("/", 1)[1]
        dump = subprocess.run([str(server_bin() / "pg_dump"), "-h", cluster.host, "-p", str(cluster.port), "-U",
                               "postgres", "--inserts", "--no-owner", "--no-privileges", dbname],
                              capture_output=True, text=True, check=True).stdout
        (HERE / "store_pg.sql").write_text(dump, encoding="utf-8")
    finally:
        cluster.remove()
    return ids


def main() -> None:
    import texturecmp as tc

    recs = make_records()
    ids = write_sqlite(recs)
    pg_ids = write_postgresql(recs) if shutil.which("pg_dump") or os.path.isdir("/usr/lib/postgresql") else None
    assert pg_ids in (None, ids), (pg_ids, ids)
    (HERE / "ids.json").write_text(json.dumps({"texturecmp_version": tc.__version__, "ids": ids}, indent=2) + "\n",
                                   encoding="utf-8")
    print("\n".join(ids))


if __name__ == "__main__":
    main()
