"""Records: schema, builders, validation, the SQLite store (crash and concurrency), CSV/FHIR exports, CLI."""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import texturecmp as tc
from texturecmp import records as R
from texturecmp.compare import Series
from texturecmp.errors import TextureCmpError
from texturecmp.phantoms import skin_phantom, to_uint8

from conftest import json_paths as _paths
from pg_fixture import pg_cluster  # noqa: F401  (the session's PostgreSQL server)

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
HYP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def results():
    """Two small comparisons and a measurement without a lesion (computed once)."""
    base = skin_phantom(shape=(256, 320), seed=3)
    fol = skin_phantom(shape=(256, 320), seed=3, treatment=0.5)
    bright = skin_phantom(shape=(256, 320), seed=3, treatment=0.3, exposure=1.3)
    c1 = tc.compare(base.rgb, fol.rgb, lesion=base.lesion)
    # file-name labels holding a person's name, an exposure warning, a shape lesion and a pixel size
    c2 = tc.compare(base.rgb, bright.rgb, lesion=tc.Ellipse(cx=160, cy=128, rx=40, ry=25), pixel_size_mm=0.05,
                    labels=("john_smith_2024-01-02.jpg", "john_smith_2024-03-01.jpg"))
    m = tc.measure(base.rgb)
    return {"c1": c1, "c2": c2, "m": m}


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store(request, tmp_path):
    """``new_store(name)``: the target of a new, empty store on each back end (an SQLite path, a PostgreSQL URL)."""
    if request.param == "sqlite":
        return lambda name="store": str(tmp_path / f"{name}.db")
    cluster = request.getfixturevalue("pg_cluster")
    return lambda name="store": cluster.new_database()


def _count(store, table):
    return store.query(f"SELECT count(*) FROM {table}")[0][0]


@pytest.fixture(scope="module")
def rec(results):
    return R.comparison_record(results["c1"], subject="P-001", session="week4", date="2024-03-01",
                               baseline_session="week0", baseline_date="2024-02-02")


def _jsonschema_errors(record):
    return list(jsonschema.Draft202012Validator(R.SCHEMA).iter_errors(record))


ident = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(
    lambda s: s == s.strip() and not any(ch.isspace() for ch in (s[0], s[-1])))
dates = st.one_of(
    st.none(),
    st.dates(min_value=__import__("datetime").date(1990, 1, 1), max_value=__import__("datetime").date(2100, 1, 1)),
    st.datetimes(min_value=__import__("datetime").datetime(1990, 1, 1), max_value=__import__("datetime").datetime(2100, 1, 1),
                 timezones=st.sampled_from([__import__("datetime").timezone.utc,
                                            __import__("datetime").timezone(__import__("datetime").timedelta(hours=-5)),
                                            __import__("datetime").timezone(__import__("datetime").timedelta(hours=5, minutes=30))])),
)


# ----------------------------------------------------------------------------- schema and builders

def test_schema_shipped_and_valid():
    jsonschema.Draft202012Validator.check_schema(R.SCHEMA)
    from importlib import resources

    shipped = json.loads(resources.files("texturecmp").joinpath("data/record.schema.json").read_text("utf-8"))
    assert shipped == R.SCHEMA
    assert R.SCHEMA["properties"]["schema_version"]["const"] == R.SCHEMA_VERSION == 1


@HYP
@given(subject=ident, session=ident, baseline=ident, date=dates, bdate=dates)
def test_every_built_record_validates_and_round_trips(results, subject, session, baseline, date, bdate):
    if baseline == session:
        baseline = baseline + "-0"
    for c in (results["c1"], results["c2"]):
        r = R.comparison_record(c, subject=subject, session=session, date=date, baseline_session=baseline, baseline_date=bdate)
        assert R.is_valid(r) and not _jsonschema_errors(r)
        assert R.loads(R.dumps(r)) == r
        assert R.record_id(R.loads(R.dumps(r, indent=None))) == R.record_id(r)
        assert r["subject"] == subject and r["session"] == session and r["baseline"]["session"] == baseline
    m = R.measurement_record(results["m"], subject=subject, session=session, date=date)
    assert R.is_valid(m) and not _jsonschema_errors(m)
    assert R.loads(R.dumps(m)) == m


