"""Tests of texturecmp.glcm: fixed-bin quantisation, masked GLCM, IBSI features."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from texturecmp.errors import BadMaskError, BadSettingsError, TextureCmpError
from texturecmp.glcm import (
    GLCM_FEATURE_IBSI_IDS,
    GLCM_FEATURES,
    glcm,
    glcm_features,
    glcm_offsets,
    quantize_fixed_bin,
)

#: the IBSI digital phantom and its GLCM reference values, vendored with their licence note
#: (tests/data/README.md)
IBSI_DIR = Path(__file__).resolve().parent / "data" / "ibsi"

# IBSI table name -> our feature name
IBSI_NAMES = {
    "Joint maximum": "joint_maximum",
    "Joint average": "joint_average",
    "Joint variance": "joint_variance",
    "Joint entropy": "joint_entropy",
    "Difference average": "difference_average",
    "Difference variance": "difference_variance",
    "Difference entropy": "difference_entropy",
    "Sum average": "sum_average",
    "Sum variance": "sum_variance",
    "Sum entropy": "sum_entropy",
    "Angular second moment": "angular_second_moment",
    "Contrast": "contrast",
    "Dissimilarity": "dissimilarity",
    "Inverse difference": "inverse_difference",
    "Normalised inverse difference": "normalised_inverse_difference",
    "Inverse difference moment": "inverse_difference_moment",
    "Normalised inverse difference moment": "normalised_inverse_difference_moment",
    "Inverse variance": "inverse_variance",
    "Correlation": "correlation",
    "Autocorrelation": "autocorrelation",
    "Cluster tendency": "cluster_tendency",
    "Cluster shade": "cluster_shade",
    "Cluster prominence": "cluster_prominence",
    "Information correlation 1": "information_correlation_1",
    "Information correlation 2": "information_correlation_2",
}
# features whose formula uses N_g (the number of grey levels, 6 for the phantom)
USES_NG = {"normalised_inverse_difference", "normalised_inverse_difference_moment"}


def _ibsi_reference() -> list[tuple[str, str, float, str]]:
    with (IBSI_DIR / "ibsi1_glcm_reference_digital_phantom.tsv").open() as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["aggregation"] == "2D, averaged"]
    return [(r["feature"], r["ibsi_id"], float(r["value"]), r["tolerance"]) for r in rows]


IBSI_ROWS = _ibsi_reference()


def _phantom_2d_averaged(n_levels: int) -> dict[str, float]:
    img = np.load(IBSI_DIR / "ibsi1_digital_phantom_image_zyx.npy")
    mask = np.load(IBSI_DIR / "ibsi1_digital_phantom_mask_zyx.npy").astype(bool)
    assert img.shape == (4, 4, 5) and mask.sum() == 74
    # grey levels as they are (1-based) -> 0-based levels
    mats = np.stack([glcm(img[z] - 1, n_levels=n_levels, mask=mask[z]) for z in range(img.shape[0])])
    assert mats.shape == (4, 4, n_levels, n_levels)  # (z, direction, L, L): 16 matrices
    feats = glcm_features(mats)
    return {k: float(np.mean(v)) for k, v in feats.items()}


# --------------------------------------------------------------------------- IBSI phantom


def test_ibsi_reference_table_complete() -> None:
    assert len(IBSI_ROWS) == 25
    for name, ibsi_id, _, _ in IBSI_ROWS:
        ours = IBSI_NAMES[name]
        assert GLCM_FEATURE_IBSI_IDS[ours] == ibsi_id


# n_levels 6 = the phantom's grey levels (trimmed); 9 and 16 leave unused levels,
# which must change nothing except the two features that use N_g
IBSI_CASES = [
    pytest.param(row, n, id=f"{row[0]}-L{n}")
    for row in IBSI_ROWS
    for n in (6, 9, 16)
    if n == 6 or IBSI_NAMES[row[0]] not in USES_NG
]


@pytest.mark.parametrize(("row", "n_levels"), IBSI_CASES)
def test_ibsi_digital_phantom_2d_averaged(row: tuple[str, str, float, str], n_levels: int) -> None:
    name, _, ref, tol = row
    ours = IBSI_NAMES[name]
    value = _phantom_2d_averaged(n_levels)[ours]
    # reference values are rounded to 3 significant figures
    abs_tol = float(tol) if tol not in ("NA", "") else 0.0
    assert value == pytest.approx(ref, rel=5e-3, abs=max(abs_tol, 6e-4)), (name, value, ref)


def test_ibsi_phantom_known_values_4dp() -> None:
    f = _phantom_2d_averaged(9)
    assert f["contrast"] == pytest.approx(5.2779, abs=1e-4)
    assert f["angular_second_moment"] == pytest.approx(0.3675, abs=1e-4)
    assert f["correlation"] == pytest.approx(-0.0121, abs=1e-4)
    assert f["joint_entropy"] == pytest.approx(2.0497, abs=1e-4)


def test_ibsi_phantom_needs_mask_support() -> None:
    """Without the mask the voxel valued 9 and out-of-region voxels count: results differ."""
    img = np.load(IBSI_DIR / "ibsi1_digital_phantom_image_zyx.npy")
    mats = np.stack([glcm(img[z] - 1, n_levels=9) for z in range(4)])
    contrast = float(np.mean(glcm_features(mats, features=["contrast"])["contrast"]))
    assert abs(contrast - 5.28) > 0.05


# --------------------------------------------------------------------------- skimage equivalence


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("symmetric", [True, False])
def test_glcm_equals_skimage_without_mask(seed: int, symmetric: bool) -> None:
    skf = pytest.importorskip("skimage.feature")
    rng = np.random.default_rng(seed)
    n = 8 + 8 * seed
    img = rng.integers(0, n, (37 + seed, 53), dtype=np.uint8)
    angles = [0, 45, 90, 135]
    ours = glcm(img, n_levels=n, angles=angles, symmetric=symmetric)
    ref = skf.graycomatrix(img, [1], np.radians(angles), levels=n, symmetric=symmetric)
    np.testing.assert_array_equal(ours, ref[:, :, 0, :].transpose(2, 0, 1))
    # all-True mask gives the same
    np.testing.assert_array_equal(
        glcm(img, n_levels=n, mask=np.ones(img.shape, bool), symmetric=symmetric), ours
    )
    # features vs graycoprops (per angle)
    feats = glcm_features(ours, features=["contrast", "angular_second_moment", "correlation", "homogeneity"])
    for ours_name, sk_name in (
        ("contrast", "contrast"),
        ("angular_second_moment", "ASM"),
        ("correlation", "correlation"),
        ("homogeneity", "homogeneity"),
    ):
        np.testing.assert_allclose(feats[ours_name], skf.graycoprops(ref, sk_name)[0], rtol=1e-10, atol=1e-12)


def test_angle_convention_matches_skimage() -> None:
    """0° -> right, 45° -> down-right, 90° -> down, 135° -> down-left (rows grow downwards)."""
    skf = pytest.importorskip("skimage.feature")
    assert glcm_offsets([0, 45, 90, 135]) == [(0, 1), (1, 1), (1, 0), (1, -1)]
    assert glcm_offsets(["0", "45", "90", "135"], distance=2) == [(0, 2), (2, 2), (2, 0), (2, -2)]
    img = np.zeros((3, 3), np.uint8)
    img[1, 1], img[1, 2], img[2, 2], img[2, 1], img[2, 0] = 1, 2, 3, 4, 5
    g = glcm(img, n_levels=6, symmetric=False)
    assert [int(np.flatnonzero(g[k, 1])[0]) for k in range(4)] == [2, 3, 4, 5]
    ref = skf.graycomatrix(img, [1], np.radians([0, 45, 90, 135]), levels=6, symmetric=False)
    np.testing.assert_array_equal(g, ref[:, :, 0, :].transpose(2, 0, 1))
    # at distance 2 the axis directions still agree with skimage
    rng = np.random.default_rng(5)
    img = rng.integers(0, 5, (20, 30), dtype=np.uint8)
    ref2 = skf.graycomatrix(img, [2], np.radians([0, 90]), levels=5, symmetric=True)
    np.testing.assert_array_equal(
        glcm(img, n_levels=5, distance=2, angles=(0, 90)), ref2[:, :, 0, :].transpose(2, 0, 1)
    )


def test_chebyshev_diagonal_distance() -> None:
    img = np.zeros((5, 5), np.uint8)
    img[0, 0], img[2, 2] = 1, 2
    g = glcm(img, n_levels=3, distance=2, angles=(45,), symmetric=False)
    assert g[0, 1, 2] == 1  # (0,0) pairs with (2,2) at Chebyshev distance 2


# --------------------------------------------------------------------------- masks and tiles


def test_masked_pixels_never_contribute() -> None:
    rng = np.random.default_rng(10)
    img = rng.integers(0, 16, (64, 80), dtype=np.uint8)
    mask = np.zeros(img.shape, bool)
    mask[10:50, 5:70] = True
    mask[20:30, 20:30] = False
    g1 = glcm(img, n_levels=16, mask=mask)
    other = img.copy()
    other[~mask] = rng.integers(0, 16, int((~mask).sum()), dtype=np.uint8)
    np.testing.assert_array_equal(glcm(other, n_levels=16, mask=mask), g1)
    # out-of-range values outside the mask are allowed and ignored
    wild = img.astype(np.int32)
    wild[~mask] = 1000
    wild[0, 0] = -7
    np.testing.assert_array_equal(glcm(wild, n_levels=16, mask=mask), g1)
    # brute-force reference for one direction
    dy, dx = 1, 1
    count = np.zeros((16, 16), np.int64)
    for r in range(img.shape[0] - dy):
        for c in range(img.shape[1] - dx):
            if mask[r, c] and mask[r + dy, c + dx]:
                count[img[r, c], img[r + dy, c + dx]] += 1
    np.testing.assert_array_equal(g1[1], count + count.T)
    np.testing.assert_array_equal(glcm(img, n_levels=16, mask=mask, angles=(45,), symmetric=False)[0], count)


def test_tiles_sum_to_whole_image() -> None:
    rng = np.random.default_rng(11)
    img = rng.integers(0, 12, (90, 120), dtype=np.uint8)
    mask = rng.random(img.shape) > 0.2
    ty = np.arange(90) // 30
    tx = np.arange(120) // 40
    tiles = ty[:, None] * 3 + tx[None, :]
    whole = glcm(img, n_levels=12, mask=mask)
    per_tile = glcm(img, n_levels=12, mask=mask, tile_labels=tiles, n_tiles=9)
    assert per_tile.shape == (9, 4, 12, 12) and per_tile.dtype == np.int64
    np.testing.assert_array_equal(per_tile.sum(axis=0), whole)
    # a pair belongs to the tile of its first pixel
    t4 = glcm(img, n_levels=12, mask=mask, tile_labels=tiles, n_tiles=9, symmetric=False, angles=(0,))
    sub_first = np.zeros_like(mask)
    sub_first[:30, :40] = True
    count = np.zeros((12, 12), np.int64)
    for r in range(90):
        for c in range(119):
            if sub_first[r, c] and mask[r, c] and mask[r, c + 1]:
                count[img[r, c], img[r, c + 1]] += 1
    np.testing.assert_array_equal(t4[0, 0], count)
    # pixels with tile -1 start no pair; n_tiles inferred
    tiles2 = tiles.copy()
    tiles2[:, :40] = -1
    t5 = glcm(img, n_levels=12, mask=mask, tile_labels=tiles2)
    assert t5.shape == (9, 4, 12, 12)
    assert t5[[0, 3, 6]].sum() == 0
    np.testing.assert_array_equal(t5[[1, 2, 4, 5, 7, 8]], per_tile[[1, 2, 4, 5, 7, 8]])


def test_large_image_threaded_path_matches_bincount() -> None:
    rng = np.random.default_rng(12)
    h, w, L = 700, 900, 32
    img = rng.integers(0, L, (h, w), dtype=np.uint8)
    mask = rng.random((h, w)) > 0.1
    tiles = (np.arange(h)[:, None] // 70) * 10 + np.arange(w)[None, :] // 90
    tiles[:35] = -1
    got = glcm(img, n_levels=L, mask=mask, tile_labels=tiles, n_tiles=100, symmetric=False)
    for k, (dy, dx) in enumerate(glcm_offsets([0, 45, 90, 135])):
        r0, r1 = max(0, -dy), h - max(0, dy)
        c0, c1 = max(0, -dx), w - max(0, dx)
        a = img[r0:r1, c0:c1].astype(np.int64)
        b = img[r0 + dy : r1 + dy, c0 + dx : c1 + dx].astype(np.int64)
        t = tiles[r0:r1, c0:c1]
        ok = mask[r0:r1, c0:c1] & mask[r0 + dy : r1 + dy, c0 + dx : c1 + dx] & (t >= 0)
        ref = np.bincount((t * L * L + a * L + b)[ok], minlength=100 * L * L).reshape(100, L, L)
        np.testing.assert_array_equal(got[:, k], ref)


@pytest.mark.slow
def test_glcm_12mp_with_mask_and_tiles_counts_every_pair() -> None:
    """At 12 MP the pairs are counted in row blocks (fewer than 2^23 pixels each, spread
    over the threads): every pair with both pixels in the mask is counted once, in its
    tile, whatever the blocks. (Its time is benchmarks/bench_kernels.py's.)"""
    rng = np.random.default_rng(0)
    h, w = 3024, 4032
    img = rng.integers(0, 32, (h, w), dtype=np.uint8)
    mask = np.zeros((h, w), bool)
    mask[100:-100, 200:-200] = True
    tiles = ((np.arange(h) * 10 // h)[:, None] * 10 + (np.arange(w) * 10 // w)[None, :]).astype(np.int32)
    out = glcm(img, n_levels=32, mask=mask, tile_labels=tiles, n_tiles=100)
    assert out.shape == (100, 4, 32, 32)
    for k, (dy, dx) in enumerate(glcm_offsets([0, 45, 90, 135])):
        r0, r1 = max(0, -dy), h - max(0, dy)
        c0, c1 = max(0, -dx), w - max(0, dx)
        ok = mask[r0:r1, c0:c1] & mask[r0 + dy : r1 + dy, c0 + dx : c1 + dx]
        pairs = np.bincount(tiles[r0:r1, c0:c1][ok], minlength=100)
        # symmetric: each pair is counted in both orders
        np.testing.assert_array_equal(out[:, k].sum(axis=(1, 2)), 2 * pairs)


# --------------------------------------------------------------------------- quantisation


def test_fixed_bin_same_levels_regardless_of_image_range() -> None:
    rng = np.random.default_rng(13)
    a = rng.normal(0, 2, (50, 50)).astype(np.float32)
    b = a.copy()
    b[:5, :5] *= 10  # widens b's range a lot
    qa = quantize_fixed_bin(a, bin_width=0.5, lower=-8.0, n_levels=32)
    qb = quantize_fixed_bin(b, bin_width=0.5, lower=-8.0, n_levels=32)
    np.testing.assert_array_equal(qa[5:, 5:], qb[5:, 5:])
    assert qa.dtype == np.uint8
    v = np.array([-100.0, -8.0, -7.51, -7.5, 0.0, 7.49, 7.99, 8.0, 100.0, np.nan])
    np.testing.assert_array_equal(
        quantize_fixed_bin(v, bin_width=0.5, lower=-8.0, n_levels=32), [0, 0, 0, 1, 16, 30, 31, 31, 31, 0]
    )
    assert quantize_fixed_bin(v, bin_width=0.01, lower=-8.0, n_levels=3000).dtype == np.uint16


def test_quantize_bad_settings() -> None:
    for kw, name in (
        (dict(bin_width=0.0, lower=0.0, n_levels=8), "bin_width"),
        (dict(bin_width=-1.0, lower=0.0, n_levels=8), "bin_width"),
        (dict(bin_width=1.0, lower=np.nan, n_levels=8), "lower"),
        (dict(bin_width=1.0, lower=0.0, n_levels=0), "n_levels"),
        (dict(bin_width=1.0, lower=0.0, n_levels=70000), "n_levels"),
        (dict(bin_width=1.0, lower=0.0, n_levels=8.5), "n_levels"),
    ):
        with pytest.raises(BadSettingsError, match=name):
            quantize_fixed_bin(np.zeros(4), **kw)


# --------------------------------------------------------------------------- features


def test_empty_matrices_give_nan() -> None:
    mats = np.zeros((3, 4, 8, 8), np.int64)
    mats[0, 0, 1, 2] = mats[0, 0, 2, 1] = 3
    mats[0, 0, 3, 3] = 1
    f = glcm_features(mats)
    assert set(f) == set(GLCM_FEATURES)
    for name, v in f.items():
        assert v.shape == (3, 4), name
        assert np.isfinite(v[0, 0]), name
        assert np.isnan(v[1:]).all() and np.isnan(v[0, 1:]).all(), name
    # an empty mask gives empty matrices and NaN features
    g = glcm(np.zeros((10, 10), np.uint8), n_levels=4, mask=np.zeros((10, 10), bool))
    assert g.sum() == 0
    assert np.isnan(glcm_features(g, features=["contrast"])["contrast"]).all()


def test_flat_region_conventions() -> None:
    m = np.zeros((4, 4))
    m[2, 2] = 10
    f = glcm_features(m)
    assert np.isnan(f["correlation"])  # undefined for zero variance (pyradiomics would say 1)
    assert f["contrast"] == 0 and f["joint_energy"] == 1 and f["joint_entropy"] == 0
    assert f["joint_average"] == 3  # 1-based grey levels
    assert f["homogeneity"] == 1


def test_features_unused_levels_change_nothing_and_vectorise() -> None:
    rng = np.random.default_rng(14)
    m = rng.integers(0, 20, (5, 6, 6)).astype(float)
    m = m + m.swapaxes(-1, -2)
    big = np.zeros((5, 10, 10))
    big[:, :6, :6] = m
    f_small = glcm_features(m)
    f_big = glcm_features(big)
    for name in GLCM_FEATURES:
        if name in USES_NG:
            continue
        np.testing.assert_allclose(f_big[name], f_small[name], rtol=1e-12, atol=1e-12, err_msg=name)
        one = np.array([glcm_features(m[k], features=[name])[name] for k in range(5)])
        np.testing.assert_allclose(f_small[name], one, rtol=1e-12, atol=1e-14, err_msg=name)
    # aliases agree
    np.testing.assert_array_equal(f_small["joint_energy"], f_small["angular_second_moment"])
    np.testing.assert_array_equal(f_small["homogeneity"], f_small["inverse_difference_moment"])
    np.testing.assert_array_equal(f_small["dissimilarity"], f_small["difference_average"])
    # counts and probabilities give the same features
    np.testing.assert_allclose(
        glcm_features(m / m.sum(axis=(-2, -1), keepdims=True))["contrast"], f_small["contrast"]
    )


def test_feature_errors() -> None:
    with pytest.raises(BadSettingsError, match="features"):
        glcm_features(np.ones((4, 4)), features=["energy"])
    with pytest.raises(BadSettingsError, match="matrices"):
        glcm_features(np.ones((4, 5)))
    with pytest.raises(BadSettingsError, match="matrices"):
        glcm_features(-np.ones((4, 4)))


# --------------------------------------------------------------------------- bad arguments


def test_glcm_bad_arguments() -> None:
    img = np.zeros((10, 12), np.uint8)
    img[3, 3] = 9
    with pytest.raises(BadSettingsError, match="levels"):
        glcm(img, n_levels=8)
    with pytest.raises(BadSettingsError, match="levels"):
        glcm(img.astype(np.int16) - 1, n_levels=16)
    with pytest.raises(BadMaskError, match="mask"):
        glcm(img, n_levels=16, mask=np.ones((10, 11), bool))
    with pytest.raises(BadSettingsError, match="distance"):
        glcm(img, n_levels=16, distance=0)
    with pytest.raises(BadSettingsError, match="distance"):
        glcm(img, n_levels=16, distance=1.5)  # type: ignore[arg-type]
    with pytest.raises(BadSettingsError, match="angles"):
        glcm(img, n_levels=16, angles=(30,))
    with pytest.raises(BadSettingsError, match="angles"):
        glcm(img, n_levels=16, angles=("right",))
    with pytest.raises(BadSettingsError, match="n_levels"):
        glcm(img, n_levels=0)
    with pytest.raises(BadSettingsError, match="levels"):
        glcm(img.astype(np.float32), n_levels=16)
    with pytest.raises(BadMaskError, match="levels"):
        glcm(np.zeros((2, 3, 4), np.uint8), n_levels=16)
    with pytest.raises(BadMaskError, match="tile_labels"):
        glcm(img, n_levels=16, tile_labels=np.zeros((3, 3), int))
    with pytest.raises(BadSettingsError, match="tile_labels"):
        glcm(img, n_levels=16, tile_labels=np.full(img.shape, 5), n_tiles=3)
    with pytest.raises(BadSettingsError, match="tile_labels"):
        glcm(img, n_levels=16, tile_labels=np.full(img.shape, -2))
    with pytest.raises(TextureCmpError):
        glcm(img, n_levels=16, tile_labels=np.zeros(img.shape, int), n_tiles=0)


def test_glcm_small_and_degenerate_images() -> None:
    # distance larger than the image: no pairs, zero matrices
    g = glcm(np.zeros((2, 2), np.uint8), n_levels=2, distance=3)
    assert g.shape == (4, 2, 2) and g.sum() == 0
    # single row: only the 0° direction has pairs
    g = glcm(np.array([[0, 1, 1]], np.uint8), n_levels=2)
    assert g[0].sum() == 4 and g[1:].sum() == 0
    # more than 256 levels or tiles (uint16 path)
    rng = np.random.default_rng(15)
    for n_levels, n_tiles in ((300, 3), (8, 300)):
        img = rng.integers(0, n_levels, (40, 50))
        tiles = rng.integers(0, n_tiles, (40, 50))
        t = glcm(img, n_levels=n_levels, tile_labels=tiles, n_tiles=n_tiles, angles=(0, 90))
        assert t.shape == (n_tiles, 2, n_levels, n_levels)
        np.testing.assert_array_equal(t.sum(axis=0), glcm(img, n_levels=n_levels, angles=(0, 90)))
