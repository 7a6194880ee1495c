"""Real photos end to end: the ISIC (CC0) dermoscopy crops in the shared data and skimage's astronaut.

Each photo is measured, and compared with itself re-encoded as JPEG q85, with an ellipse
"lesion" in the middle. Every texture, colour and scar value must be finite; a metric may
be NaN only when its note says why (e.g. no pores in a dermoscopy crop).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image as PILImage

import texturecmp as tc
from texturecmp.compare import COLOUR_TRUTH_METRICS

from conftest import find_shared, finite, photo_metrics

ISIC = ["ISIC_0000000.jpg", "ISIC_0000001.jpg", "ISIC_0000002.jpg", "ISIC_0000004.jpg"]
PHOTOS = ISIC + ["astronaut"]
MUST_BE_FINITE = [n for n in photo_metrics() if n.split(".")[0] in ("texture", "color", "scar")]


def _source(name: str):
    if name == "astronaut":
        skdata = pytest.importorskip("skimage.data")
        return skdata.astronaut()
    shared = find_shared()
    if shared is None:
        pytest.skip("shared data folder not found (../shared next to the repository, or /work/shared)")
    path = shared / "data" / "real" / "isic_uda1_cc0" / name
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


def _jpeg85(src) -> bytes:
    im = PILImage.open(src) if isinstance(src, Path) else PILImage.fromarray(src)
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=85)
    return buf.getvalue()


_results: dict[str, tuple] = {}


def run(name: str):
    """(image, lesion, measurement, comparison) of one photo, computed once per session."""
    if name not in _results:
        src = _source(name)
        img = tc.load_image(src)
        h, w = img.shape
        lesion = tc.Ellipse((w - 1) / 2, (h - 1) / 2, w / 8, h / 10)
        m = tc.measure(img, lesion=lesion)
        c = tc.compare(src, _jpeg85(src), lesion=lesion, labels=("original", "jpeg q85"))
        _results[name] = (img, lesion, m, c)
    return _results[name]


@pytest.mark.parametrize("photo", PHOTOS)
def test_measure_gives_finite_values(photo):
    _, _, m, _ = run(photo)
    assert list(m.metrics) == photo_metrics()
    for name in MUST_BE_FINITE:
        mv = m.metrics[name]
        assert finite(mv.value), f"{name}: {mv}"
        assert finite(mv.uncertainty) and mv.uncertainty >= 0, f"{name}: {mv}"


@pytest.mark.parametrize("photo", PHOTOS)
def test_nan_only_with_a_reason(photo):
    _, _, m, c = run(photo)
    for name, mv in m.metrics.items():
        if not finite(mv.value):
            assert mv.note, f"{name} is NaN without a note"
    for name, ch in c.changes.items():
        if not finite(ch.delta):
            assert ch.note and ch.verdict == "not computable", f"{name}: {ch}"


@pytest.mark.parametrize("photo", PHOTOS)
def test_compare_with_a_recompressed_copy(photo):
    img, lesion, m, c = run(photo)
    assert c.alignment.ok, c.alignment.message
    assert abs(c.alignment.shift_px[0]) < 0.5 and abs(c.alignment.shift_px[1]) < 0.5
    assert abs(c.alignment.rotation_deg) < 0.1
    assert c.photometric.exposure_ratio == pytest.approx(1.0, abs=0.02)
    for name in MUST_BE_FINITE:
        ch = c.changes[name]
        assert finite(ch.before) and finite(ch.after) and finite(ch.delta), f"{name}: {ch}"
        if name in COLOUR_TRUTH_METRICS:  # no colour chart, colour reference or fixed light: not judged
            assert ch.verdict == "not comparable", f"{name}: {ch}"
            continue
        assert finite(ch.uncertainty) and finite(ch.threshold), f"{name}: {ch}"
    # the baseline of the comparison is the photo measured alone
    for name in MUST_BE_FINITE:
        assert c.changes[name].before == pytest.approx(m.value(name), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("photo", PHOTOS)
def test_recompression_barely_moves_the_scar_colour(photo):
    _, _, _, c = run(photo)
    assert abs(c.changes["scar.delta_e00"].delta) < 0.5
    assert abs(c.changes["color.L"].delta) < 0.5


@pytest.mark.parametrize("photo", PHOTOS)
def test_records_are_strict_json(photo):
    _, lesion, m, c = run(photo)
    md = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert md["provenance"]["regions"]["lesion"]["shape"] == lesion.to_dict()
    json.dumps(c.to_dict(), allow_nan=False)


@pytest.mark.parametrize("photo", ISIC)
def test_isic_provenance_is_the_file_hash(photo):
    import hashlib

    _, _, m, _ = run(photo)
    path = _source(photo)
    assert m.image["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (m.image["width"], m.image["height"]) == (250, 250)