def test_a_jpeg_photo_records_its_dc_step_and_validates():
    """The capture model widens a JPEG pair's threshold by its DC quantization step, so the record keeps it."""
    import cv2

    ph = skin_phantom(shape=(256, 320), seed=3)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(to_uint8(ph.rgb), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    c = tc.compare(to_uint8(ph.rgb), buf.tobytes())
    r = R.comparison_record(c, subject="s1", session="v2", date="2026-01-02", baseline_session="v1",
                            baseline_date="2026-01-01")
    assert R.is_valid(r) and not _jsonschema_errors(r)
    assert "jpeg_dc_step" not in r["baseline"]["photo"]  # a lossless array has no step
    assert r["photo"]["jpeg_dc_step"] == pytest.approx(c.after.image["jpeg_dc_step"]) and r["photo"]["jpeg_dc_step"] > 0


def test_record_contents(results, rec):
    c = results["c1"]
    assert rec["kind"] == "comparison" and rec["texturecmp_version"] == tc.__version__
    photo = {k: c.after.image[k] for k in ("sha256", "width", "height", "format", "bit_depth")}
    if c.after.image.get("jpeg_dc_step") is not None:
        photo["jpeg_dc_step"] = c.after.image["jpeg_dc_step"]
    assert rec["photo"] == photo
    assert rec["baseline"]["photo"]["sha256"] == c.before.image["sha256"]
    assert rec["settings"] == c.settings.to_dict() and rec["settings_sha256"] == c.settings.hash
    assert rec["regions"]["lesion"]["mask_sha256"] and rec["regions"]["reference"]["default"] == "ring"
    ch, got = c.changes["scar.delta_e00"], rec["changes"]["scar.delta_e00"]
    assert got["delta"] == ch.delta and got["verdict"] == ch.verdict and got["rule"] == ch.rule
    assert got["rule_kind"] == ch.rule_kind and got["rule_kind"] in ("standard_error", "capture_model")
    assert rec["metrics"]["texture.sq"]["value"] == c.after.metrics["texture.sq"].value
    assert rec["baseline"]["metrics"]["texture.sq"]["uncertainty"] == c.before.metrics["texture.sq"].uncertainty
    assert rec["alignment"]["ok"] is True and rec["photometric"]["gains"]
    assert set(rec["changes"]) == set(tc.METRICS)


def test_shapes_pixel_size_and_flags(results):
    r = R.comparison_record(results["c2"], subject="P-002", session="s1")
    assert r["regions"]["lesion"]["shape"]["type"] == "ellipse"
    assert r["pixel_size_mm"] == 0.05 and r["metrics"]["scar.visible_area"]["unit"] == "mm²"
    assert "exposure_mismatch" in r["quality_flags"]


def test_no_names_exif_or_file_names(results):
    c = results["c2"]
    assert any("john_smith" in w for w in c.warnings)  # the comparison itself names the files
    r = R.comparison_record(c, subject="P-002", session="s1", baseline_session="s0")
    text = R.canonical_json(r)
    assert "john" not in text.lower() and "exif" not in text.lower() and "source" not in text
    assert any("photo 's1'" in w for w in r["warnings"])

    def keys(x):
        if isinstance(x, dict):
            for k, v in x.items():
                yield k
                yield from keys(v)
        elif isinstance(x, list):
            for v in x:
                yield from keys(v)

    forbidden = {"name", "patient_name", "birth_date", "birthdate", "gps", "exif", "exif_orientation", "source", "labels"}
    assert not forbidden & set(keys(r))
    bad = copy.deepcopy(r)
    bad["patient_name"] = "John Smith"
    with pytest.raises(R.BadRecordError, match=r"\$\.patient_name: unexpected field"):
        R.validate(bad)


@pytest.mark.parametrize("follow_up, says", [
    (np.zeros((256, 320, 3), np.float32), "photo 's1' is blank"),
    (np.random.default_rng(0).random((256, 320, 3)).astype(np.float32), "photo 's1' could not be aligned with photo 's0'"),
])
def test_a_not_comparable_follow_up_names_no_file_in_its_record(follow_up, says):
    """Why a comparison is not comparable is every change's rule; it named the photos by their labels (file names)."""
    base = skin_phantom(shape=(256, 320), seed=3)
    c = tc.compare(base.rgb, follow_up, labels=("jane_doe_1970-01-01_baseline.jpg", "jane_doe_1970-01-01_week4.jpg"))
    assert not c.comparable and "jane_doe" in c.not_comparable_reason  # the comparison itself names the files
    r = R.comparison_record(c, subject="P-002", session="s1", baseline_session="s0")
    text = R.canonical_json(r)
    assert "jane" not in text.lower() and "1970" not in text
    rules = {ch["rule"] for ch in r["changes"].values()}
    assert len(rules) == 1 and says in rules.pop()
    assert {ch["verdict"] for ch in r["changes"].values()} == {"not comparable"}


def test_nan_is_null_with_note(results):
    m = R.measurement_record(results["m"], subject="P-003", session="s0")
    sc = m["metrics"]["scar.delta_e00"]
    assert sc["value"] is None and sc["note"]
    text = R.dumps(m)
    assert "NaN" not in text and R.loads(text) == m
    with pytest.raises(R.BadRecordError, match="NaN"):
        R.canonical_json({**m, "pixel_size_mm": float("nan")})
    with pytest.raises(R.BadRecordError, match="NaN"):
        R.loads('{"a": NaN}')


def test_builder_argument_errors(results):
    c = results["c1"]
    with pytest.raises(R.BadRecordError, match="subject"):
        R.comparison_record(c, subject=" padded", session="s1")
    with pytest.raises(R.BadRecordError, match="session"):
        R.comparison_record(c, subject="P", session="a\nb")
    with pytest.raises(R.BadRecordError, match="date.*time zone"):
        R.comparison_record(c, subject="P", session="s1", date=__import__("datetime").datetime(2024, 1, 1, 10, 0))
    with pytest.raises(R.BadRecordError, match="not a calendar date"):
        R.comparison_record(c, subject="P", session="s1", date="2024-02-30")
    with pytest.raises(R.BadRecordError, match="baseline_session"):
        R.comparison_record(c, subject="P", session="s1", baseline_session="s1")
    assert R.normalize_date("2024-03-01T10:30:00+00:00") == "2024-03-01T10:30:00Z"


def test_series_records(results):
    c = results["c1"]
    s = Series(("a.jpg", "b.jpg"), (c.before, c.after), (c,), ())
    out = R.series_records(s, subject="P-9", sessions=["w0", "w4"], dates=["2024-01-01", "2024-02-01"])
    assert [r["kind"] for r in out] == ["measurement", "comparison"]
    assert out[1]["baseline"]["session"] == "w0" and all(R.is_valid(r) for r in out)
    with pytest.raises(R.BadRecordError, match="sessions"):
        R.series_records(s, subject="P-9", sessions=["w0"])


# ----------------------------------------------------------------------------- invalid records

@pytest.mark.parametrize("mutate, field", [
    (lambda r: r.pop("subject"), r"\$\.subject: missing"),
    (lambda r: r["metrics"]["texture.sq"].pop("unit"), r'\$\.metrics\["texture\.sq"\]\.unit: missing'),
    (lambda r: r["metrics"]["texture.sq"].__setitem__("value", "1.5"), r'\$\.metrics\["texture\.sq"\]\.value: expected number or null'),
    (lambda r: r.__setitem__("pixel_size_mm", "0.05"), r"\$\.pixel_size_mm: expected number or null"),
    (lambda r: r["photo"].__setitem__("sha256", "abc123"), r"\$\.photo\.sha256: expected a SHA-256"),
    (lambda r: r["baseline"]["photo"].__setitem__("sha256", "A" * 64), r"\$\.baseline\.photo\.sha256: expected a SHA-256"),
    (lambda r: r["changes"]["scar.delta_e00"].__setitem__("verdict", "better"), r'\$\.changes\["scar\.delta_e00"\]\.verdict: .better. is not one of'),
    (lambda r: r.__setitem__("kind", "measurement"), r"\$\.baseline: not allowed in a measurement record"),
    (lambda r: r.__setitem__("date", "01/03/2024"), r"\$\.date: expected YYYY-MM-DD"),
    (lambda r: r.__setitem__("date", "2024-02-30"), r"\$\.date: .*not a calendar date"),
    (lambda r: r["settings"].__setitem__("z", 3.0), r"\$\.settings_sha256: does not match"),
    (lambda r: r["metrics"]["texture.sq"].update(value=None, note=""), r'\$\.metrics\["texture\.sq"\]\.note'),
    (lambda r: r.__setitem__("schema_version", 2), r"\$\.schema_version"),
])
def test_invalid_records_name_the_field(rec, mutate, field):
    bad = copy.deepcopy(rec)
    mutate(bad)
    with pytest.raises(R.BadRecordError, match=field) as ei:
        R.validate(bad)
    assert isinstance(ei.value, TextureCmpError) and ei.value.problems


def test_every_problem_is_listed(rec):
    bad = copy.deepcopy(rec)
    bad.pop("subject")
    bad["photo"]["sha256"] = "xyz"
    bad["changes"]["texture.sq"]["verdict"] = "great"
    probs = R.problems(bad)
    assert len(probs) == 3
    assert R.problems([]) == ["$: expected a record (a JSON object), got list"]


# ----------------------------------------------------------------------------- the store

def _variant(rec, i, subject=None, session=None, date="keep"):
    r = copy.deepcopy(rec)
    r["subject"] = subject or f"S{i % 7:02d}"
    r["session"] = session or f"v{i}"
    if date != "keep":
        r["date"] = date
    r["metrics"]["texture.sq"]["value"] = float(i)
    return r


def test_store_round_trip_duplicates_history(new_store, rec, results):
    db = new_store()
    with R.Store(db) as store:
        rid = store.add(rec)
        assert rid == R.record_id(rec) and store.add(rec) == rid and len(store) == 1
        assert store.get(rid) == rec and store.get(rid[:10]) == rec and rid in store
        m = R.measurement_record(results["c1"].before, subject="P-001", session="week0", date="2024-02-02")
        later = _variant(rec, 1, subject="P-001", session="week12", date="2024-05-01T09:00:00+02:00")
        undated = _variant(rec, 2, subject="P-001", session="extra", date=None)
        same_day = _variant(rec, 3, subject="P-001", session="week4b", date="2024-03-01T23:30:00-05:00")
        ids = store.add_many([later, undated, m, m, same_day, rec])
        assert ids[2] == ids[3] and ids[5] == rid and len(store) == 5
        hist = store.history("P-001")
        assert [h.session for h in hist] == ["week0", "week4", "week4b", "week12", "extra"]
        assert hist[0].kind == "measurement" and hist[1].baseline_session == "week0"
        assert [h.record for h in hist][1] == rec and store.history("nobody") == []
        assert store.subjects() == ["P-001"] and len(store.entries(kind="comparison")) == 4
        if store.backend == "sqlite":
            assert store.query("PRAGMA journal_mode") == [("wal",)]
        assert store.version == R.STORE_VERSION and store.integrity_check() == "ok"
        assert _count(store, "measurements") == 4 * 2 + 1
        assert store.query("SELECT count(*) FROM comparisons WHERE aligned = 1") == [(4,)]
        with pytest.raises(R.StoreError, match="no record"):
            store.get("0" * 64)
        with pytest.raises(R.StoreError, match="at least 6"):
            store.get("abc")
        bad = copy.deepcopy(rec)
        bad["changes"]["texture.sq"]["verdict"] = "great"
        with pytest.raises(R.BadRecordError, match=r"record 1: .*verdict"):
            store.add_many([_variant(rec, 9), bad])
        assert len(store) == 5  # all or nothing
    with R.Store(db) as again:  # persisted
        assert again.get(rid) == rec and len(again) == 5


def test_stored_numbers_read_back_exactly_as_written(new_store, rec):
    """A stored record reads back exactly: every float bit for bit, and integers of any size as integers."""
    import random
    import struct

    rng = random.Random(7)
    r = copy.deepcopy(rec)
    names = [n for n, mv in r["metrics"].items() if mv["value"] is not None]
    floats = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(4 * len(names))]
    floats = [x for x in floats if math.isfinite(x)][:len(names) - 3]
    for name, x in zip(names, floats):
        r["metrics"][name]["value"] = x
    big = {names[-3]: 10**30, names[-2]: -(2**63) - 1, names[-1]: 2**64 - 1}
    for name, v in big.items():
        r["metrics"][name]["value"] = v
    with R.Store(new_store()) as store:
        rid = store.add(r)
        back = store.get(rid)
        assert back == r and back == json.loads(R.canonical_json(r))
        for name, v in big.items():
            assert type(back["metrics"][name]["value"]) is int and back["metrics"][name]["value"] == v
        for name, x in zip(names, floats):
            assert back["metrics"][name]["value"].hex() == x.hex()


