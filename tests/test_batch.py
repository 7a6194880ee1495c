"""Tests of batch scoring (texturecmp.batch): manifests, backends, failures, output, resume, CLI.

One small study is rendered once per module: 4 subjects of 256 x 320 skin phantoms saved
as JPEG, three sessions each (one subject has two), with a lesion mask drawn on each
baseline, listed in a CSV manifest with relative paths. The reference table is scored
once in this process (jobs=1) and every other run must reproduce it to the last bit:
local processes, a 2-worker Dask LocalCluster, a resumed run, the folder layout.
The reference run also stores its comparison records (``db``); the other runs that store
records must store exactly the same ones (same ids), and never one twice.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from texturecmp.batch import (COLUMNS, SESSION_COLUMNS, BadManifestError, add_cli, main, read_manifest, read_results,
                              score_batch, to_wide)
from texturecmp._runtime import single_thread_blas
from texturecmp.catalogue import METRICS
from texturecmp.cli import main as cli_main
from texturecmp.compare import COLOUR_TRUTH_METRICS, compare_series
from texturecmp.phantoms import save_image, save_mask, skin_phantom
from texturecmp.records import Store

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (256, 320)
N_METRICS = len(METRICS)
#: subject -> sessions (treatment strength, shift (dx, dy) px, exposure)
STUDY = {
    "P01": [(0.0, (0, 0), 1.0), (0.3, (3, -2), 1.03), (0.6, (-2, 3), 0.98)],
    "P02": [(0.0, (0, 0), 1.0), (0.2, (-3, 1), 1.0), (0.5, (2, 2), 1.04)],
    "P03": [(0.0, (0, 0), 1.0), (0.4, (1, -3), 0.97)],
    "P10": [(0.0, (0, 0), 1.0), (0.3, (2, 1), 1.0), (0.3, (-1, -2), 1.02)],
}
N_PHOTOS = sum(len(v) for v in STUDY.values())
N_FOLLOWUPS = N_PHOTOS - len(STUDY)


def _run(argv: list[str]) -> tuple[int, str]:
    """The batch CLI in-process; returns (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    return rc, err.getvalue()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _write_manifest(path: Path, rows: list[dict], columns: list[str]) -> Path:
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> dict:
    """Photos in study/<subject>/<session>.jpg, a lesion mask per subject, a CSV manifest (relative paths)."""
    root = tmp_path_factory.mktemp("study")
    rows = []
    for si, (subject, sessions) in enumerate(STUDY.items()):
        (root / subject).mkdir()
        for k, (treat, shift, exposure) in enumerate(sessions):
            ph = skin_phantom(SHAPE, seed=si, treatment=treat, shift_px=shift, exposure=exposure, noise_seed=100 * si + k)
            save_image(root / subject / f"visit{k}.jpg", ph.rgb)
            if k == 0:
                save_mask(root / subject / "lesion.png", ph.lesion)
            rows.append({"subject": subject, "session": f"visit{k}", "date": f"2024-{k + 1:02d}-15",
                         "image": f"{subject}/visit{k}.jpg", "lesion": f"{subject}/lesion.png" if k == 0 else ""})
    # file order is not date order: the series must follow the dates
    rows = rows[::-1]
    manifest = _write_manifest(root / "manifest.csv", rows, ["subject", "session", "date", "image", "lesion"])
    return {"root": root, "manifest": manifest, "rows": rows}


@pytest.fixture(scope="module")
def reference(study, tmp_path_factory) -> pd.DataFrame:
    """The study scored in this process (jobs=1), written as CSV, from another working directory; its
    comparison records in a store (``df.attrs["summary"]["db"]``)."""
    folder = tmp_path_factory.mktemp("ref")
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("elsewhere"))  # relative paths resolve against the manifest's folder
    try:
        df = score_batch(str(study["manifest"]), jobs=1, progress=False, output=str(folder / "scores.csv"),
                         db=str(folder / "records.db"))
    finally:
        os.chdir(cwd)
    assert df.attrs["summary"]["failed"] == 0
    return df


def _ids(db) -> list[str]:
    with Store(db) as store:
        return sorted(store.ids())


