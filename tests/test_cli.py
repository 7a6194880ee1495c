"""Tests of the ``texturecmp`` command line (texturecmp.cli).

The commands run in-process through ``texturecmp.cli.main([...])``; one bad input and the
``metrics`` command also run as real subprocesses (``python -m texturecmp``) to prove
that the user sees one error line and no traceback. Each compare/series run takes a few
seconds on the 1024 x 768 sample images, so each is run once per module and shared.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from texturecmp.catalogue import METRICS
from texturecmp.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"
PAIR = SAMPLES / "retake_pair"
SERIES = SAMPLES / "series_scar"
VERDICTS = ("improved", "worsened", "changed", "no detectable change", "not computable", "not comparable")
PHOTO_METRICS = [n for n, m in METRICS.items() if m.scope == "photo"]
# PNG chunks that carry metadata (text, EXIF, time, ICC profile, physical size)
METADATA_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"iCCP", b"pHYs"}


def _run(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in-process, capturing stdout and stderr (usable in module-scoped fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _png_chunks(data: bytes) -> list[bytes]:
    """Chunk types of a PNG file, checking the signature and every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, types = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(ctype + body) & 0xFFFFFFFF == crc, f"bad CRC in chunk {ctype!r}"
        types.append(ctype)
        pos += 12 + length
    assert types[0] == b"IHDR" and types[-1] == b"IEND"
    return types


def _metric_rows(stdout: str) -> dict[str, str]:
    """metric name -> its table line, for the lines of a compare table."""
    rows = {}
    for line in stdout.splitlines():
        name = line.split(" ", 1)[0]
        if name in METRICS:
            rows[name] = line
    return rows


def _reject_constant(name: str):
    raise AssertionError(f"JSON contains the non-standard constant {name}")


# --------------------------------------------------------------------------------- metrics

def test_metrics_lists_every_catalogue_name(capsys):
    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert listed == list(METRICS)


def test_metrics_markdown_is_the_catalogue_table(capsys):
    from texturecmp.catalogue import metrics_table

    assert main(["metrics", "--markdown"]) == 0
    assert capsys.readouterr().out == metrics_table(markdown=True)