def test_store_frames(new_store, rec, results):
    m0 = R.measurement_record(results["c1"].before, subject="P-001", session="week0", date="2024-02-02")
    recs = [rec, m0, _variant(rec, 5, subject="P-002", session="w8", date="2024-04-01")]
    with R.Store(new_store()) as store:
        store.add_many(recs)
        long = store.to_frame()
        wide = store.to_wide()
    n = len(tc.METRICS)
    n_photo = len(rec["metrics"])
    # P-001: week0 (own measurement), week4 (comparison + 2 pair metrics); P-002: w8 + its baseline block
    assert len(long) == n_photo + n + n + n_photo
    assert not long.duplicated(["subject", "session", "metric", "baseline_session"]).any()
    row = long[(long.subject == "P-001") & (long.session == "week4") & (long.metric == "scar.delta_e00")].iloc[0]
    assert row.verdict == rec["changes"]["scar.delta_e00"]["verdict"] and row.baseline_session == "week0"
    assert math.isclose(row.delta, rec["changes"]["scar.delta_e00"]["delta"])
    assert list(long.columns[:5]) == ["subject", "session", "date", "metric", "family"]
    assert wide.shape == (4, 4 + n)
    assert list(wide[wide.subject == "P-001"].session) == ["week0", "week4"]
    verdicts = R.wide(long, values="verdict")
    assert set(verdicts["texture.sq"].dropna()) <= {"improved", "worsened", "changed", "no detectable change", "not computable"}