# ----------------------------------------------------------------------------- the table

def test_reference_table_shape_order_and_content(reference, study):
    df = reference
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == N_PHOTOS * N_METRICS
    assert not df.duplicated(["subject", "session", "metric"]).any()
    assert list(dict.fromkeys(df["subject"])) == ["P01", "P02", "P03", "P10"]  # natural order
    for subject, sessions in STUDY.items():
        g = df[df["subject"] == subject]
        assert list(dict.fromkeys(g["session"])) == [f"visit{k}" for k in range(len(sessions))]  # date order
        assert list(g["metric"].iloc[:N_METRICS]) == list(METRICS)
    assert (df["error"] == "").all()
    base = df[df["index"] == 0]
    assert (base["verdict"] == "baseline").all()
    assert (base["session"] == base["baseline_session"]).all()
    fol = df[df["index"] > 0]
    colour = fol["metric"].isin(COLOUR_TRUTH_METRICS)  # whole-region colour: no colour truth in this study
    assert (fol.loc[colour, "verdict"] == "not comparable").all()
    assert set(fol.loc[~colour, "verdict"]) <= {"improved", "worsened", "changed", "no detectable change", "not computable"}
    assert fol["aligned"].all()
    # the simulated shifts are recovered (to about a pixel); treatment lowers texture roughness
    p01 = fol[(fol["subject"] == "P01") & (fol["metric"] == "texture.sq")].set_index("session")
    assert abs(p01.loc["visit1", "shift_dx"] - 3) < 1.0 and abs(p01.loc["visit1", "shift_dy"] + 2) < 1.0
    assert (p01["delta"] < 0).all() and (p01["verdict"] == "improved").all()
    assert np.allclose(fol["delta"].where(fol["metric"].map(lambda m: METRICS[m].scope == "photo")).dropna(),
                       (fol["value"] - fol["baseline_value"])[fol["metric"].map(lambda m: METRICS[m].scope == "photo")]
                       .dropna(), equal_nan=True)
    # scar metrics use the lesion drawn on the baseline
    assert np.isfinite(df.loc[df["metric"] == "scar.delta_e00", "value"]).all()


def test_numbers_equal_compare_series(reference, study):
    """A subject's batch rows are exactly what compare_series gives for its photos (BLAS on one thread).

    The batch pins BLAS to one thread everywhere: OpenBLAS sums over pixels in a
    thread-count dependent order (a tensordot in the scar family), which can flip a pixel
    at the visibility threshold.
    """
    d = study["root"] / "P02"
    with single_thread_blas():
        ser = compare_series([d / "visit0.jpg", d / "visit1.jpg", d / "visit2.jpg"],
                             labels=["visit0", "visit1", "visit2"], lesion=d / "lesion.png").to_frame()
    got = reference[reference["subject"] == "P02"].merge(ser, on=["session", "metric"], suffixes=("", "_series"))
    assert len(got) == len(ser)
    np.testing.assert_array_equal(got["value"].to_numpy(), got["value_series"].to_numpy())
    fol = got[got["index_series"] > 0]
    np.testing.assert_array_equal(fol["delta"].to_numpy(), fol["delta_vs_baseline"].to_numpy())
    assert list(fol["verdict"]) == list(fol["verdict_vs_baseline"])


def test_to_wide_shape(reference):
    wide = to_wide(reference)
    fields = ("value", "uncertainty", "delta", "percent", "verdict")
    assert wide.shape == (N_PHOTOS, len(SESSION_COLUMNS) + N_METRICS * len(fields))
    assert list(wide.columns[: len(SESSION_COLUMNS)]) == list(SESSION_COLUMNS)
    assert not wide.duplicated(["subject", "session"]).any()
    row = wide[(wide["subject"] == "P01") & (wide["session"] == "visit2")].iloc[0]
    tidy = reference.set_index(["subject", "session", "metric"])
    assert row["texture.sq.delta"] == tidy.loc[("P01", "visit2", "texture.sq"), "delta"]
    assert row["scar.delta_e00.verdict"] == tidy.loc[("P01", "visit2", "scar.delta_e00"), "verdict"]
    assert to_wide(reference, values=["value"]).shape == (N_PHOTOS, len(SESSION_COLUMNS) + N_METRICS)


