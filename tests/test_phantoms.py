"""Tests of the synthetic skin phantoms (texturecmp.phantoms) and the shipped samples."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from texturecmp.errors import BadSettingsError
from texturecmp.phantoms import (
    Phantom,
    SkinParams,
    jpeg_roundtrip,
    nuisance_retake,
    save_image,
    save_mask,
    skin_phantom,
    to_uint8,
)

SHAPE = (240, 320)
REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_images"

# a skin with only grain (and the scar), for clean texture measurements
PLAIN = SkinParams(pore_density=0.0, wrinkle_count=0, microrelief_depth=0.0, mottling_amplitude=0.0, noise_sd=0.0)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)


def _lin(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _ring(mask: np.ndarray, inner: int, outer: int) -> np.ndarray:
    k_out = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * outer + 1, 2 * outer + 1))
    k_in = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inner + 1, 2 * inner + 1))
    m = mask.astype(np.uint8)
    return (cv2.dilate(m, k_out) > 0) & ~(cv2.dilate(m, k_in) > 0)


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.erode(mask.astype(np.uint8), k) > 0


@pytest.fixture(scope="module")
def base() -> Phantom:
    return skin_phantom(SHAPE, seed=3)


# ----------------------------------------------------------------- basics


def test_dtype_shape_range(base: Phantom) -> None:
    assert base.rgb.dtype == np.float32
    assert base.rgb.shape == (*SHAPE, 3)
    assert base.rgb.min() >= 0.0 and base.rgb.max() <= 1.0
    assert base.lesion.dtype == bool and base.lesion.shape == SHAPE
    json.dumps(base.truth)  # JSON-ready


def test_default_size_and_tone() -> None:
    ph = skin_phantom(seed=0)
    assert ph.rgb.shape == (768, 1024, 3)
    mean = ph.rgb[~ph.lesion].mean(axis=0)
    assert np.allclose(mean, (0.80, 0.62, 0.52), atol=0.04)
    assert ph.truth["pore_count"] > 50


def test_determinism(base: Phantom) -> None:
    again = skin_phantom(SHAPE, seed=3)
    assert np.array_equal(base.rgb, again.rgb)
    assert np.array_equal(base.lesion, again.lesion)
    assert base.truth == again.truth


def test_noise_seed_same_scene_different_noise() -> None:
    a = skin_phantom(SHAPE, seed=5, noise_seed=1)
    b = skin_phantom(SHAPE, seed=5, noise_seed=2)
    assert not np.array_equal(a.rgb, b.rgb)
    assert np.array_equal(a.lesion, b.lesion)
    diff = a.rgb - b.rgb
    sd = a.truth["params"]["noise_sd"]
    # the difference is pure noise: std ~ sqrt(2) * noise_sd, no structure
    assert diff.std() == pytest.approx(np.sqrt(2) * sd, rel=0.15)
    other = skin_phantom(SHAPE, seed=6, noise_seed=1)
    assert (a.rgb - other.rgb).std() > 5 * diff.std()


def test_default_noise_seed_differs_between_retakes() -> None:
    a = skin_phantom(SHAPE, seed=5)
    b = skin_phantom(SHAPE, seed=5, exposure=1.02)
    assert a.truth["noise_seed"] != b.truth["noise_seed"]


# ----------------------------------------------------------------- treatment


def test_truth_reflects_treatment() -> None:
    p = SkinParams()
    ph = skin_phantom(SHAPE, seed=1, params=p, treatment=0.5)
    t = ph.truth["params"]
    assert ph.truth["treatment"] == 0.5
    assert t["pore_depth"] == pytest.approx(p.pore_depth / 2)
    assert t["wrinkle_depth"] == pytest.approx(p.wrinkle_depth / 2)
    assert t["fine_amplitude"] == pytest.approx(p.fine_amplitude / 2)
    assert t["scar_delta_lab"] == pytest.approx([v / 2 for v in p.scar_delta_lab])
    assert t["scar_texture_ratio"] == pytest.approx(1 - (1 - p.scar_texture_ratio) / 2)
    # counts and positions are unchanged
    ph0 = skin_phantom(SHAPE, seed=1, params=p)
    assert ph.truth["pore_count"] == ph0.truth["pore_count"]
    assert np.array_equal(ph.lesion, ph0.lesion)
    untreated_scar = skin_phantom(SHAPE, seed=1, params=p, treatment=0.5, treat_scar=False)
    assert untreated_scar.truth["params"]["scar_delta_lab"] == list(p.scar_delta_lab)


def _highpass_sd(ph: Phantom, keep: np.ndarray) -> float:
    L = _lab(ph.rgb)[..., 0]
    d = L - cv2.GaussianBlur(L, (0, 0), 3.0)
    return float(d[keep].std())


def test_fine_texture_scales_with_treatment() -> None:
    sds = []
    for k in (0.0, 0.5, 0.8):
        ph = skin_phantom(SHAPE, seed=2, params=PLAIN, treatment=k, noise_seed=0)
        keep = ~(cv2.dilate(ph.lesion.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0)
        keep[:8], keep[-8:], keep[:, :8], keep[:, -8:] = False, False, False, False
        sds.append(_highpass_sd(ph, keep))
    assert sds[1] / sds[0] == pytest.approx(0.5, abs=0.06)
    assert sds[2] / sds[0] == pytest.approx(0.2, abs=0.05)


def test_scar_texture_ratio() -> None:
    ph = skin_phantom(SHAPE, seed=2, params=PLAIN, noise_seed=0)
    inner = _erode(ph.lesion, 8)
    ring = _ring(ph.lesion, 8, 30)
    ratio = _highpass_sd(ph, inner) / _highpass_sd(ph, ring)
    assert ratio == pytest.approx(PLAIN.scar_texture_ratio, abs=0.08)


def test_treatment_darkening_features_fade() -> None:
    """Pores and lines: the darkest detail shrinks with k (same scene)."""
    p = SkinParams(noise_sd=0.0, mottling_amplitude=0.0, fine_amplitude=0.0, microrelief_depth=0.0)
    vals = []
    for k in (0.0, 0.5):
        ph = skin_phantom(SHAPE, seed=4, params=p, treatment=k)
        L = _lab(ph.rgb)[..., 0]
        d = L - cv2.GaussianBlur(L, (0, 0), 8.0)
        vals.append(np.percentile(d[~ph.lesion], 0.2))
    assert vals[0] < -3
    assert vals[1] / vals[0] == pytest.approx(0.5, abs=0.1)


# ----------------------------------------------------------------- scar


def test_lesion_single_region_of_expected_size(base: Phantom) -> None:
    n, labels = cv2.connectedComponents(base.lesion.astype(np.uint8))
    assert n == 2  # background + one region
    p = SkinParams()
    w = SHAPE[1]
    expected = np.pi * p.scar_radii[0] * w * p.scar_radii[1] * w
    assert base.lesion.sum() == pytest.approx(expected, rel=0.15)
    assert base.truth["lesion"]["area_px"] == int(base.lesion.sum())
    cy, cx = np.argwhere(base.lesion).mean(axis=0)
    assert abs(cx / SHAPE[1] - 0.5) < 0.06 and abs(cy / SHAPE[0] - 0.5) < 0.06


def test_lesion_follows_shift() -> None:
    a = skin_phantom(SHAPE, seed=7)
    b = skin_phantom(SHAPE, seed=7, shift_px=(7.0, -4.0))
    ca = np.argwhere(a.lesion).mean(axis=0)
    cb = np.argwhere(b.lesion).mean(axis=0)
    assert cb[1] - ca[1] == pytest.approx(7.0, abs=1.0)
    assert cb[0] - ca[0] == pytest.approx(-4.0, abs=1.0)
    assert b.truth["lesion"]["center_xy"][0] - a.truth["lesion"]["center_xy"][0] == pytest.approx(7.0)
    # the skin moved too: the shifted photo matches the baseline shifted back (interior)
    La, Lb = _lab(a.rgb)[..., 0], _lab(b.rgb)[..., 0]
    assert np.abs(Lb[20:-20, 27:-20] - La[24:-16, 20:-27]).mean() < 0.6 * np.abs(Lb - La).mean()


def test_rotation_is_counter_clockwise_and_keeps_skin_at_borders() -> None:
    p = SkinParams(scar_center=(0.8, 0.5), scar_radii=(0.06, 0.06))
    a = skin_phantom(SHAPE, seed=8, params=p)
    b = skin_phantom(SHAPE, seed=8, params=p, rotation_deg=5.0)
    ya = np.argwhere(a.lesion).mean(axis=0)[0]
    yb = np.argwhere(b.lesion).mean(axis=0)[0]
    assert yb < ya - 5  # a point right of centre moves up when turned counter-clockwise
    # no empty/black borders: the corners look like skin
    for ph in (b, skin_phantom(SHAPE, seed=8, scale=0.9, shift_px=(-6, 6))):
        corners = np.concatenate([ph.rgb[:4, :4].reshape(-1, 3), ph.rgb[-4:, -4:].reshape(-1, 3)])
        assert corners.mean() > 0.4


def test_scar_colour_offset() -> None:
    p = SkinParams(noise_sd=0.0, mottling_amplitude=0.0)
    ph = skin_phantom((480, 640), seed=9, params=p)
    lab = _lab(ph.rgb)
    inner = _erode(ph.lesion, 6)
    ring = _ring(ph.lesion, 10, 40)
    delta = lab[inner].mean(axis=0) - lab[ring].mean(axis=0)
    assert delta == pytest.approx(np.array(p.scar_delta_lab), abs=1.5)


def test_scar_colour_fades_with_treatment() -> None:
    p = SkinParams(noise_sd=0.0, mottling_amplitude=0.0)
    ph = skin_phantom((480, 640), seed=9, params=p, treatment=0.7)
    lab = _lab(ph.rgb)
    delta = lab[_erode(ph.lesion, 6)].mean(axis=0) - lab[_ring(ph.lesion, 10, 40)].mean(axis=0)
    assert delta == pytest.approx(0.3 * np.array(p.scar_delta_lab), abs=1.0)


# ----------------------------------------------------------------- photometry


def test_exposure_multiplies_linear_light() -> None:
    a = skin_phantom(SHAPE, seed=10, noise_seed=1)
    b = skin_phantom(SHAPE, seed=10, exposure=1.08, noise_seed=1)
    out = ~a.lesion
    ratio = _lin(b.rgb)[out].mean(axis=0) / _lin(a.rgb)[out].mean(axis=0)
    assert ratio == pytest.approx(np.full(3, 1.08), rel=0.01)
    c = skin_phantom(SHAPE, seed=10, white_balance=(1.03, 1.0, 0.97), noise_seed=1)
    ratio = _lin(c.rgb)[out].mean(axis=0) / _lin(a.rgb)[out].mean(axis=0)
    assert ratio == pytest.approx(np.array([1.03, 1.0, 0.97]), rel=0.01)


# ----------------------------------------------------------------- retakes and I/O


def test_nuisance_retake() -> None:
    a, b = nuisance_retake(4, shape=SHAPE, variant=3)
    a2, b2 = nuisance_retake(4, shape=SHAPE, variant=3)
    assert np.array_equal(b.rgb, b2.rgb)
    t = b.truth
    assert 0.93 <= t["exposure"] <= 1.07
    assert all(0.97 <= g <= 1.03 for g in t["white_balance"])
    assert all(abs(s) <= 6 for s in t["shift_px"])
    assert abs(t["rotation_deg"]) <= 1
    assert 80 <= t["jpeg_quality"] <= 95 and 80 <= a.truth["jpeg_quality"] <= 95
    assert t["treatment"] == 0 and a.truth["treatment"] == 0
    assert a.truth["noise_seed"] != t["noise_seed"]
    _, b3 = nuisance_retake(4, shape=SHAPE, variant=4)
    assert b3.truth["shift_px"] != t["shift_px"]
    assert abs(a.lesion.sum() - b.lesion.sum()) < 0.05 * a.lesion.sum()


def test_jpeg_and_uint8(base: Phantom, tmp_path: Path) -> None:
    j = jpeg_roundtrip(base.rgb, 85)
    assert j.dtype == np.float32 and j.shape == base.rgb.shape
    assert 0 < np.abs(j - base.rgb).mean() < 0.02
    u = to_uint8(base.rgb)
    assert u.dtype == np.uint8 and np.abs(u / 255.0 - base.rgb).max() <= 0.5 / 255 + 1e-6
    save_image(tmp_path / "x.jpg", base.rgb)
    save_image(tmp_path / "x.png", base.rgb)
    save_mask(tmp_path / "m.png", base.lesion)
    with Image.open(tmp_path / "x.png") as im:
        assert np.array_equal(np.asarray(im), u)
    with Image.open(tmp_path / "x.jpg") as im:
        assert im.size == (SHAPE[1], SHAPE[0]) and "exif" not in im.info
    with Image.open(tmp_path / "m.png") as im:
        m = np.asarray(im)
        assert set(np.unique(m)) <= {0, 255} and np.array_equal(m > 0, base.lesion)
    with pytest.raises(BadSettingsError, match="path"):
        save_image(tmp_path / "x.gif", base.rgb)


# ----------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"treatment": 1.5}, "treatment"),
        ({"treatment": -0.1}, "treatment"),
        ({"treatment": float("nan")}, "treatment"),
        ({"shape": (32, 400)}, "shape"),
        ({"shape": (100,)}, "shape"),
        ({"exposure": 0.0}, "exposure"),
        ({"white_balance": (1.0, 1.0)}, "white_balance"),
        ({"rotation_deg": 45.0}, "rotation_deg"),
        ({"scale": 2.0}, "scale"),
        ({"seed": -1}, "seed"),
        ({"shift_px": (500.0, 0.0)}, "shift_px"),
    ],
)
def test_bad_arguments(kwargs: dict, name: str) -> None:
    kw = {"shape": SHAPE, **kwargs}
    with pytest.raises(BadSettingsError, match=name):
        skin_phantom(**kw)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"fine_amplitude": -1.0}, "fine_amplitude"),
        ({"pore_depth": -2.0}, "pore_depth"),
        ({"wrinkle_depth": -0.5}, "wrinkle_depth"),
        ({"mottling_amplitude": -1.0}, "mottling_amplitude"),
        ({"noise_sd": -0.01}, "noise_sd"),
        ({"wrinkle_count": 2.5}, "wrinkle_count"),
        ({"scar_radii": (0.0, 0.1)}, "scar_radii"),
        ({"base_rgb": (1.2, 0.5, 0.5)}, "base_rgb"),
    ],
)
def test_bad_params(kwargs: dict, name: str) -> None:
    with pytest.raises(BadSettingsError, match=name):
        SkinParams(**kwargs)


def test_bad_retake_level() -> None:
    with pytest.raises(BadSettingsError, match="level"):
        nuisance_retake(0, shape=SHAPE, level="harsh")


# ----------------------------------------------------------------- shipped samples

SAMPLE_FILES = {
    "series_scar": ["session0_baseline.jpg", "session1.jpg", "session2.jpg"],
    "series_texture": ["session0_baseline.jpg", "session1.jpg", "session2.jpg"],
    "retake_pair": ["baseline.jpg", "retake.jpg"],
}


@pytest.mark.parametrize("folder", sorted(SAMPLE_FILES))
def test_sample_images(folder: str) -> None:
    d = SAMPLES / folder
    for name in SAMPLE_FILES[folder]:
        with Image.open(d / name) as im:
            assert im.format == "JPEG" and im.size == (1024, 768) and im.mode == "RGB"
            assert not im.getexif()
            im.load()
    with Image.open(d / "lesion.png") as im:
        m = np.asarray(im)
        assert m.shape == (768, 1024) and 0.03 < (m > 0).mean() < 0.15
    truth = json.loads((d / "truth.json").read_text())
    assert len(truth) == len(SAMPLE_FILES[folder])


def test_samples_readme_and_size() -> None:
    text = (SAMPLES / "README.md").read_text()
    assert "CC0" in text and "make_samples.py" in text
    total = sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file())
    assert total < 4.5e6