def test_migrates_a_version_1_store(new_store, rec):
    from sqlalchemy import create_engine, text

    db = new_store()
    assert R.migrate(db, upto=1) == 1
    engine = create_engine(db.replace("postgresql://", "postgresql+psycopg://") if "://" in db else f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO subjects (subject) VALUES ('P-001')"))
        conn.execute(text("INSERT INTO sessions (subject_key, session, date) VALUES (1, 'week4', '2024-03-01'), "
                          "(1, 'week0', NULL)"))
        conn.execute(text("INSERT INTO records (id, kind, subject_key, session_key, baseline_session_key, date, sort_key, "
                          "photo_sha256, texturecmp_version, record_schema_version, added_at, body) VALUES "
                          "(:id, 'comparison', 1, 1, 2, :d, :d, :sha, '0.0.9', 1, '2024-01-01T00:00:00Z', :body)"),
                     {"id": R.record_id(rec), "d": rec["date"], "sha": rec["photo"]["sha256"],
                      "body": R.canonical_json(rec)})
        tables = conn.execute(text("SELECT count(*) FROM " + ("information_schema.tables WHERE table_name"
                                                              if "://" in db else "sqlite_master WHERE name")
                                   + " = 'comparisons'")).scalar()
        assert tables == 0
    engine.dispose()
    with R.Store(db) as store:
        assert store.version == 2 == R.STORE_VERSION
        assert store.get(R.record_id(rec)) == rec
        assert _count(store, "comparisons") == 1 and _count(store, "measurements") == 2
        assert len(store.to_frame()) > 0 and store.integrity_check() == "ok"
        store.add(_variant(rec, 3, subject="P-001"))  # the key sequences carry on after rows inserted by hand
        assert len(store) == 2


def test_refuses_foreign_and_newer_databases(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE patients (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(R.StoreError, match="not a texturecmp records database"):
        R.Store(other)
    newer = tmp_path / "newer.db"
    R.Store(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {R.STORE_VERSION + 1}")
    conn.close()
    with pytest.raises(R.StoreError, match="newer texturecmp"):
        R.Store(newer)
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(R.StoreError):
        R.Store(tmp_path / "junk.db")


_WRITER = textwrap.dedent("""
    import copy, json, sys
    sys.path.insert(0, {src!r})
    from texturecmp.records import Store
    base = json.load(open(sys.argv[1]))
    store = Store(sys.argv[2])
    out = open(sys.argv[3], "a")
    tag, n, batch = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    for start in range(0, n, batch):
        recs = []
        for i in range(start, min(n, start + batch)):
            r = copy.deepcopy(base)
            r["subject"] = f"{{tag}}-{{i % 13}}"
            r["session"] = f"s{{i}}"
            r["metrics"]["texture.sq"]["value"] = float(i)
            recs.append(r)
        ids = store.add_many(recs) if batch > 1 else [store.add(recs[0])]
        out.write("\\n".join(ids) + "\\n")
        out.flush()
    store.close()
""")


def _writer(tmp_path, rec, db, tag, n, batch, log):
    # The script and its base record are written once, before the first process starts: rewriting them
    # for each process truncates a file another process may still be reading, and Python runs a
    # truncated script as an empty one that exits 0 having written nothing.
    script, base = tmp_path / "writer.py", tmp_path / "base.json"
    if not script.exists():
        base.write_text(R.dumps(rec))
        script.write_text(_WRITER.format(src=str(SRC)))
    return subprocess.Popen([sys.executable, str(script), str(base), str(db), str(log), tag, str(n), str(batch)],
                            stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_only_whole_committed_batches(tmp_path, new_store, rec):
    db, log, batch = new_store(), tmp_path / "committed.txt", 10
    R.Store(db).close()
    proc = _writer(tmp_path, rec, db, "K", 5000, batch, log)
    deadline = time.time() + 60
    while (not log.exists() or log.stat().st_size == 0) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.5)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = [ln for ln in log.read_text().split("\n") if ln]
    assert committed
    with R.Store(db) as store:
        assert store.integrity_check() == "ok"
        stored = set(store.ids())
        assert set(committed) <= stored
        assert len(stored) % batch == 0 and len(stored) < 5000  # whole transactions only
        for rid in stored:
            r = store.get(rid)
            assert R.is_valid(r) and R.record_id(r) == rid
        assert _count(store, "comparisons") == len(stored)  # index rows and bodies committed together


@pytest.mark.slow
def test_processes_writing_at_once(tmp_path, new_store, rec):
    """Four processes add records to one new store at once (each also re-adds records another one adds)."""
    db = new_store()
    jobs = (("A", 1), ("B", 3), ("C", 7), ("A", 5))  # the 4th repeats the 1st's records in other batches
    procs = [_writer(tmp_path, rec, db, tag, 60, batch, tmp_path / f"{i}.txt") for i, (tag, batch) in enumerate(jobs)]
    for p in procs:
        assert p.wait(timeout=180) == 0, p.stderr.read().decode()
    with R.Store(db) as store:
        ids = store.ids()
        assert len(ids) == len(set(ids)) == 180 and store.integrity_check() == "ok"  # 0 duplicated
        for i in range(4):
            assert set((tmp_path / f"{i}.txt").read_text().split()) <= set(ids)  # 0 lost
        assert len(store.subjects()) == 39 and _count(store, "comparisons") == 180


def test_store_is_shared_by_threads(new_store, rec):
    from concurrent.futures import ThreadPoolExecutor

    with R.Store(new_store()) as store:
        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(lambda i: store.add(_variant(rec, i)), range(20)))
        assert len(set(ids)) == 20 == len(store)


def test_store_comparison(new_store, results):
    db = new_store()
    rid = R.store_comparison(results["c1"], db, subject="P-7", session="w4", date="2024-03-01",
                             baseline_session="w0")
    with R.Store(db) as store:
        assert store.get(rid)["subject"] == "P-7"
        assert R.store_comparison(results["c1"], store, subject="P-7", session="w4", date="2024-03-01",
                                  baseline_session="w0") == rid


# ----------------------------------------------------------------------------- exports

_FHIR_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "type", "entry"],
    "additionalProperties": False,
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"const": "collection"},
        "entry": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["fullUrl", "resource"], "additionalProperties": False,
            "properties": {
                "fullUrl": {"type": "string", "pattern": "^urn:uuid:[0-9a-f-]{36}$"},
                "resource": {"$ref": "#/$defs/observation"}}}},
    },
    "$defs": {
        "coding": {"type": "object", "required": ["system", "code"], "additionalProperties": False,
                   "properties": {"system": {"type": "string", "minLength": 1}, "code": {"type": "string", "minLength": 1},
                                  "display": {"type": "string"}, "version": {"type": "string"}}},
        "concept": {"type": "object", "additionalProperties": False, "minProperties": 1,
                    "properties": {"coding": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/coding"}},
                                   "text": {"type": "string", "minLength": 1}}},
        "decimal_ext": {"type": "object", "required": ["url", "valueDecimal"], "additionalProperties": False,
                        "properties": {"url": {"type": "string"}, "valueDecimal": {"type": "number"}}},
        "quantity": {"type": "object", "required": ["value", "unit"], "additionalProperties": False,
                     "dependentRequired": {"code": ["system"], "system": ["code"]},
                     "properties": {"value": {"type": "number"}, "unit": {"type": "string", "minLength": 1},
                                    "system": {"const": "http://unitsofmeasure.org"},
                                    "code": {"enum": ["1", "bit", "deg", "mm", "mm2", "mm/mm2", "/cm2"]},
                                    "extension": {"type": "array", "items": {"allOf": [
                                        {"$ref": "#/$defs/decimal_ext"},
                                        {"properties": {"url": {"const": "http://hl7.org/fhir/StructureDefinition/iso21090-uncertainty"}}}]}}}},
        "component": {
            "type": "object", "required": ["code"], "additionalProperties": False,
            "oneOf": [{"required": ["valueQuantity"]}, {"required": ["dataAbsentReason"]}],
            "properties": {
                "code": {"$ref": "#/$defs/concept"},
                "valueQuantity": {"$ref": "#/$defs/quantity"},
                "dataAbsentReason": {"$ref": "#/$defs/concept"},
                "interpretation": {"type": "array", "items": {"$ref": "#/$defs/concept"}},
                "extension": {"type": "array", "items": {
                    "type": "object", "required": ["url", "extension"], "additionalProperties": False,
                    "properties": {"url": {"const": "urn:texturecmp:fhir:change-from-baseline"},
                                   "extension": {"type": "array", "items": {
                                       "type": "object", "required": ["url"], "additionalProperties": False,
                                       "minProperties": 2, "maxProperties": 2,
                                       "properties": {"url": {"enum": ["baselineSession", "delta", "percent", "uncertainty",
                                                                       "threshold", "rule"]},
                                                      "valueDecimal": {"type": "number"},
                                                      "valueString": {"type": "string"}}}}}}}}},
        "observation": {
            "type": "object", "additionalProperties": False,
            "required": ["resourceType", "status", "code", "subject", "method", "component", "identifier", "category"],
            "properties": {
                "resourceType": {"const": "Observation"},
                "status": {"const": "final"},
                "identifier": {"type": "array", "items": {"type": "object", "required": ["system", "value"],
                                                          "additionalProperties": False,
                                                          "properties": {"system": {"type": "string"}, "value": {"type": "string"}}}},
                "category": {"type": "array", "items": {"$ref": "#/$defs/concept"}},
                "code": {"allOf": [{"$ref": "#/$defs/concept"},
                                   {"properties": {"text": {"const": "Skin texture and scar measurement (texturecmp)"}},
                                    "required": ["text"]}]},
                "subject": {"type": "object", "additionalProperties": False, "required": ["identifier"],
                            "properties": {"reference": {"type": "string", "pattern": "^Patient/[A-Za-z0-9\\-.]{1,64}$"},
                                           "identifier": {"type": "object", "required": ["system", "value"]}}},
                "effectiveDateTime": {"type": "string",
                                      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2}))?$"},
                "method": {"allOf": [{"$ref": "#/$defs/concept"}, {"required": ["coding", "text"]}]},
                "note": {"type": "array", "items": {"type": "object", "required": ["text"], "additionalProperties": False,
                                                    "properties": {"text": {"type": "string"}}}},
                "derivedFrom": {"type": "array", "items": {"type": "object", "required": ["reference"],
                                                           "properties": {"reference": {"type": "string", "pattern": "^urn:uuid:"}}}},
                "component": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/component"}},
            },
        },
    },
}