# ---------------------------------------------------------------------- backends, formats

def test_local_processes_and_dask_give_identical_tables(reference, study, tmp_path):
    """jobs=2 (written as parquet) and a 2-worker Dask LocalCluster (jsonl) reproduce jobs=1 (csv) exactly,
    and store the same records (records built in the workers)."""
    two = score_batch(study["manifest"], jobs=2, progress=False, output=tmp_path / "two.parquet", db=tmp_path / "two.db")
    pd.testing.assert_frame_equal(two, reference)
    assert not (tmp_path / "two.parquet.parts").exists()
    with Store(tmp_path / "dask.db") as store:  # an open Store works too, and stays open
        dask = score_batch(study["manifest"], scheduler="local", jobs=2, progress=False, output=tmp_path / "dask.jsonl",
                           db=store)
        assert len(store) == N_FOLLOWUPS
    pd.testing.assert_frame_equal(dask, reference)
    assert _ids(tmp_path / "two.db") == _ids(tmp_path / "dask.db") == _ids(reference.attrs["summary"]["db"])
    assert two.attrs["summary"]["stored"] == dask.attrs["summary"]["stored"] == N_FOLLOWUPS
    # every line of the jsonl is a whole JSON record without NaN
    lines = (tmp_path / "dask.jsonl").read_text().splitlines()
    assert len(lines) == N_PHOTOS * N_METRICS
    assert all(isinstance(json.loads(x), dict) for x in lines)
    # and the files read back the same
    pd.testing.assert_frame_equal(read_results(tmp_path / "two.parquet"), reference)
    pd.testing.assert_frame_equal(read_results(tmp_path / "dask.jsonl"), reference)


def test_no_output_returns_the_same_table(reference, study):
    df = score_batch(study["manifest"], jobs=1, progress=False)
    pd.testing.assert_frame_equal(df, reference)


# -------------------------------------------------------------------------------- failures

