"""Tests of texturecmp.align: recover transforms the tests apply themselves."""

from __future__ import annotations

import json
import math
from functools import lru_cache

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from texturecmp.align import (
    Alignment,
    identity_alignment,
    register,
    warp_labels,
    warp_mask,
    warp_to_baseline,
    warp_valid_mask,
)
from texturecmp.errors import (
    AlignmentError,
    BadMaskError,
    BadSettingsError,
    ImageTooSmallError,
    MismatchedImagesError,
    UnreadableImageError,
)

H, W = 600, 800
PAD = 200
CENTRE = ((W - 1) / 2.0, (H - 1) / 2.0)


# --------------------------------------------------------------------------- synthetic skin


@lru_cache(maxsize=4)
def _canvas(seed: int, h: int = H + 2 * PAD, w: int = W + 2 * PAD) -> np.ndarray:
    """Skin-like texture (L*-like values around 60): smooth field + fine texture + dark blobs and lines."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for sigma, amp in [(60, 8.0), (15, 3.0), (4, 2.0), (1.2, 1.5)]:
        n = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
        img += amp * n / n.std()
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    for _ in range(12):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(3, 15)
        img -= 12 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    for _ in range(6):
        p1 = tuple(int(v) for v in rng.uniform(0, [w, h]))
        p2 = tuple(int(v) for v in rng.uniform(0, [w, h]))
        cv2.line(img, p1, p2, -6.0, 2, cv2.LINE_AA)
    img += 60.0
    img.setflags(write=False)
    return img


def _baseline(seed: int = 1) -> np.ndarray:
    return _canvas(seed)[PAD : PAD + H, PAD : PAD + W].copy()


def _degrade(img: np.ndarray, seed: int, *, jpeg: bool = True) -> np.ndarray:
    """Exposure change (x1.1, +5), sensor noise and JPEG recompression (quality 80)."""
    out = img * 1.1 + 5.0 + np.random.default_rng(seed).normal(0, 1.0, img.shape).astype(np.float32)
    if jpeg:
        u8 = np.clip(out * 2.0, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 2.0
    return out


def _follow_up(m: np.ndarray, *, seed: int = 1, noise_seed: int = 5, jpeg: bool = True) -> np.ndarray:
    """Follow-up whose skin is the baseline moved by the 2x3 `m` (baseline -> follow-up pixels).

    The transform is applied to the larger canvas, then the baseline window is cropped, so the
    borders carry real content.
    """
    o = np.array([[1.0, 0, PAD], [0, 1.0, PAD], [0, 0, 1.0]])
    t = o @ np.vstack([m, [0, 0, 1]]) @ np.linalg.inv(o)
    big = _canvas(seed)
    warped = cv2.warpAffine(big, t[:2], (big.shape[1], big.shape[0]), flags=cv2.INTER_CUBIC,
                            borderMode=cv2.BORDER_REFLECT)
    return _degrade(warped[PAD : PAD + H, PAD : PAD + W], noise_seed, jpeg=jpeg)


def _crop_shift(dx: int, dy: int, *, seed: int = 1) -> np.ndarray:
    """Follow-up by pure cropping (no interpolation): baseline (x, y) appears at (x + dx, y + dy)."""
    big = _canvas(seed)
    window = big[PAD - dy : PAD - dy + H, PAD - dx : PAD - dx + W]
    return _degrade(window, (dx + 500) * 1000 + (dy + 500), jpeg=True)


def _similarity(angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    m = cv2.getRotationMatrix2D(CENTRE, angle, scale)
    m[:, 2] += shift
    return m


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


# --------------------------------------------------------------------------- shifts


@pytest.mark.parametrize("shift", [(-7.0, 12.0), (25.5, -3.25), (0.0, 0.0)])
def test_pure_shift_recovered(shift: tuple[float, float]) -> None:
    follow = _follow_up(_similarity(0.0, 1.0, shift))
    a = register(_baseline(), follow)
    assert a.ok, a.message
    assert a.shift_px == pytest.approx(shift, abs=0.3)
    assert abs(a.rotation_deg) < 0.05
    assert a.scale == pytest.approx(1.0, abs=2e-3)
    assert a.method in ("phase+ecc", "identity")
    assert a.message.startswith("aligned")


def test_shift_sign_convention_with_plain_crops() -> None:
    # no warpAffine involved: the follow-up is another window of the same canvas
    dx, dy = 15, -9
    a = register(_baseline(), _crop_shift(dx, dy))
    assert a.ok, a.message
    assert a.shift_px == pytest.approx((dx, dy), abs=0.3)
    # a feature at baseline (x, y) is found at (x + dx, y + dy) in the follow-up
    pts = np.array([[100.0, 50.0], [700.0, 500.0]])
    assert a.map_points(pts) == pytest.approx(pts + [dx, dy], abs=0.4)
    # and the inverse maps back
    inv = a.inverse_matrix()
    back = (pts + [dx, dy]) @ inv[:, :2].T + inv[:, 2]
    assert back == pytest.approx(pts, abs=0.4)


@pytest.mark.parametrize("shift", [(150, -120), (-90, 160)])
def test_large_shift_recovered(shift: tuple[int, int]) -> None:
    a = register(_baseline(), _crop_shift(*shift))
    assert a.ok, a.message
    assert a.shift_px == pytest.approx(shift, abs=0.3)
    assert a.correlation_after > 0.9


def test_inputs_are_not_modified() -> None:
    base, follow = _baseline(), _crop_shift(5, 5)
    b0, f0 = base.copy(), follow.copy()
    mask = np.ones((H, W), bool)
    register(base, follow, fixed_mask=mask)
    assert np.array_equal(base, b0) and np.array_equal(follow, f0) and mask.all()


def test_dark_blob_lands_where_shift_says() -> None:
    base = np.full((H, W), 50.0, np.float32) + _baseline() * 0.2
    follow = np.full((H, W), 50.0, np.float32) + _crop_shift(-11, 6) * 0.2
    a = register(base, follow)
    x, y = 321.0, 234.0
    assert a.map_points([x, y]) == pytest.approx([x - 11, y + 6], abs=0.4)


# --------------------------------------------------------------------------- rotations, scale


@pytest.mark.parametrize(("angle", "shift"), [(2.0, (5.0, -3.0)), (-3.0, (-4.0, 6.0))])
def test_small_rotation_about_centre(angle: float, shift: tuple[float, float]) -> None:
    m = _similarity(angle, 1.0, shift)
    a = register(_baseline(), _follow_up(m))
    assert a.ok, a.message
    assert a.method == "phase+ecc"
    assert a.rotation_deg == pytest.approx(angle, abs=0.1)  # same sign as getRotationMatrix2D
    assert a.shift_px == pytest.approx(shift, abs=0.5)
    assert a.matrix_array == pytest.approx(m, abs=0.05)


def test_pure_rotation_gives_zero_shift() -> None:
    a = register(_baseline(), _follow_up(_similarity(2.5, 1.0, (0.0, 0.0))))
    assert a.shift_px == pytest.approx((0.0, 0.0), abs=0.3)
    assert a.rotation_deg == pytest.approx(2.5, abs=0.1)


def test_large_motion_uses_feature_fallback() -> None:
    m = _similarity(15.0, 1.1, (10.0, 5.0))
    a = register(_baseline(), _follow_up(m))
    assert a.ok, a.message
    assert a.method == "features"
    assert a.rotation_deg == pytest.approx(15.0, abs=0.5)
    assert a.scale == pytest.approx(1.1, rel=0.01)
    assert a.shift_px == pytest.approx((10.0, 5.0), abs=1.0)


def test_rigid_mode_keeps_scale_one() -> None:
    a = register(_baseline(), _follow_up(_similarity(-2.0, 1.0, (3.0, 2.0))), allow_scale=False)
    assert a.ok, a.message
    assert a.scale == pytest.approx(1.0, abs=1e-6)
    assert a.rotation_deg == pytest.approx(-2.0, abs=0.1)


def test_lower_resolution_follow_up() -> None:
    follow = _follow_up(_similarity(0.0, 1.0, (4.0, -2.0)))
    small = cv2.resize(follow, (600, 450), interpolation=cv2.INTER_AREA)  # same scene at 0.75x
    a = register(_baseline(), small)
    assert a.ok, a.message
    assert a.scale == pytest.approx(0.75, rel=0.01)
    assert abs(a.rotation_deg) < 0.1
    # baseline pixel centres map to 0.75 * (x + 0.5 + shift) - 0.5 in the smaller photo
    pts = np.array([[100.0, 100.0], [400.0, 300.0], [700.0, 520.0]])
    expected = 0.75 * (pts + [4.0, -2.0] + 0.5) - 0.5
    assert a.map_points(pts) == pytest.approx(expected, abs=0.4)
    assert a.moving_shape == (450, 600)


# --------------------------------------------------------------------------- quality of the match


def test_exposure_jpeg_noise_and_correlation_gain() -> None:
    a = register(_baseline(), _follow_up(_similarity(0.0, 1.0, (18.0, -11.0))))
    assert a.ok, a.message
    assert a.correlation_after > a.correlation_before + 0.3
    assert a.correlation_after > 0.8
    assert 0.9 < a.overlap <= 1.0


def test_unrelated_images_are_reported_not_raised() -> None:
    a = register(_baseline(1), _canvas(99)[:H, :W].copy())
    assert a.ok is False
    assert a.method == "failed"
    assert "could not be aligned" in a.message
    assert a.correlation_after < 0.3
    with pytest.raises(AlignmentError, match="could not be aligned"):
        a.raise_if_failed()


def test_too_little_overlap_is_reported() -> None:
    a = register(_baseline(), _follow_up(_similarity(0.0, 1.0, (25.0, 20.0))), min_overlap=0.99)
    assert a.ok is False
    assert a.method == "failed"
    assert "% overlap" in a.message
    assert a.shift_px == pytest.approx((25.0, 20.0), abs=0.5)  # best effort still reported


def test_same_image_is_identity() -> None:
    base = _baseline()
    a = register(base, base.copy())
    assert a.method == "identity"
    assert a.ok
    assert a.correlation_after == 1.0
    assert a.matrix_array == pytest.approx(np.eye(2, 3))


def test_fixed_mask_restricts_and_overlap_refers_to_it() -> None:
    yy, xx = np.mgrid[:H, :W]
    mask = (xx - 400) ** 2 + (yy - 300) ** 2 < 150**2
    a = register(_baseline(), _follow_up(_similarity(1.0, 1.0, (-6.0, 4.0))), fixed_mask=mask)
    assert a.ok, a.message
    assert a.overlap == pytest.approx(1.0)
    assert a.shift_px == pytest.approx((-6.0, 4.0), abs=0.5)
    assert a.rotation_deg == pytest.approx(1.0, abs=0.15)


# --------------------------------------------------------------------------- warping


def test_warp_mask_disk_lands_at_transformed_centroid() -> None:
    m = _similarity(2.0, 1.0, (12.0, -7.0))
    a = register(_baseline(), _follow_up(m))
    yy, xx = np.mgrid[:H, :W]
    disk = (xx - 250) ** 2 + (yy - 200) ** 2 < 60**2
    moved = warp_mask(disk, a, (H, W))
    assert moved.dtype == bool and moved.shape == (H, W)
    assert abs(int(moved.sum()) - int(disk.sum())) < 0.02 * disk.sum()
    ys, xs = np.nonzero(moved)
    expected = m @ np.array([xx[disk].mean(), yy[disk].mean(), 1.0])
    assert np.hypot(xs.mean() - expected[0], ys.mean() - expected[1]) < 1.0


def test_warp_mask_outside_baseline_is_false() -> None:
    a = identity_alignment((H, W), (H, W))
    shifted = Alignment(**{**a.__dict__, "matrix": ((1.0, 0.0, 50.0), (0.0, 1.0, 0.0))})
    moved = warp_mask(np.ones((H, W), bool), shifted, (H, W))
    assert not moved[:, :50].any()
    assert moved[:, 50:].all()


@settings(max_examples=60, deadline=None)
@given(cx=st.integers(-30, 330), cy=st.integers(-30, 250), r=st.integers(1, 90), angle=st.floats(-8, 8),
       scale=st.floats(0.8, 1.25), tx=st.floats(-60, 60), ty=st.floats(-60, 60), grow=st.integers(-25, 25))
def test_warp_mask_of_a_small_region_equals_the_whole_image_warp(cx, cy, r, angle, scale, tx, ty, grow) -> None:
    # warp_mask only warps the window where the mask's bounding box lands; the rest must be False
    h, w = 240, 320
    yy, xx = np.mgrid[:h, :w]
    mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
    m = _similarity(angle, scale, (tx, ty))
    out_hw = (h + grow, w - grow)
    a = Alignment(**{**identity_alignment((h, w), out_hw).__dict__, "matrix": tuple(tuple(map(float, row)) for row in m)})
    whole = cv2.warpAffine(mask.view(np.uint8), m, out_hw[::-1], flags=cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0).view(bool)
    got = warp_mask(mask, a, out_hw)
    assert got.shape == out_hw and got.dtype == bool
    # nearest neighbour may round an exact half-pixel the other way in a shifted window
    assert np.count_nonzero(got != whole) <= max(1, 0.002 * np.count_nonzero(whole))


def test_warp_labels_nearest_with_fill() -> None:
    labels = np.zeros((H, W), np.int32)
    labels[100:200, 100:300] = 3
    labels[300:400, 500:700] = 7
    a = Alignment(**{**identity_alignment((H, W), (H, W)).__dict__,
                     "matrix": ((1.0, 0.0, -20.0), (0.0, 1.0, 10.0))})
    out = warp_labels(labels, a, (H, W), fill=-5)
    assert out.dtype == np.int32
    assert set(np.unique(out)) == {-5, 0, 3, 7}
    assert (out[110:210, 80:280] == 3).all()
    assert (out[:, W - 20 :] == -5).all() and (out[:10] == -5).all()


def test_warp_to_baseline_matches_baseline() -> None:
    base = _baseline()
    follow = _follow_up(_similarity(-2.5, 1.0, (14.0, 9.0)))
    a = register(base, follow)
    back = warp_to_baseline(follow, a, base.shape)
    valid = warp_valid_mask(a, base.shape, follow.shape)
    assert back.shape == base.shape and back.dtype == np.float32
    assert np.isnan(back[~valid]).all() and np.isfinite(back[valid]).all()
    assert valid.mean() == pytest.approx(a.overlap, abs=0.01)
    assert _pearson(back[valid], base[valid]) > 0.95
    # colour images too
    rgb = np.dstack([follow, follow * 0.5, follow * 0.25])
    back_rgb = warp_to_baseline(rgb, a, (H, W), interpolation="linear", fill=0.0)
    assert back_rgb.shape == (H, W, 3)
    assert _pearson(back_rgb[..., 1][valid], base[valid]) > 0.95


def test_identity_round_trips_exactly() -> None:
    base = _baseline()
    a = identity_alignment(base.shape, base.shape)
    assert a.ok and a.method == "identity"
    rng = np.random.default_rng(0)
    mask = rng.random(base.shape) > 0.5
    labels = rng.integers(0, 9, base.shape).astype(np.int32)
    assert np.array_equal(warp_mask(mask, a, base.shape), mask)
    assert np.array_equal(warp_labels(labels, a, base.shape), labels)
    assert np.array_equal(warp_to_baseline(base, a, base.shape), base)
    assert warp_valid_mask(a, base.shape, base.shape).all()
    assert np.array_equal(a.inverse_matrix(), np.eye(2, 3))
    assert Alignment.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    assert hash(a) == hash(identity_alignment(base.shape, base.shape))


def test_identity_alignment_of_different_shapes_is_not_ok() -> None:
    a = identity_alignment((600, 800), (450, 600, 3))
    assert a.ok is False
    assert a.overlap == pytest.approx(0.75 * 0.75)
    assert "different sizes" in a.message


def test_to_dict_is_json_ready() -> None:
    a = register(_baseline(), _follow_up(_similarity(1.0, 1.0, (3.0, 3.0))))
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert isinstance(d["matrix"], list) and len(d["matrix"]) == 2 and len(d["matrix"][0]) == 3
    assert d["method"] == a.method and d["ok"] == a.ok
    assert Alignment.from_dict(d) == a


# --------------------------------------------------------------------------- errors


def test_absurd_size_ratio_raises() -> None:
    with pytest.raises(MismatchedImagesError, match=r"800x600 px.*160x120 px"):
        register(_baseline(), np.zeros((120, 160), np.float32))


def test_wildly_different_aspect_ratio_raises() -> None:
    with pytest.raises(MismatchedImagesError, match="very different shapes"):
        register(_baseline(), np.zeros((200, 800), np.float32))


def test_bad_mask_shape_raises() -> None:
    with pytest.raises(BadMaskError, match="fixed_mask must have the baseline's shape"):
        register(_baseline(), _baseline(), fixed_mask=np.ones((10, 10), bool))


def test_empty_mask_raises() -> None:
    with pytest.raises(BadMaskError, match="empty"):
        register(_baseline(), _baseline(), fixed_mask=np.zeros((H, W), bool))


def test_warp_mask_wrong_shape_raises() -> None:
    a = identity_alignment((H, W), (H, W))
    with pytest.raises(BadMaskError, match="baseline"):
        warp_mask(np.ones((10, 10), bool), a, (H, W))


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [({"max_side": 10}, "max_side"), ({"min_overlap": 1.5}, "min_overlap"),
     ({"min_correlation": 2.0}, "min_correlation"), ({"allow_scale": "yes"}, "allow_scale")],
)
def test_bad_settings_raise(kwargs: dict, pattern: str) -> None:
    with pytest.raises(BadSettingsError, match=pattern):
        register(_baseline(), _baseline(), **kwargs)


def test_unknown_interpolation_raises() -> None:
    a = identity_alignment((H, W), (H, W))
    with pytest.raises(BadSettingsError, match="interpolation must be one of"):
        warp_to_baseline(_baseline(), a, (H, W), interpolation="bicubic")


def test_colour_image_to_register_raises() -> None:
    with pytest.raises(UnreadableImageError, match="2-D grayscale"):
        register(np.zeros((H, W, 3), np.float32), _baseline())


def test_nan_image_raises() -> None:
    bad = _baseline()
    bad[10, 10] = np.nan
    with pytest.raises(UnreadableImageError, match="NaN"):
        register(_baseline(), bad)


def test_tiny_image_raises() -> None:
    with pytest.raises(ImageTooSmallError, match="at least 16 px"):
        register(np.zeros((8, 8), np.float32), np.zeros((8, 8), np.float32))


# --------------------------------------------------------------------------- properties, 12 MP


@settings(max_examples=15, deadline=None)
@given(dx=st.integers(-20, 20), dy=st.integers(-20, 20))
def test_integer_shifts_recovered(dx: int, dy: int) -> None:
    a = register(_baseline(), _crop_shift(dx, dy))
    assert a.ok, a.message
    assert a.shift_px == pytest.approx((dx, dy), abs=0.5)
    assert abs(a.rotation_deg) < 0.1


def twelve_megapixel_pair() -> tuple[np.ndarray, np.ndarray]:
    """A 4032 x 3024 grayscale pair: multi-scale noise, the follow-up moved by (40, -30) px
    and exposed 10 % brighter plus 3 (also timed by benchmarks/bench_kernels.py)."""
    rng = np.random.default_rng(3)
    h, w = 3024, 4032
    small = np.zeros((h // 4 + 40, w // 4 + 40), np.float32)
    for sigma, amp in [(30, 8.0), (8, 3.0), (2, 2.0), (0.7, 1.5)]:
        n = cv2.GaussianBlur(rng.standard_normal(small.shape).astype(np.float32), (0, 0), sigma)
        small += amp * n / n.std()
    big = cv2.resize(small, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    base = np.ascontiguousarray(big[80 : 80 + h, 80 : 80 + w])
    follow = np.ascontiguousarray(big[110 : 110 + h, 40 : 40 + w]) * 1.1 + 3.0
    return base, follow


def test_twelve_megapixel_pair_registers() -> None:
    base, follow = twelve_megapixel_pair()
    a = register(base, follow)
    assert a.ok, a.message
    assert a.shift_px == pytest.approx((40.0, -30.0), abs=0.5)
    assert math.isfinite(a.correlation_after)
