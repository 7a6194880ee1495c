"""A follow-up turned by a quarter turn (portrait against landscape, upside down) or by a
general angle (issue 13): it is measured as the same skin, or it is not comparable; never a
false verdict.

The tile grids follow a shift and a scale, not a rotation (``TileGrid.mapped``): before the
fix a portrait follow-up of a landscape baseline had most tiles outside the photo and read
'improved (-100 %)' on the medium and coarse bands, pores and wrinkles.
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import cv2
import numpy as np
import PIL.Image
import pytest

import texturecmp as tc
from texturecmp.cli import main
from texturecmp.compare import MAX_ROTATION_DEG

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "sample_images" / "series_scar" / "session0_baseline.jpg"
JUDGED = ("improved", "worsened")


@pytest.fixture(scope="module")
def base() -> np.ndarray:
    with PIL.Image.open(SRC) as im:
        return np.asarray(im.convert("RGB"))


def _judged(cmp) -> dict[str, str]:
    return {k: c.verdict for k, c in cmp.changes.items() if c.verdict in JUDGED}


# np.rot90's k -> the rotation registration reports (counter-clockwise as displayed) and the
# words of the warning
TURNS = {1: (90.0, "90 degrees clockwise"), 3: (-90.0, "90 degrees counter-clockwise"), 2: (180.0, "180 degrees")}


@pytest.mark.parametrize("k", [1, 3, 2], ids=["ccw90", "cw90", "180"])
def test_a_quarter_turned_follow_up_is_measured_as_the_same_skin(base, k):
    """Known answer: the follow-up is the baseline's own pixels turned losslessly, so every
    metric is the same and none is judged; the warning says the photo was turned back."""
    turned = np.ascontiguousarray(np.rot90(base, k))
    cmp = tc.compare(base, turned)
    assert cmp.comparable and not _judged(cmp), _judged(cmp)
    rotation, words = TURNS[k]
    assert any(f"was turned by {words} to match the baseline" in w for w in cmp.warnings), cmp.warnings
    # turned back, the pixels measured are the baseline's: the same numbers up to the
    # registration's sub-pixel residual (the grids and regions land on the same pixels)
    for name, c in cmp.changes.items():
        if math.isfinite(c.before) and math.isfinite(c.after) and name != "change.lbp_chi2":
            assert c.after == pytest.approx(c.before, rel=1e-6, abs=1e-9), name
    # the alignment reported is to the file's pixels, as shown: the rotation, and the
    # baseline's top-left pixel lands where np.rot90 put it (1 px: the registration)
    al = cmp.alignment
    assert al.ok and abs(((al.rotation_deg - rotation) + 180) % 360 - 180) < 0.5
    h, w = base.shape[:2]
    corner = {1: (0, w - 1), 3: (h - 1, 0), 2: (w - 1, h - 1)}[k]
    np.testing.assert_allclose(al.map_points([0.0, 0.0]).ravel(), corner, atol=1.0)
    assert al.moving_shape == turned.shape[:2]
    assert (cmp.after.image["height"], cmp.after.image["width"]) == turned.shape[:2]  # the file's provenance


def test_a_turned_follow_up_in_a_series_composes_with_the_others(base):
    """baseline, the baseline turned by 90 degrees, the baseline again: every pair is the same
    skin (vs previous: turned against turned back)."""
    s = tc.compare_series([base, np.ascontiguousarray(np.rot90(base, 1)), base])
    for cmp in s.vs_baseline + s.vs_previous:
        assert cmp.comparable and not _judged(cmp), (cmp.labels, _judged(cmp))
    assert abs(s.vs_previous[0].alignment.rotation_deg + 90.0) < 0.5  # from the turned photo back to the file


def _rotated(base: np.ndarray, angle: float) -> np.ndarray:
    h, w = base.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    return cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("angle", [35.0, 60.0])
def test_a_rotation_the_grid_cannot_follow_is_not_comparable(base, angle):
    """35 and 60 degrees: before, the axis-aligned grid paired tiles of other skin and 60
    degrees read 'texture.band_coarse improved'. Now: not comparable, saying by how much it
    is turned, and no metric judged."""
    cmp = tc.compare(base, _rotated(base, angle))
    assert not cmp.comparable and not _judged(cmp)
    assert f"is turned by {angle:.0f} degrees" in cmp.not_comparable_reason
    assert f"up to {MAX_ROTATION_DEG:.0f} degrees" in cmp.not_comparable_reason


def test_a_small_rotation_is_still_measured(base):
    """15 degrees (within MAX_ROTATION_DEG): measured, nothing judged."""
    cmp = tc.compare(base, _rotated(base, 15.0))
    assert cmp.comparable and not _judged(cmp), _judged(cmp)


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def _exif_turned(tmp_path: Path, orientation: int) -> Path:
    turned = tmp_path / "turned.jpg"
    with PIL.Image.open(SRC) as im:
        exif = PIL.Image.Exif()
        exif[0x0112] = orientation
        im.save(turned, exif=exif.tobytes(), quality=95)
    return turned


def test_cli_says_in_one_line_that_the_portrait_photo_was_turned(tmp_path):
    """EXIF orientation 6 (shown portrait): exit 0, nothing on stderr, the alignment line and one
    warning line say it was turned."""
    rc, out, err = _run(["compare", str(SRC), str(_exif_turned(tmp_path, 6))])
    assert rc == 0 and err == ""
    first = out.splitlines()[0]
    assert "alignment: turned by 90 degrees, then aligned" in first
    lines = [ln for ln in out.splitlines() if "was turned by" in ln]
    assert lines == ["  - photo 'turned.jpg' was turned by 90 degrees counter-clockwise to match the baseline "
                     "(it is portrait and the baseline landscape); it is measured turned"]


def test_batch_row_of_a_turned_photo_is_scored_with_its_warning(tmp_path):
    """A batch (folder manifest) with an upside-down follow-up: no error, no metric judged, the
    warning in the row and the rotation (180 degrees) in rotation_deg."""
    subject = tmp_path / "P01"
    subject.mkdir()
    (subject / "visit0.jpg").write_bytes(SRC.read_bytes())
    _exif_turned(tmp_path, 3).rename(subject / "visit1.jpg")
    df = tc.score_batch(str(tmp_path), jobs=1, progress=False)
    fol = df[df["index"] == 1]
    assert len(fol) and (fol["error"] == "").all()
    assert not fol["verdict"].isin(JUDGED).any(), fol[fol["verdict"].isin(JUDGED)][["metric", "verdict"]]
    assert fol["warnings"].str.contains("was turned by 180 degrees to match the baseline").all()
    assert (abs(abs(fol["rotation_deg"].astype(float)) - 180.0) < 0.5).all()