@pytest.fixture(scope="module")
def broken(study, tmp_path_factory) -> dict:
    """The study with a truncated follow-up (P01 visit2), an unreadable baseline (P02 visit0) and a lesion mask
    of the wrong size (P03), run by the CLI."""
    root = tmp_path_factory.mktemp("broken")
    shutil.copytree(study["root"], root, dirs_exist_ok=True)
    data = (root / "P01" / "visit2.jpg").read_bytes()
    (root / "P01" / "visit2.jpg").write_bytes(data[: len(data) // 2])
    (root / "P02" / "visit0.jpg").write_bytes(b"this is not a photo")
    save_mask(root / "P03" / "lesion.png", np.ones((40, 50), bool))
    out = root / "scores.csv"
    rc, err = _run([str(root / "manifest.csv"), "-o", str(out), "--jobs", "1", "--db", str(root / "records.db")])
    return {"rc": rc, "err": err, "df": read_results(out), "db": root / "records.db"}


def test_cli_broken_photo_exit_1_error_recorded_rest_scored(broken, reference):
    assert broken["rc"] == 1, broken["err"]
    df = broken["df"]
    assert len(df) == N_PHOTOS * N_METRICS
    bad = df[(df["subject"] == "P01") & (df["session"] == "visit2")]
    assert (bad["error"].str.startswith("UnreadableImageError: ")).all()
    assert bad["value"].isna().all() and (bad["verdict"] == "not computable").all()
    # the summary line on stderr
    assert f"{N_PHOTOS} photos of 4 subjects" in broken["err"] and "3 failed" in broken["err"]
    # every other photo of the unaffected subjects is scored, identically to the reference
    ok = df[df["subject"].isin(["P01", "P10"]) & ~((df["subject"] == "P01") & (df["session"] == "visit2"))]
    ref = reference.set_index(["subject", "session", "metric"]).loc[
        pd.MultiIndex.from_frame(ok[["subject", "session", "metric"]])]
    assert (ok["error"] == "").all()
    np.testing.assert_array_equal(ok["value"].to_numpy(), ref["value"].to_numpy())
    np.testing.assert_array_equal(ok["delta"].to_numpy(), ref["delta"].to_numpy())


def test_failed_baseline_marks_followups_not_computable(broken, reference):
    df = broken["df"]
    p02 = df[df["subject"] == "P02"]
    base = p02[p02["session"] == "visit0"]
    assert (base["error"].str.startswith("UnreadableImageError")).all()
    fol = p02[p02["index"] > 0]
    assert (fol["error"] == "").all()  # their own photos are fine...
    assert (fol["verdict"] == "not computable").all() and fol["delta"].isna().all()  # ...but not their changes
    assert fol["note"].str.contains("baseline 'visit0' failed").all()
    assert fol["note"].str.contains("UnreadableImageError").all()
    # they are still measured on their own (with the baseline's lesion at the same pixel positions)
    photo = fol["metric"].map(lambda m: METRICS[m].scope == "photo")
    assert np.isfinite(fol.loc[photo & (fol["metric"] == "texture.sq"), "value"]).all()


def test_failed_photos_are_not_stored(broken, reference):
    """Only follow-ups scored against their baseline have records: not P01 visit2 (broken), nor the follow-ups of
    the failed baselines of P02 and P03."""
    with Store(broken["db"]) as store:
        got = sorted((e.subject, e.session) for e in store.entries())
        assert got == [("P01", "visit1"), ("P10", "visit1"), ("P10", "visit2")]
        with Store(reference.attrs["summary"]["db"]) as ref:  # the same records as in the clean run
            assert set(store.ids()) <= set(ref.ids())
    assert "3 new records in" in broken["err"]


def test_broken_baseline_mask_fails_the_baseline_only(broken):
    df = broken["df"]
    p03 = df[df["subject"] == "P03"]
    base = p03[p03["index"] == 0]
    assert (base["error"].str.startswith("BadMaskError: ")).all() and base["error"].str.contains("lesion").all()
    fol = p03[p03["index"] == 1]
    assert (fol["error"] == "").all() and (fol["verdict"] == "not computable").all()
    # the mask does not fit this photo either: measured on the whole photo, and the warning says so
    assert fol["warnings"].str.contains("could not be used").all()
    assert np.isfinite(fol.loc[fol["metric"] == "texture.sq", "value"]).all()
    assert fol.loc[fol["metric"] == "scar.delta_e00", "value"].isna().all()


# ---------------------------------------------------------------------------------- resume

def test_resume_after_kill_completes_without_duplicates_or_gaps(study, reference, tmp_path):
    out, db = tmp_path / "scores.csv", tmp_path / "records.db"
    cmd = [sys.executable, "-m", "texturecmp.batch", str(study["manifest"]), "-o", str(out), "--jobs", "1",
           "--db", str(db)]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_text().count("\n") > N_METRICS:  # header + a whole subject
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the batch finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    partial = read_results(out)
    assert 0 < partial["subject"].nunique() < len(STUDY)
    n_done = len(partial)
    # a crash in the middle of a write leaves at most a partial last line
    with open(out, "a") as fh:
        fh.write("P99,visit0,2024-01-15,0,visit0,/nowhere.jpg,,texture.sa,1.0")
    rc, err = _run([str(study["manifest"]), "-o", str(out), "--resume", "--jobs", "1", "--db", str(db)])
    assert rc == 0, err
    assert f"{n_done // N_METRICS} already in the output" in err
    final = read_results(out)
    assert not final.duplicated(["subject", "session", "metric"]).any()
    pd.testing.assert_frame_equal(final, reference)
    assert _ids(db) == _ids(reference.attrs["summary"]["db"])  # every comparison once, as an uninterrupted run
    # resuming a complete output scores nothing and stores nothing
    rc, err = _run([str(study["manifest"]), "-o", str(out), "--resume", "--db", str(db)])
    assert rc == 0 and f"0 scored, 0 failed, {N_PHOTOS} already in the output" in err and "0 new records" in err
    pd.testing.assert_frame_equal(read_results(out), reference)
    assert len(_ids(db)) == N_FOLLOWUPS


def test_db_holds_the_reference_comparisons(study, reference, tmp_path):
    """One comparison record per follow-up, with the manifest's identifiers and dates and the table's numbers."""
    db = reference.attrs["summary"]["db"]
    assert reference.attrs["summary"]["stored"] == N_FOLLOWUPS
    with Store(db) as store:
        assert store.subjects() == sorted(STUDY) and len(store) == N_FOLLOWUPS
        entries = store.entries()
        assert {e.kind for e in entries} == {"comparison"} and {e.baseline_session for e in entries} == {"visit0"}
        assert sorted((e.subject, e.session) for e in entries) == sorted(
            (subject, f"visit{k}") for subject, sessions in STUDY.items() for k in range(1, len(sessions)))
        for item in store.history("P01"):
            rec = item.record
            k = int(rec["session"][-1])
            assert rec["date"] == f"2024-{k + 1:02d}-15" and rec["baseline"]["date"] == "2024-01-15"
            row = reference[(reference["subject"] == "P01") & (reference["session"] == rec["session"])
                            & (reference["metric"] == "texture.sq")].iloc[0]
            assert rec["changes"]["texture.sq"]["delta"] == row["delta"]
            assert rec["changes"]["texture.sq"]["verdict"] == row["verdict"]
            assert rec["photo"]["sha256"] == row["image_sha256"] and rec["settings_sha256"] == row["settings_sha256"]
    # the records CLI lists them
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli_main(["records", "list", "--db", str(db)]) == 0
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1 + N_FOLLOWUPS and all(("P01" in ln) or ("P02" in ln) or ("P03" in ln) or ("P10" in ln)
                                                 for ln in lines[1:])


def test_stored_count_is_this_batchs_records_while_another_workstation_writes(study, tmp_path, monkeypatch):
    """summary["stored"] counts this batch's new records, not how much a shared store grew meanwhile."""
    import texturecmp as tc
    from texturecmp import records as R
    from texturecmp.records import _schema as S

    p01 = [r for r in study["rows"] if r["subject"] == "P01"]  # 2 follow-ups
    manifest = _write_manifest(study["root"] / "p01.csv", p01, ["subject", "session", "date", "image", "lesion"])
    db = tmp_path / "shared.db"
    with Store(db) as store:
        other = R.measurement_record(tc.measure(skin_phantom(SHAPE, seed=9).rgb), subject="OTHER", session="s0")
        store.add(other)
    others = []
    for i in range(3):
        r = dict(other, session=f"s{i + 1}")
        others.append((R.record_id(r), R.canonical_json(r).encode("utf-8"), r))
    real = S.insert_records

    def insert_beside_another_writer(conn, prepared, **kw):
        n = real(conn, prepared, **kw)
        real(conn, others, **kw)  # what another workstation committed meanwhile
        return n

    monkeypatch.setattr(S, "insert_records", insert_beside_another_writer)
    df = score_batch(str(manifest), jobs=1, progress=False, db=str(db))
    assert df.attrs["summary"]["stored"] == 2
    with Store(db) as store:
        assert len(store) == 1 + 2 + 3


def test_resume_into_a_new_db_scores_what_the_store_lacks(study, reference, tmp_path):
    """OUT complete, store empty: --resume --db scores every subject again (same table) and stores them all."""
    out, db = tmp_path / "scores.csv", tmp_path / "new.db"
    out.write_text(reference.to_csv(index=False))
    with Store(db) as store:  # one subject's records are already there
        with Store(reference.attrs["summary"]["db"]) as ref:
            store.add_many([h.record for h in ref.history("P03")])
    rc, err = _run([str(study["manifest"]), "-o", str(out), "--resume", "--jobs", "1", "--db", str(db)])
    assert rc == 0, err
    assert f"{len(STUDY['P03'])} already in the output" in err and f"{N_FOLLOWUPS - 1} new records" in err
    pd.testing.assert_frame_equal(read_results(out), reference)
    assert _ids(db) == _ids(reference.attrs["summary"]["db"])


@pytest.mark.parametrize("column, value, expected", [
    ("date", "2024-01-15T10:30:00", "has no time zone"),
    ("subject", "P" * 130, "1-128 characters"),
])
def test_db_needs_record_identifiers_and_dates(study, tmp_path, column, value, expected):
    rows = _rows(study)
    rows[1][column] = value
    m = _write_manifest(tmp_path / "m.csv", rows, ["subject", "session", "date", "image", "lesion"])
    rc, err = _run([str(m), "-o", str(tmp_path / "out.csv"), "--db", str(tmp_path / "r.db")])
    assert rc == 2 and "line 3" in err and f"column '{column}'" in err and expected in err, err
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "r.db").exists()


def test_resume_with_other_settings_is_refused(reference, tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text(reference.to_csv(index=False))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"z": 2.5}))
    manifest = tmp_path / "m.csv"
    _write_manifest(manifest, [{"subject": r.subject, "session": r.session, "image": r.image}
                               for r in reference.drop_duplicates(["subject", "session"]).itertuples()],
                    ["subject", "session", "image"])
    rc, err = _run([str(manifest), "-o", str(out), "--resume", "--settings", str(settings)])
    assert rc == 2 and "other settings" in err


