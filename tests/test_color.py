"""Tests of texturecmp.color: transfer functions, Lab, CIEDE2000, ITA, EI/MI."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from texturecmp.color import (
    delta_e00,
    erythema_index,
    ita_category,
    ita_deg,
    lab_to_rgb,
    linear_to_srgb,
    melanin_index,
    rgb_to_lab,
    srgb_to_linear,
)
from texturecmp.errors import BadSettingsError, TextureCmpError, UnreadableImageError

#: Sharma, Wu & Dalal's 34 test pairs, vendored with their licence note (tests/data/README.md)
SHARMA = Path(__file__).resolve().parent / "data" / "ciede2000_sharma.tsv"


def _sharma_rows() -> list[dict[str, float]]:
    with SHARMA.open() as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh, delimiter="\t")]


ROWS = _sharma_rows()


def _lab_pair(row: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([row["L1"], row["a1"], row["b1"]]),
        np.array([row["L2"], row["a2"], row["b2"]]),
    )


# --------------------------------------------------------------------------- CIEDE2000


def test_sharma_has_34_pairs() -> None:
    assert len(ROWS) == 34


@pytest.mark.parametrize("row", ROWS, ids=[f"pair{int(r['pair'])}" for r in ROWS])
def test_delta_e00_sharma_pairs(row: dict[str, float]) -> None:
    lab1, lab2 = _lab_pair(row)
    de = delta_e00(lab1, lab2)
    assert isinstance(de, np.float64)
    assert de == pytest.approx(row["dE00"], abs=1e-4)
    # symmetric
    assert delta_e00(lab2, lab1) == pytest.approx(de, abs=1e-12)
    # identity
    assert delta_e00(lab1, lab1) == 0.0
    assert delta_e00(lab2, lab2) == 0.0


def test_delta_e00_sharma_vectorised_and_broadcast() -> None:
    lab1 = np.array([_lab_pair(r)[0] for r in ROWS])
    lab2 = np.array([_lab_pair(r)[1] for r in ROWS])
    expected = np.array([r["dE00"] for r in ROWS])
    de = delta_e00(lab1, lab2)
    assert de.shape == (34,) and de.dtype == np.float64
    np.testing.assert_allclose(de, expected, atol=1e-4)
    # n-dimensional: same values as the single pairs, any layout. Another layout changes
    # numpy's inner-loop lengths and strides, and with them which elements its SIMD
    # (SVML/Highway) or scalar libm code evaluates: a few ulp apart (~1e-15 here), so
    # 1e-12 holds on any x86-64 CPU and still catches any mix-up of pairs.
    de3 = delta_e00(lab1.reshape(2, 17, 3), lab2.reshape(2, 17, 3))
    np.testing.assert_allclose(de3.ravel(), de, rtol=1e-12, atol=1e-12)
    singles = np.array([delta_e00(a, b) for a, b in zip(lab1, lab2)])
    np.testing.assert_allclose(singles, de, rtol=1e-12, atol=1e-12)
    # broadcasting one colour against many
    de_b = delta_e00(lab1[:, None, :], lab2[None, :, :])
    assert de_b.shape == (34, 34)
    np.testing.assert_allclose(np.diag(de_b), de, rtol=0, atol=1e-12)
    np.testing.assert_allclose(de_b[3], delta_e00(lab1[3], lab2), rtol=0, atol=1e-12)
    # float32 inputs are computed in float64 and still match
    de32 = delta_e00(lab1.astype(np.float32), lab2.astype(np.float32))
    assert de32.dtype == np.float64
    np.testing.assert_allclose(de32, expected, atol=2e-4)


def test_delta_e00_large_input_chunked_matches_small() -> None:
    rng = np.random.default_rng(3)
    a = np.column_stack([rng.uniform(0, 100, 200_001), rng.uniform(-100, 100, (200_001, 2))])
    b = a + rng.normal(0, 5, a.shape)
    big = delta_e00(a, b)
    assert big.shape == (200_001,)
    idx = rng.choice(a.shape[0], 50, replace=False)
    # chunks and a small array are evaluated with other inner-loop lengths: SIMD and scalar
    # libm code may then meet different elements, a few ulp apart (see the Sharma test)
    np.testing.assert_allclose(big[idx], delta_e00(a[idx], b[idx]), rtol=1e-12, atol=1e-12)
    # one reference colour against an image (a stride-0 operand against a copied one)
    img = a.reshape(-1, 1, 3)[:100_000].reshape(400, 250, 3)
    ref = np.array([60.0, 15.0, 18.0])
    np.testing.assert_allclose(
        delta_e00(img, ref), delta_e00(img, np.broadcast_to(ref, img.shape)), rtol=1e-12, atol=1e-12
    )


def test_delta_e00_float32_error_bounds_as_documented() -> None:
    """The bounds delta_e00's docstring states for dtype=float32 (measured on 2 million
    pairs per spread: 5.6e-5 absolute for neighbours up to an SD of 20, 1.3e-4 for
    unrelated colours, 1.1e-5 on skin colours; relative 8e-5 from dE 0.5 up, 5e-3 from
    dE 0.01 up, and unbounded toward 0, as for any absolute error)."""
    rng = np.random.default_rng(11)
    n = 150_001  # chunked (> 2^17 pairs)
    a = np.column_stack([rng.uniform(0, 100, n), rng.uniform(-128, 127, (n, 2))])
    err, ref = [], []
    for sd in (0.01, 0.1, 1.0, 4.0, 20.0):  # neighbours at several distances
        b = a + rng.normal(0, sd, a.shape)
        d64 = delta_e00(a, b)
        d32 = delta_e00(a, b, dtype=np.float32)
        assert d32.dtype == np.float32
        err.append(np.abs(d32 - d64))
        ref.append(d64)
    err, ref = np.concatenate(err), np.concatenate(ref)
    assert err.max() < 1e-4  # the docstring's bound for neighbours (measured 5.6e-5)
    assert (err[ref >= 0.5] / ref[ref >= 0.5]).max() < 1e-4  # relative, from dE 0.5 up (measured 8e-5)
    assert (err[ref >= 0.01] / ref[ref >= 0.01]).max() < 1e-2  # relative, from dE 0.01 up (measured 5e-3)
    far = np.column_stack([rng.uniform(0, 100, n), rng.uniform(-128, 127, (n, 2))])
    assert np.abs(delta_e00(a, far, dtype=np.float32) - delta_e00(a, far)).max() < 2e-4  # unrelated (1.3e-4)
    skin = np.column_stack([rng.uniform(30, 80, n), rng.uniform(0, 30, n), rng.uniform(5, 35, n)])
    near = skin + rng.normal(0, 3, skin.shape)
    assert np.abs(delta_e00(skin, near, dtype=np.float32) - delta_e00(skin, near)).max() < 2e-5  # (1.1e-5)
    # one colour against an image, as the maps and colour unevenness use it
    img = a[:120_000].reshape(300, 400, 3)
    ref = np.array([62.0, 14.0, 17.0])
    # a stride-0 operand against a copied one: a few float32 ulp apart where numpy's SIMD and
    # scalar code meet different elements; 1e-5 (ΔE units, 1e-5 of a just-noticeable step)
    # holds on any x86-64 CPU
    np.testing.assert_allclose(delta_e00(img, ref, dtype=np.float32),
                               delta_e00(img, np.broadcast_to(ref, img.shape), dtype=np.float32),
                               rtol=1e-5, atol=1e-5)
    assert isinstance(delta_e00([50, 2, 3], [52, 1, 3], dtype=np.float32), np.float32)
    assert isinstance(delta_e00([50, 2, 3], [52, 1, 3], dtype="float32"), np.float32)  # any spelling numpy accepts
    for bad in (np.float16, "int32", "no such type"):
        with pytest.raises(BadSettingsError, match="dtype"):
            delta_e00([50, 0, 0], [50, 0, 0], dtype=bad)


def test_delta_e00_matches_skimage() -> None:
    skcolor = pytest.importorskip("skimage.color")
    rng = np.random.default_rng(7)
    a = np.column_stack([rng.uniform(0, 100, 5000), rng.uniform(-120, 120, (5000, 2))])
    b = np.column_stack([rng.uniform(0, 100, 5000), rng.uniform(-120, 120, (5000, 2))])
    np.testing.assert_allclose(delta_e00(a, b), skcolor.deltaE_ciede2000(a, b), atol=1e-9)
    np.testing.assert_allclose(
        delta_e00(a, b, kL=2.0, kC=1.5, kH=0.7),
        skcolor.deltaE_ciede2000(a, b, kL=2.0, kC=1.5, kH=0.7),
        atol=1e-9,
    )


def test_delta_e00_nan_in_nan_out() -> None:
    lab1 = np.array([[50.0, 2.0, 3.0], [np.nan, 0.0, 0.0], [50.0, np.nan, 1.0], [60.0, 1.0, 1.0]])
    lab2 = np.array([[51.0, 2.0, 3.0], [50.0, 0.0, 0.0], [50.0, 1.0, 1.0], [60.0, 1.0, np.nan]])
    with np.errstate(all="raise"):  # no floating-point warnings either
        de = delta_e00(lab1, lab2)
    assert np.isfinite(de[0])
    assert np.isnan(de[1:]).all()
    assert np.isnan(delta_e00([np.nan, 0, 0], [50, 0, 0]))


def test_delta_e00_achromatic_and_negative_zero() -> None:
    # a' = b = -0.0 must count as hue 0, not 180
    assert delta_e00([50.0, -0.0, -0.0], [50.0, 0.0, 0.0]) == 0.0
    assert delta_e00([40.0, 0.0, 0.0], [60.0, 0.0, 0.0]) > 0


def test_delta_e00_bad_arguments() -> None:
    with pytest.raises(BadSettingsError, match="lab1"):
        delta_e00(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(BadSettingsError, match="broadcast"):
        delta_e00(np.zeros((4, 3)), np.zeros((5, 3)))
    with pytest.raises(BadSettingsError, match="kL"):
        delta_e00([50, 0, 0], [50, 0, 0], kL=0)
    with pytest.raises(TextureCmpError, match="kH"):
        delta_e00([50, 0, 0], [50, 0, 0], kH=float("nan"))


_lab = st.tuples(
    st.floats(0, 100, allow_nan=False),
    st.floats(-128, 127, allow_nan=False),
    st.floats(-128, 127, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(_lab, _lab)
def test_delta_e00_properties(c1: tuple[float, float, float], c2: tuple[float, float, float]) -> None:
    d12 = delta_e00(c1, c2)
    d21 = delta_e00(c2, c1)
    assert d12 >= 0
    assert np.isfinite(d12)
    assert d12 == pytest.approx(d21, rel=1e-9, abs=1e-9)
    assert delta_e00(c1, c1) == 0.0


# --------------------------------------------------------------------------- transfer functions


def test_srgb_transfer_known_points() -> None:
    x = np.array([0.0, 0.04045, 0.5, 1.0], dtype=np.float32)
    lin = srgb_to_linear(x)
    assert lin.dtype == np.float32
    np.testing.assert_allclose(lin, [0.0, 0.04045 / 12.92, 0.21404114, 1.0], rtol=1e-6, atol=1e-7)
    # both branches meet at the knee
    above = ((0.04045 + 0.055) / 1.055) ** 2.4
    assert above == pytest.approx(0.04045 / 12.92, rel=1e-4)
    enc = linear_to_srgb(np.array([0.0, 0.0031308, 0.21404114, 1.0], dtype=np.float32))
    np.testing.assert_allclose(enc, [0.0, 0.0031308 * 12.92, 0.5, 1.0], rtol=1e-5, atol=1e-6)


def test_srgb_transfer_matches_float64_formula_and_round_trips() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((300, 500, 3), dtype=np.float32)  # > one chunk: threaded path
    ref = np.where(x <= 0.04045, x / 12.92, ((x.astype(np.float64) + 0.055) / 1.055) ** 2.4)
    lin = srgb_to_linear(x)
    assert lin.shape == x.shape and lin.dtype == np.float32
    np.testing.assert_allclose(lin, ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(linear_to_srgb(lin), x, rtol=0, atol=2e-6)
    # The same computation on the same values, only at other positions and array
    # sizes: every element goes through the same SIMD code, so it is bit-identical
    # on any CPU (the scalar tail code of cv2.pow differs from its SIMD code by 1 ulp).
    small = x[:5, :5]
    np.testing.assert_array_equal(srgb_to_linear(small), lin[:5, :5])
    np.testing.assert_array_equal(linear_to_srgb(lin[:5, :5]), linear_to_srgb(lin)[:5, :5])
    flat, flat_lin = x.reshape(-1), lin.reshape(-1)
    for start, size in [(0, 1), (3, 7), (1, 17), (5, 63), (64, 65), (100, 1000)]:
        np.testing.assert_array_equal(
            srgb_to_linear(flat[start : start + size]), flat_lin[start : start + size]
        )


def test_srgb_transfer_shapes_dtypes_nan() -> None:
    assert srgb_to_linear(np.float32(0.5)).shape == ()
    assert srgb_to_linear(0.5) == pytest.approx(0.21404114, rel=1e-6)
    out = srgb_to_linear(np.array([np.nan, 0.2]))
    assert out.dtype == np.float32 and np.isnan(out[0])
    u8 = np.array([0, 128, 255], dtype=np.uint8)
    np.testing.assert_allclose(srgb_to_linear(u8), srgb_to_linear(u8 / 255.0), atol=1e-7)
    with pytest.raises(UnreadableImageError, match="rgb"):
        srgb_to_linear(np.array(["a"]))


# --------------------------------------------------------------------------- Lab


def test_rgb_to_lab_matches_skimage() -> None:
    skcolor = pytest.importorskip("skimage.color")
    rng = np.random.default_rng(2)
    rgb = rng.random((200, 250, 3))
    lab = rgb_to_lab(rgb)
    assert lab.dtype == np.float32 and lab.shape == rgb.shape
    ref = skcolor.rgb2lab(rgb)
    # the docstring's bounds (OpenCV's vectorised path, which images take; here 0.031 a* at worst)
    assert (np.abs(lab - ref).reshape(-1, 3).max(axis=0) < [0.005, 0.035, 0.015]).all()


def test_rgb_to_lab_bounds_over_the_8_bit_codes() -> None:
    """The bounds rgb_to_lab's docstring states, on a dense grid of 8-bit codes: every code
    of the dark cube 0..63 (where the worst cases lie) and every third code of the whole
    cube. Measured over all 16.7 million codes: 0.0041 L*, 0.032 a*, 0.014 b*; for
    L* >= 10, 0.0007 L*, 0.020 a*, 0.0072 b* (OpenCV's vectorised cube root)."""
    skcolor = pytest.importorskip("skimage.color")
    dark = np.stack(np.meshgrid(*[np.arange(64)] * 3, indexing="ij"), -1).reshape(-1, 3)
    coarse = np.stack(np.meshgrid(*[np.arange(0, 256, 3)] * 3, indexing="ij"), -1).reshape(-1, 3)
    rgb = (np.concatenate([dark, coarse]) / 255.0).reshape(1, -1, 3)  # one long row: the vectorised path
    ref = skcolor.rgb2lab(rgb)
    err = np.abs(rgb_to_lab(rgb) - ref)
    assert (err.reshape(-1, 3).max(axis=0) < [0.005, 0.035, 0.015]).all(), err.reshape(-1, 3).max(axis=0)
    light = ref[..., 0] >= 10
    assert (err[light].max(axis=0) < [0.001, 0.022, 0.008]).all(), err[light].max(axis=0)
    # known points: white, black, mid grey
    pts = rgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]))
    np.testing.assert_allclose(pts, [[100, 0, 0], [0, 0, 0], [53.389, 0, 0]], atol=0.02)


