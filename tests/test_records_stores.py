"""Stores written by an earlier texturecmp (``tests/data/records_store_v2``) open, verify and grow.

The stores were written by texturecmp 0.1.0 with its own canonical JSON and validators
(see the folder's README). Reading them with this code must find every record under the
id it was stored with, recompute the same id from the record, pass every check, and add
new records beside the old ones, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from texturecmp import records as R

from pg_fixture import pg_cluster, server_bin  # noqa: F401  (the session's PostgreSQL server)

DATA = Path(__file__).resolve().parent / "data" / "records_store_v2"
IDS = json.loads((DATA / "ids.json").read_text(encoding="utf-8"))["ids"]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request, tmp_path):
    """A copy of the vendored store on each back end: an SQLite file, or a database restored from the dump."""
    if request.param == "sqlite":
        db = tmp_path / "store.db"
        shutil.copyfile(DATA / "store.db", db)
        return str(db)
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.new_database()
    subprocess.run([str(server_bin() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.host, "-p",
                    str(cluster.port), "-U", "postgres", "-d", url.rsplit("/", 1)[1], "-f", str(DATA / "store_pg.sql")],
                   check=True, capture_output=True, text=True)
    return url


def test_an_old_store_is_found_verified_and_grows(old_store):
    with R.Store(old_store, create=False) as store:
        assert store.version == 2 == R.STORE_VERSION
        assert store.ids() == IDS and len(store) == 3
        assert store.check() == []
        bodies = dict(store.query("SELECT id, body FROM records"))
        for rid in IDS:
            rec = store.get(rid)
            assert R.record_id(rec) == rid and R.canonical_json(rec) == bodies[rid] and R.is_valid(rec)
            assert store.get(rid[:8]) == rec
        odd = store.get(IDS[2])
        assert odd["subject"] == "Zoë-7" and odd["session"] == "semaine 4 ✓"
        values = [mv["value"] for mv in odd["metrics"].values() if mv["value"] is not None]
        assert {1e-07, 1e16, 5e-324, 2 ** 64 + 1} <= set(values) and type(values[3]) is int
        assert [h.session for h in store.history("P-0001")] == ["week0", "week4"]
        assert [h.record for h in store.history("Zoë-7")] == [odd]

        # the same records added again store nothing; a new one goes in beside them
        assert store.add_many([store.get(rid) for rid in IDS]) == IDS and len(store) == 3
        new = copy.deepcopy(store.get(IDS[1]))
        new["session"], new["date"] = "week12", "2026-04-01"
        rid = store.add(new)
        assert rid not in IDS and len(store) == 4 and store.get(rid) == new
        assert [h.session for h in store.history("P-0001")] == ["week0", "week4", "week12"]
        assert store.check() == []
    with R.Store(old_store, create=False) as again:
        assert again.ids() == IDS + [rid] and again.check() == []


def test_an_old_store_copies_to_a_new_one_under_the_same_ids(old_store, tmp_path):
    copied = R.copy_records(old_store, tmp_path / "copy.db")
    assert (copied.read, copied.added, copied.target_count) == (3, 3, 3)
    with R.Store(tmp_path / "copy.db", create=False) as store:
        assert sorted(store.ids()) == sorted(IDS) and store.check() == []