def test_resume_parquet_keeps_parts_of_an_interrupted_run(study, reference, tmp_path):
    """Parquet part files left by an interrupted run count as done; the final file has everything once."""
    out = tmp_path / "scores.parquet"
    parts = tmp_path / "scores.parquet.parts"
    parts.mkdir()
    keep = reference[reference["subject"].isin(["P01", "P03"])]
    for subject, g in keep.groupby("subject"):
        g.to_parquet(parts / f"part-{subject}.parquet", index=False)
    partial = read_results(out)
    pd.testing.assert_frame_equal(partial, keep.reset_index(drop=True))
    df = score_batch(study["manifest"], jobs=1, progress=False, output=out, resume=True)
    assert df.attrs["summary"]["skipped"] == len(STUDY["P01"]) + len(STUDY["P03"])
    pd.testing.assert_frame_equal(df, reference)
    assert not parts.exists()


# ------------------------------------------------------------------------- manifests, CLI

def _bad(tmp_path, rows: list[dict], columns: list[str]) -> tuple[int, str]:
    m = _write_manifest(tmp_path / "m.csv", rows, columns)
    return _run([str(m), "-o", str(tmp_path / "out.csv")])


def _rows(study, n: int = 3) -> list[dict]:
    return [{**r, "image": str(study["root"] / r["image"]), "lesion": ""} for r in study["rows"][:n]]