def test_lab_round_trip_and_shapes() -> None:
    rng = np.random.default_rng(4)
    rgb = rng.random((1000, 3)).astype(np.float32)
    lab = rgb_to_lab(rgb)
    assert lab.shape == (1000, 3)
    back = lab_to_rgb(lab)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, rgb, atol=1e-3)
    assert rgb_to_lab(np.array([1.0, 1.0, 1.0])).shape == (3,)
    # out of gamut is clipped
    out = lab_to_rgb(np.array([[50.0, 120.0, -120.0]]))
    assert out.min() >= 0 and out.max() <= 1
    u8 = (rgb * 255).round().astype(np.uint8)
    np.testing.assert_allclose(rgb_to_lab(u8), rgb_to_lab(u8 / 255.0), atol=1e-3)


def test_lab_bad_shape() -> None:
    with pytest.raises(UnreadableImageError, match="3 channels"):
        rgb_to_lab(np.zeros((10, 10, 4), np.float32))
    with pytest.raises(TextureCmpError, match="lab"):
        lab_to_rgb(np.zeros((10, 10), np.float32))


# --------------------------------------------------------------------------- ITA


def test_ita_known_values() -> None:
    assert ita_deg(50.0, 10.0) == 0.0
    assert ita_deg(70.0, 20.0) == pytest.approx(45.0)
    assert ita_deg(50.0 + 20.0 * np.sqrt(3.0), 20.0) == pytest.approx(60.0)
    # equals the arctan definition for b > 0
    rng = np.random.default_rng(0)
    L = rng.uniform(20, 90, 100)
    b = rng.uniform(0.5, 40, 100)
    np.testing.assert_allclose(ita_deg(L, b), np.degrees(np.arctan((L - 50) / b)), atol=1e-12)
    # b == 0
    assert ita_deg(60.0, 0.0) == 90.0
    assert ita_deg(40.0, 0.0) == -90.0
    assert np.isnan(ita_deg(np.nan, 10.0))
    assert isinstance(ita_deg(60.0, 10.0), np.float64)