def test_metrics_json(capsys):
    assert main(["metrics", "--json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=_reject_constant)
    assert list(data) == list(METRICS)
    for name, entry in data.items():
        info = METRICS[name]
        assert entry["name"] == name
        assert (entry["family"], entry["unit"], entry["unit_px"], entry["better"], entry["scope"]) == (
            info.family, info.unit, info.unit_px, info.better, info.scope)
        assert entry["definition"] and entry["reference"]


def test_metrics_as_subprocess():
    r = subprocess.run([sys.executable, "-m", "texturecmp", "metrics", "--json"], capture_output=True, text=True,
                       env=_subprocess_env(), cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert list(json.loads(r.stdout)) == list(METRICS)


# --------------------------------------------------------------------------------- compare

@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    out_json, maps = tmp / "out.json", tmp / "maps"
    rc, stdout, stderr = _run(["compare", str(PAIR / "baseline.jpg"), str(PAIR / "retake.jpg"),
                               "--lesion", str(PAIR / "lesion.png"), "--json", str(out_json), "--maps", str(maps)])
    return {"rc": rc, "stdout": stdout, "stderr": stderr, "json": out_json, "maps": maps}


def test_compare_succeeds_quietly(compared):
    assert compared["rc"] == 0, compared["stderr"]
    assert "Traceback" not in compared["stderr"]
    assert "texturecmp: error" not in compared["stderr"]


def test_compare_prints_a_table_with_verdicts(compared):
    out = compared["stdout"]
    assert "baseline.jpg -> retake.jpg" in out
    assert "alignment:" in out and "photometric correction" in out
    rows = _metric_rows(out)
    assert set(rows) == set(METRICS), f"metrics missing from the table: {sorted(set(METRICS) - set(rows))}"
    for name, line in rows.items():
        assert line.rstrip().endswith(VERDICTS), f"no verdict at the end of the row of {name}: {line!r}"
    # the retake pair shows the same untreated skin: the scar colour must not be called improved/worsened
    assert rows["scar.delta_e00"].rstrip().endswith("no detectable change")


def test_compare_writes_valid_json(compared):
    with open(compared["json"], encoding="utf-8") as fh:
        data = json.load(fh, parse_constant=_reject_constant)  # NaN / Infinity are not JSON
    assert data["kind"] == "comparison"
    assert set(data["changes"]) == set(METRICS)
    for name, ch in data["changes"].items():
        assert ch["metric"] == name
        assert ch["verdict"] in VERDICTS
        assert isinstance(ch["detectable"], bool)
        assert ch["better"] == METRICS[name].better
    prov = data["provenance"]
    assert prov["settings_sha256"] and prov["texturecmp_version"]
    assert [im["sha256"] for im in prov["images"]] == [
        hashlib.sha256((PAIR / f).read_bytes()).hexdigest() for f in ("baseline.jpg", "retake.jpg")]
    assert data["alignment"]["ok"] is True


def test_compare_writes_png_maps_without_metadata(compared):
    maps = compared["maps"]
    files = sorted(maps.glob("*.png"))
    names = {f.name for f in files}
    assert {"before.png", "after_aligned.png", "delta_e00.png", "texture_change.png"} <= names
    assert "maps written:" in compared["stdout"]
    for f in files:
        data = f.read_bytes()
        chunks = _png_chunks(data)
        assert not METADATA_CHUNKS & set(chunks), f"{f.name} carries metadata chunks {METADATA_CHUNKS & set(chunks)}"
        with PIL.Image.open(io.BytesIO(data)) as im:
            im.load()
            assert im.format == "PNG"
            assert "exif" not in im.info and not getattr(im, "text", {})
            arr = np.asarray(im)
        assert arr.ndim in (2, 3) and min(arr.shape[:2]) >= 64
        assert max(arr.shape[:2]) <= 768  # map_max_side


# ---------------------------------------------------------------------------------- series

@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("series")
    images = sorted(str(p) for p in SERIES.glob("*.jpg"))
    out_csv = tmp / "series.csv"
    rc, stdout, stderr = _run(["series", *images, "--lesion", str(SERIES / "lesion.png"), "--csv", str(out_csv)])
    return {"rc": rc, "stdout": stdout, "stderr": stderr, "csv": out_csv, "images": images}


def test_series_writes_one_csv_row_per_session_and_metric(series_csv):
    assert series_csv["rc"] == 0, series_csv["stderr"]
    assert "Traceback" not in series_csv["stderr"]
    sessions = [Path(p).name for p in series_csv["images"]]
    assert sessions == ["session0_baseline.jpg", "session1.jpg", "session2.jpg"]
    with open(series_csv["csv"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    keys = [(r["session"], r["metric"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate session x metric rows"
    assert set(keys) == {(s, m) for s in sessions for m in PHOTO_METRICS}
    assert len(rows) == len(sessions) * len(PHOTO_METRICS)
    for r in rows:
        if r["session"] == sessions[0]:
            assert r["verdict_vs_baseline"] == ""
        else:
            assert r["verdict_vs_baseline"] in VERDICTS


def test_series_prints_a_table_per_follow_up(series_csv):
    out = series_csv["stdout"]
    assert "session0_baseline.jpg -> session1.jpg" in out
    assert "session0_baseline.jpg -> session2.jpg" in out


# --------------------------------------------------------------------------------- measure

def test_measure_prints_every_photo_metric(capsys):
    assert main(["measure", str(PAIR / "baseline.jpg")]) == 0
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    printed = {line.split()[0] for line in cap.out.splitlines()[1:] if line.startswith("  ") and line.split()}
    assert set(PHOTO_METRICS) <= printed
    # without a lesion the scar metrics are NaN with a note, not an error
    scar_line = next(line for line in cap.out.splitlines() if line.split()[:1] == ["scar.delta_e00"])
    assert "needs a lesion" in scar_line


# ------------------------------------------------------------------------------- bad input

@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    text = tmp / "notes.jpg"
    text.write_text("this is not a photo\n")
    empty = tmp / "empty.jpg"
    empty.write_bytes(b"")
    small_mask = tmp / "small_mask.png"
    PIL.Image.fromarray(np.full((100, 120), 255, np.uint8)).save(small_mask)
    settings = tmp / "settings.json"
    settings.write_text(json.dumps({"detail_sigma_mm": 2.0, "no_such_setting": 1}))
    return {"text": text, "empty": empty, "small_mask": small_mask, "settings": settings, "missing": tmp / "missing.jpg"}


BAD_CASES = {
    "missing file": lambda f: ["measure", str(f["missing"])],
    "missing follow-up": lambda f: ["compare", str(PAIR / "baseline.jpg"), str(f["missing"])],
    "text file named .jpg": lambda f: ["measure", str(f["text"])],
    "empty file": lambda f: ["compare", str(f["empty"]), str(PAIR / "retake.jpg")],
    "lesion mask of the wrong size": lambda f: ["compare", str(PAIR / "baseline.jpg"), str(PAIR / "retake.jpg"),
                                                "--lesion", str(f["small_mask"])],
    "unknown setting": lambda f: ["measure", str(PAIR / "baseline.jpg"), "--settings", str(f["settings"])],
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_gives_one_error_line(case, bad_files, capsys):
    rc = main(BAD_CASES[case](bad_files))
    cap = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in cap.err
    lines = cap.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("texturecmp: error: ")
    assert cap.out == ""


def test_bad_input_messages_say_what_is_wrong(bad_files, capsys):
    expected = {"missing file": "no such file", "text file named .jpg": "not an image", "empty file": "empty",
                "lesion mask of the wrong size": "120x100", "unknown setting": "no_such_setting"}
    for case, words in expected.items():
        main(BAD_CASES[case](bad_files))
        err = capsys.readouterr().err
        assert words in err, f"{case}: {err!r}"


def test_bad_input_as_subprocess_has_no_traceback(bad_files):
    r = subprocess.run([sys.executable, "-m", "texturecmp", "measure", str(bad_files["text"])], capture_output=True,
                       text=True, env=_subprocess_env(), cwd=ROOT, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("texturecmp: error: "), lines
    assert r.stdout == ""


# ----------------------------------------------------------------------------- one line on stderr, whatever the library


def _sof_height(jpeg: bytes, height: int) -> bytes:
    i = jpeg.find(b"\xff\xc0")
    return jpeg[: i + 5] + struct.pack(">H", height) + jpeg[i + 7:]


@pytest.fixture(scope="module")
def damaged_files(tmp_path_factory) -> dict[str, Path]:
    """Files whose decoders talk: libjpeg on fd 2, libtiff on fd 2, libheif in several lines."""
    d = tmp_path_factory.mktemp("damaged")
    rng = np.random.default_rng(5)
    img = PIL.Image.fromarray(rng.integers(0, 256, (160, 200, 3), dtype=np.uint8))
    out: dict[str, Path] = {}

    def save(name: str, data: bytes) -> None:
        out[name] = d / name
        out[name].write_bytes(data)

    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    jpeg = buf.getvalue()
    save("cut.jpg", jpeg[: len(jpeg) // 2] + b"\xff\xd9")  # libjpeg: "Corrupt JPEG data: premature end..."
    save("tall.jpg", _sof_height(jpeg, 320))
    buf = io.BytesIO()
    img.save(buf, "TIFF", compression="tiff_lzw")
    tiff = buf.getvalue()
    (ifd,) = struct.unpack("<I", tiff[4:8])
    (n,) = struct.unpack("<H", tiff[ifd:ifd + 2])
    tall = bytearray(tiff)
    for k in range(n):
        e = ifd + 2 + 12 * k
        if struct.unpack("<H", tiff[e:e + 2])[0] == 257:  # ImageLength, SHORT
            tall[e + 8:e + 10] = struct.pack("<H", 320)
    save("tall.tif", bytes(tall))  # libtiff: "LZWDecode: Not enough data at scanline ..."
    buf = io.BytesIO()
    img.save(buf, "HEIF", quality=80)
    heic = buf.getvalue()
    save("cut.heic", heic[: len(heic) * 2 // 3])  # libheif: a message ending in a newline
    # a valid photo whose EXIF has a tag pointing past its end (a Pillow UserWarning)
    exif = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHII", 0x010E, 2, 1000, 99999) + b"\0\0\0\0"
    buf = io.BytesIO()
    PIL.Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(buf, "JPEG", exif=b"Exif\0\0" + exif)
    save("odd_exif.jpg", buf.getvalue())
    return out


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "texturecmp", *args], capture_output=True, text=True,
                          env=_subprocess_env(), cwd=ROOT, timeout=timeout)


@pytest.mark.parametrize("name, says", [
    ("cut.jpg", "cut.jpg: image is truncated or corrupt"),
    ("tall.jpg", "tall.jpg: image is truncated or corrupt"),
    ("tall.tif", "tall.tif: image is truncated or corrupt"),
    ("cut.heic", "cut.heic: image is truncated or corrupt"),
])
def test_damaged_photo_gives_exactly_one_line_on_stderr(damaged_files, name, says):
    r = _cli("measure", str(damaged_files[name]))
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"texturecmp: error: {says}"), r.stderr
    assert r.stdout == ""


def test_library_warnings_of_a_valid_photo_stay_off_stderr(damaged_files):
    r = _cli("measure", str(damaged_files["odd_exif.jpg"]))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # Pillow's "Tag data larger than file" UserWarning is not shown
    assert "texture.sq" in r.stdout


def test_device_input_is_refused_in_one_line():
    # reading /dev/zero whole ended in a MemoryError traceback
    r = _cli("measure", "/dev/zero")
    assert r.returncode == 2
    assert r.stderr == "texturecmp: error: zero: is a device, not an image file; give the path of a photo file (/dev/zero)\n"


def test_fifo_input_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    r = _cli("measure", str(fifo), timeout=60)  # opening it for reading blocked until a writer came
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "photo.jpg: is a FIFO (named pipe), not an image file" in r.stderr


def test_unexpected_exception_is_one_line_not_a_traceback(monkeypatch):
    import texturecmp.cli as cli

    def broken(args):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(cli, "_cmd_metrics", broken)
    rc, out, err = _run(["metrics"])
    assert rc == 1
    assert err == "texturecmp: error: internal error (ZeroDivisionError: float division by zero); please report it\n"


def test_compare_leads_with_the_holm_summary():
    rc, out, _ = _run(["compare", str(SERIES / "session0_baseline.jpg"), str(SERIES / "session2.jpg"),
                       "--lesion", str(SERIES / "lesion.png")])
    assert rc == 0
    summary = out.split("summary (headline metrics, Holm's family-wise rule at 5 %):")[1].split("\n[")[0]
    assert "scar.delta_e00" in summary and "improved" in summary


def test_compare_of_a_blank_follow_up_says_not_comparable(tmp_path):
    black = tmp_path / "black.png"
    PIL.Image.new("RGB", (1024, 768)).save(black)
    rc, out, err = _run(["compare", str(SERIES / "session0_baseline.jpg"), str(black)])
    assert rc == 0, err
    assert "NOT COMPARABLE: photo 'black.png' is blank" in out
    table = out.split("[texture]")[1]
    assert "improved" not in table and "worsened" not in table and "not comparable" in table


@pytest.mark.parametrize("orientation", [6, 3])
def test_the_same_photo_shown_turned_is_never_judged_changed(tmp_path, orientation):
    """One JPEG's pixels saved again with EXIF orientation 6 (shown portrait, 768 x 1024) or 3 (upside
    down): the same skin. (Small turns are fine: 5 degrees, resampled with Lanczos, judges nothing.)

    Known answer: nothing changed, so no metric may be 'improved' or 'worsened'; saying the
    photo is portrait and the baseline landscape (not comparable) is also right.
    """
    src = SERIES / "session0_baseline.jpg"
    turned = tmp_path / "turned.jpg"
    with PIL.Image.open(src) as im:
        exif = PIL.Image.Exif()
        exif[0x0112] = orientation
        im.save(turned, exif=exif.tobytes(), quality=95)
    rc, out, err = _run(["compare", str(src), str(turned)])
    assert rc in (0, 2), err
    judged = {name: row.split()[-1] for name, row in _metric_rows(out).items()}
    assert not [n for n, v in judged.items() if v in ("improved", "worsened")], out