def test_bad_manifest_missing_column(study, tmp_path):
    rc, err = _bad(tmp_path, _rows(study), ["subject", "date", "image"])
    assert rc == 2 and "line 1" in err and "missing column 'session'" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_manifest_missing_file(study, tmp_path):
    rows = _rows(study)
    rows[1]["image"] = str(study["root"] / "nowhere.jpg")
    rc, err = _bad(tmp_path, rows, ["subject", "session", "date", "image"])
    assert rc == 2 and "line 3" in err and "'image'" in err and "file not found" in err and "nowhere.jpg" in err


def test_bad_manifest_duplicate_subject_session(study, tmp_path):
    rows = _rows(study)
    rows.append(dict(rows[0]))
    rc, err = _bad(tmp_path, rows, ["subject", "session", "date", "image"])
    assert rc == 2 and "line 5" in err and "duplicate subject/session" in err and "line 2" in err


@pytest.mark.parametrize("column, value, expected", [
    ("date", "15/03/2024", "cannot read the date"),
    ("pixel_size_mm", "0,05mm", "pixel_size_mm must be a number"),
    ("baseline", "maybe", "baseline must be"),
    ("subject", "", "empty subject"),
])
def test_bad_manifest_values_name_line_and_column(study, tmp_path, column, value, expected):
    rows = _rows(study)
    for r in rows:
        r.setdefault("pixel_size_mm", "")
        r.setdefault("baseline", "")
    rows[2][column] = value
    m = _write_manifest(tmp_path / "m.csv", rows, ["subject", "session", "date", "image", "pixel_size_mm", "baseline"])
    with pytest.raises(BadManifestError) as ei:
        read_manifest(m)
    assert ei.value.line == 4 and ei.value.column == column
    assert "line 4" in str(ei.value) and f"'{column}'" in str(ei.value) and expected in str(ei.value)