def test_ita_category() -> None:
    vals = [70.0, 55.0, 50.0, 41.0, 30.0, 28.0, 20.0, 10.0, 0.0, -30.0, -45.0, np.nan]
    expected = [
        "very light",
        "light",
        "light",
        "intermediate",
        "intermediate",
        "tan",
        "tan",
        "brown",
        "brown",
        "dark",
        "dark",
        "undefined",
    ]
    assert list(ita_category(vals)) == expected
    assert ita_category(45.0) == "light"
    assert isinstance(ita_category(45.0), str)
    assert ita_category(np.zeros((2, 3))).shape == (2, 3)


# --------------------------------------------------------------------------- EI / MI


def test_erythema_and_melanin_index_known_values() -> None:
    assert erythema_index(0.5, 0.25) == pytest.approx(100 * np.log10(2.0))
    assert erythema_index(0.3, 0.3) == 0.0
    assert melanin_index(0.1) == pytest.approx(100.0)
    assert melanin_index(1.0) == 0.0
    assert melanin_index(0.01) == pytest.approx(200.0)
    # redder (less green) skin -> higher EI; darker red -> higher MI
    assert erythema_index(0.5, 0.2) > erythema_index(0.5, 0.3)
    assert melanin_index(0.2) > melanin_index(0.4)
    r = np.array([0.5, 0.0, -0.1, np.nan, 0.4])
    g = np.array([0.25, 0.3, 0.3, 0.3, 0.0])
    ei = erythema_index(r, g)
    assert np.isfinite(ei[0]) and np.isnan(ei[1:]).all()
    mi = melanin_index(r)
    assert np.isfinite(mi[[0, 4]]).all() and np.isnan(mi[1:4]).all()