def _no_nulls(x):
    if isinstance(x, dict):
        return all(v is not None and _no_nulls(v) for v in x.values())
    if isinstance(x, list):
        return all(v is not None and _no_nulls(v) for v in x)
    return True


def test_fhir_bundle(rec, results):
    m0 = R.measurement_record(results["c1"].before, subject="P-001", session="week0", date="2024-02-02")
    m_nan = R.measurement_record(results["m"], subject="odd id/with slash", session="s0")
    later = _variant(rec, 4, session="week12", subject="P-001", date="2024-05-01")
    later["photo"]["sha256"] = "f" * 64
    for recs, n_obs in (([rec], 2), ([rec, m0], 2), ([m0, rec, later], 3), ([m_nan], 1)):
        bundle = R.fhir_bundle(recs)
        jsonschema.Draft202012Validator(_FHIR_SCHEMA).validate(bundle)
        assert _no_nulls(bundle) and len(bundle["entry"]) == n_obs
    bundle = R.fhir_bundle([m0, rec, later])
    obs = [e["resource"] for e in bundle["entry"]]
    assert [o["effectiveDateTime"] for o in obs] == ["2024-02-02", "2024-03-01", "2024-05-01"]
    assert obs[1]["subject"]["reference"] == "Patient/P-001" and obs[1]["derivedFrom"][0]["reference"] == bundle["entry"][0]["fullUrl"]
    assert obs[1]["method"]["coding"][0]["version"] == tc.__version__
    comps = {c["code"]["text"]: c for c in obs[1]["component"]}
    assert set(comps) == set(tc.METRICS)
    assert comps["texture.glcm_energy"]["valueQuantity"]["code"] == "1"
    assert "code" not in comps["texture.sq"]["valueQuantity"]  # L* has no UCUM code
    assert "code" not in comps["scar.visible_area"]["valueQuantity"]  # px² has no UCUM code
    assert comps["scar.delta_e00"]["interpretation"][0]["coding"][0]["code"] == rec["changes"]["scar.delta_e00"]["verdict"]
    odd = R.fhir_bundle([m_nan])["entry"][0]["resource"]
    assert "reference" not in odd["subject"] and odd["subject"]["identifier"]["value"] == "odd id/with slash"
    absent = {c["code"]["text"]: c for c in odd["component"]}["scar.delta_e00"]
    assert absent["dataAbsentReason"]["coding"][0]["code"] == "not-a-number"
    # px units with a pixel size become UCUM units
    r2 = R.comparison_record(results["c2"], subject="P-2", session="s1")
    q = {c["code"]["text"]: c for c in R.fhir_bundle([r2])["entry"][1]["resource"]["component"]}
    assert q["scar.visible_area"]["valueQuantity"]["code"] == "mm2"
    assert q["pore.density"]["valueQuantity"]["code"] == "/cm2"