def test_bad_manifest_typo_column_and_mixed_dates(study, tmp_path):
    rows = _rows(study)
    m = _write_manifest(tmp_path / "m.csv", rows, ["subject", "sesion", "date", "image"])
    with pytest.raises(BadManifestError, match="did you mean 'session'"):
        read_manifest(m)
    rows = [r for r in _rows(study, len(study["rows"])) if r["subject"] == "P01"]
    rows[1]["date"] = ""
    m = _write_manifest(tmp_path / "m2.csv", rows, ["subject", "session", "date", "image"])
    with pytest.raises(BadManifestError, match="has dates on other rows") as ei:
        read_manifest(m)
    assert ei.value.column == "date"


def test_manifest_order_baseline_column_and_dataframe(study, tmp_path):
    man = read_manifest(study["manifest"])
    assert [s.subject for s in man.subjects] == ["P10", "P03", "P02", "P01"]  # first appearance in the file
    p01 = man.subjects[-1]
    assert [p.session for p in p01.photos] == ["visit0", "visit1", "visit2"]  # date order, not file order
    assert p01.baseline.lesion == str(study["root"] / "P01" / "lesion.png")  # resolved against the CSV's folder
    assert all(os.path.isabs(p.image) for s in man.subjects for p in s.photos)
    # a baseline column overrides the date order; file order without dates
    rows = [{"subject": "A", "session": s, "image": str(study["root"] / "P01" / f"{s}.jpg"), "baseline": b}
            for s, b in (("visit2", ""), ("visit0", ""), ("visit1", "yes"))]
    m = read_manifest(pd.DataFrame(rows))
    assert [p.session for p in m.subjects[0].photos] == ["visit1", "visit2", "visit0"]
    # a DataFrame with relative paths resolves them against root
    df = pd.read_csv(study["manifest"], keep_default_na=False)
    def content(m):
        return [(s.subject, [(p.session, p.image, p.date, p.lesion) for p in s.photos]) for s in m.subjects]

    from_frame = read_manifest(df, root=study["root"])
    assert content(from_frame) == content(man)
    assert from_frame.subjects[0].photos[0].line == 3 and man.subjects[0].photos[0].line == 4  # row vs file line
    with pytest.raises(BadManifestError, match="row 1, column 4 'image'"):
        read_manifest(df)  # relative to the current directory: not found


def test_folder_layout(study, reference, tmp_path):
    """ROOT/SUBJECT/SESSION.jpg with lesion.png beside: same numbers as the CSV manifest."""
    root = tmp_path / "layout"
    (root / "P01").mkdir(parents=True)
    (root / "P03").mkdir()
    for name in ("visit0.jpg", "visit1.jpg", "visit2.jpg", "lesion.png"):
        shutil.copy(study["root"] / "P01" / name, root / "P01" / name)
    # session names that are dates become the date column; a per-session mask SESSION.lesion.png
    shutil.copy(study["root"] / "P03" / "visit0.jpg", root / "P03" / "2024-01-15.jpg")
    shutil.copy(study["root"] / "P03" / "visit1.jpg", root / "P03" / "2024-02-15.jpg")
    shutil.copy(study["root"] / "P03" / "lesion.png", root / "P03" / "2024-01-15.lesion.png")
    (root / "notes.txt").write_text("ignored")
    man = read_manifest(root)
    assert [s.subject for s in man.subjects] == ["P01", "P03"]
    assert [p.session for p in man.subjects[1].photos] == ["2024-01-15", "2024-02-15"]
    assert man.subjects[1].baseline.lesion.endswith("2024-01-15.lesion.png")
    assert man.subjects[1].photos[1].date == "2024-02-15"
    df = score_batch(str(root), jobs=1, progress=False)
    assert len(df) == 5 * N_METRICS and (df["error"] == "").all()
    for subject, sessions in (("P01", ["visit0", "visit1", "visit2"]), ("P03", ["visit0", "visit1"])):
        got = df[df["subject"] == subject]
        ref = reference[reference["subject"] == subject]
        np.testing.assert_array_equal(got["value"].to_numpy(), ref["value"].to_numpy())
        np.testing.assert_array_equal(got["delta"].to_numpy(), ref["delta"].to_numpy())


def test_add_cli_wires_into_a_parser():
    import argparse

    ap = argparse.ArgumentParser(prog="texturecmp")
    sub = ap.add_subparsers(dest="command", required=True)
    p = add_cli(sub)
    args = ap.parse_args(["batch", "m.csv", "-o", "out.parquet", "--jobs", "3", "--scheduler", "local",
                          "--format", "parquet", "--resume", "--settings", "s.toml", "--db", "r.db"])
    assert p.prog.endswith("batch") and callable(args.func)
    assert (args.manifest, args.output, args.jobs, args.scheduler, args.format, args.resume, args.settings,
            args.db) == ("m.csv", "out.parquet", 3, "local", "parquet", True, "s.toml", "r.db")
    with pytest.raises(SystemExit):
        with contextlib.redirect_stderr(io.StringIO()):
            ap.parse_args(["batch", "m.csv", "-o", "x.csv", "--jobs", "0"])


def test_bad_options(study, tmp_path):
    with pytest.raises(ValueError, match="resume: needs an output"):
        score_batch(study["manifest"], resume=True, progress=False)
    with pytest.raises(ValueError, match="cannot tell the format"):
        score_batch(study["manifest"], output=tmp_path / "x.xlsx", progress=False)
    with pytest.raises(ValueError, match="jobs"):
        score_batch(study["manifest"], jobs=0, progress=False)
    rc, err = _run([str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv")])
    assert rc == 2 and "manifest not found" in err


def _descendants(pid: int) -> list:
    psutil = pytest.importorskip("psutil")
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(procs: list) -> list:
    import psutil

    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def _has_loaded(pid: int, name: str) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as fh:
            return name in fh.read()
    except OSError:
        return False


def test_workers_end_when_the_batch_is_killed(study, tmp_path):
    # after kill -9 of the batch, its 2 workers and the resource tracker lived on (re-parented
    # to init, ~210 MB each) and held the caller's stderr pipe open
    cmd = [sys.executable, "-m", "texturecmp", "batch", str(study["manifest"]), "-o", str(tmp_path / "s.csv"),
           "--jobs", "2"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    children: list = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            children = _descendants(proc.pid)
            workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
            # OpenCV loaded: the worker has unpickled its initialiser, which runs next
            if len(workers) >= 2 and all(_has_loaded(w.pid, "cv2") for w in workers):
                break
            time.sleep(0.05)
        assert proc.poll() is None and len(workers) >= 2, "no worker processes to watch"
        time.sleep(0.5)
        children = _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as a user or the OOM killer would
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10  # at once by the signal; the watching thread checks every second
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(children) == [], [" ".join(p.cmdline()) for p in _alive(children)]
        proc.stderr.read()  # end of file: nothing holds the pipe any more
    finally:
        for p in _alive(children):
            p.kill()
        proc.stderr.close()


def test_score_batch_from_a_plain_script_without_main_guard(study, tmp_path):
    # 'spawn' re-ran such a script in every worker: 4 tracebacks and every row "BrokenProcessPool"
    script = tmp_path / "plain_script.py"
    script.write_text(
        "import sys\n"
        "import texturecmp as tc\n"
        "print('script body runs', flush=True)\n"
        "table = tc.score_batch(sys.argv[1], jobs=2, progress=False)\n"
        "print('rows', len(table), 'errors', int((table['error'] != '').sum()))\n"
    )
    r = subprocess.run([sys.executable, str(script), str(study["manifest"])], capture_output=True, text=True,
                       env=_env(), cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "BrokenProcessPool" not in r.stdout + r.stderr
    assert r.stdout.count("script body runs") == 1  # the workers do not run the script
    assert f"rows {N_PHOTOS * N_METRICS} errors 0" in r.stdout