def test_ucum_table_covers_unit_kinds():
    units = {m.unit for m in tc.METRICS.values()} | {m.unit_px for m in tc.METRICS.values()}
    assert set(R.UCUM) <= units
    assert all("px" not in u and "*" not in u for u in R.UCUM)


def test_csv_exports(rec, results):
    m0 = R.measurement_record(results["c1"].before, subject="P-001", session="week0", date="2024-02-02")
    text = R.to_csv([rec, m0])
    long = pd.read_csv(io.StringIO(text))
    assert len(long) == len(m0["metrics"]) + len(tc.METRICS)
    assert {"subject", "session", "metric", "value", "unit", "uncertainty", "delta", "verdict"} <= set(long.columns)
    wide = pd.read_csv(io.StringIO(R.to_csv([rec, m0], wide_form=True)))
    assert wide.shape == (2, 4 + len(tc.METRICS)) and list(wide.session) == ["week0", "week4"]
    assert np.isclose(wide.loc[1, "texture.sq"], rec["metrics"]["texture.sq"]["value"])


# ----------------------------------------------------------------------------- CLI

def _cli(argv):
    """Run the records subcommands the way texturecmp.cli.main does (errors: one line, exit 2)."""
    ap = argparse.ArgumentParser(prog="texturecmp")
    R.add_cli(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = args.func(args)
        except (TextureCmpError, OSError, ValueError) as exc:
            print(f"texturecmp: error: {exc}", file=sys.stderr)
            code = 2
    return code, out.getvalue(), err.getvalue()


def test_cli_records(tmp_path, new_store, rec, results):
    db = new_store()
    f1 = tmp_path / "rec.json"
    f1.write_text(R.dumps(rec))
    m0 = R.measurement_record(results["c1"].before, subject="P-001", session="week0", date="2024-02-02")
    f2 = tmp_path / "two.json"
    f2.write_text(R.dumps([m0, rec]))
    code, out, err = _cli(["records", "add", str(f1), "--db", db])
    assert code == 0 and out.strip() == R.record_id(rec) and "1 record(s) added" in err
    code, out, err = _cli(["records", "add", str(f2), "--db", db])
    assert code == 0 and "1 record(s) added, 1 already stored" in err
    code, out, _ = _cli(["records", "list", "--db", db, "--subject", "P-001"])
    assert code == 0 and "week0" in out and "week4" in out and out.index("week0") < out.index("week4")
    code, out, _ = _cli(["records", "show", R.record_id(rec)[:10], "--db", db])
    assert code == 0 and json.loads(out) == rec
    for fmt in ("json", "csv", "fhir"):
        target = tmp_path / f"out.{fmt}"
        code, _, _ = _cli(["records", "export", "--db", db, "--format", fmt, "-o", str(target)])
        assert code == 0 and target.stat().st_size > 0
    code, out, _ = _cli(["records", "export", "--db", db, "--format", "json"])
    assert R.read_records(json.loads(out)) == [m0, rec]
    jsonschema.validate(json.loads((tmp_path / "out.fhir").read_text()), _FHIR_SCHEMA)
    code, out, _ = _cli(["records", "export", "--db", db, "--format", "csv", "--wide"])
    assert code == 0 and len(pd.read_csv(io.StringIO(out))) == 2
    # errors: one line, exit 2, naming the field or the file
    bad = copy.deepcopy(rec)
    bad["photo"]["sha256"] = "nope"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    code, _, err = _cli(["records", "add", str(tmp_path / "bad.json"), "--db", db])
    assert code == 2 and "$.photo.sha256" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(["records", "add", str(tmp_path / "missing.json"), "--db", db])
    assert code == 2 and "missing.json" in err
    code, _, err = _cli(["records", "show", "0123456789", "--db", db])
    assert code == 2 and "no record" in err


def test_cli_add_counts_its_own_records_while_another_workstation_writes(tmp_path, new_store, rec, monkeypatch):
    """``records add`` says how many of *its* records were new, not how much the store grew meanwhile
    (it said "4 record(s) added, -2 already stored" when another workstation added 3 at the same time)."""
    from texturecmp.records import _schema as S

    db = new_store()
    with R.Store(db) as store:
        store.add(_variant(rec, 1))
    f = tmp_path / "two.json"
    f.write_text(R.dumps([_variant(rec, 1), _variant(rec, 2)]))  # one already stored, one new
    others = [_variant(rec, 10 + i) for i in range(3)]
    others = [(R.record_id(r), R.canonical_json(r).encode("utf-8"), r) for r in others]
    real = S.insert_records

    def insert_beside_another_writer(conn, prepared, **kw):
        n = real(conn, prepared, **kw)
        real(conn, others, **kw)  # what another workstation committed meanwhile, as a count of the store sees it
        return n

    monkeypatch.setattr(S, "insert_records", insert_beside_another_writer)
    code, out, err = _cli(["records", "add", str(f), "--db", db])
    assert code == 0 and len(out.split()) == 2
    assert "1 record(s) added, 1 already stored" in err, err
    with R.Store(db) as store:
        assert len(store) == 5


def test_migrate_into_a_store_other_workstations_write_to(tmp_path, new_store, rec, monkeypatch):
    """``records migrate`` verifies its own records: others added to the target meanwhile are no failure
    (the check compared the target's count with its count before plus the copied records)."""
    from texturecmp.records import _schema as S

    src = tmp_path / "room1.db"
    with R.Store(src) as store:
        ids = store.add_many([_variant(rec, i) for i in range(4)])
    dst = new_store("shared")
    with R.Store(dst) as store:
        store.add(_variant(rec, 0))  # one of them is there already
    others = [_variant(rec, 20 + i, subject="OTHER") for i in range(3)]
    others = [(R.record_id(r), R.canonical_json(r).encode("utf-8"), r) for r in others]
    real = S.insert_records

    def insert_beside_another_writer(conn, prepared, **kw):
        n = real(conn, prepared, **kw)
        real(conn, others, **kw)
        return n

    monkeypatch.setattr(S, "insert_records", insert_beside_another_writer)
    code, out, err = _cli(["records", "migrate", str(src), dst])
    assert code == 0, err
    assert "4 record(s) read" in err and "3 added" in err and "1 already there" in err, err
    monkeypatch.setattr(S, "insert_records", real)
    with R.Store(dst) as store:
        assert set(ids) <= set(store.ids()) and len(store) == 7


def test_cli_main_wiring(tmp_path, rec):
    """Once texturecmp.cli wires add_cli, the real entry point runs the same subcommands."""
    from texturecmp import cli

    try:
        cli.build_parser().parse_args(["records", "list", "--db", "x.db"])
    except SystemExit:
        pytest.skip("texturecmp.cli does not have the records command yet")
    f = tmp_path / "rec.json"
    f.write_text(R.dumps(rec))
    assert cli.main(["records", "add", str(f), "--db", str(tmp_path / "m.db")]) == 0


def test_docs_render_every_schema_field():
    doc = (REPO / "docs" / "records.md").read_text(encoding="utf-8")
    defs = R.SCHEMA["$defs"]
    for props in (R.SCHEMA["properties"], *(defs[d]["properties"] for d in
                                            ("photo", "region_object", "metric_value", "change", "baseline", "alignment",
                                             "photometric"))):
        for name in props:
            assert f"| `{name}` |" in doc, name
    for unit, code in R.UCUM.items():
        assert f"| `{code}` |" in doc
