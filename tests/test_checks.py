"""The shared number checks (texturecmp._checks) and the argument checks built on them."""

from __future__ import annotations

import math

import numpy as np
import pytest

import texturecmp as tc
from texturecmp._checks import check_int, check_real
from texturecmp.align import register
from texturecmp.batch import score_batch
from texturecmp.chart import GreyCard, calibrate_grey
from texturecmp.errors import BadMaskError, BadSettingsError, TextureCmpError
from texturecmp.glcm import glcm
from texturecmp.measure import make_grids, measure_photo
from texturecmp.phantoms import SkinParams, jpeg_roundtrip, nuisance_retake, skin_phantom
from texturecmp.regions import resolve_regions
from texturecmp.skin import skin_mask

# ----------------------------------------------------------------------------- check_int


@pytest.mark.parametrize("value", [7, np.int64(7), np.uint8(7), np.int32(7)])
def test_check_int_accepts_python_and_numpy_integers(value):
    out = check_int(value, "n")
    assert out == 7 and type(out) is int


@pytest.mark.parametrize("value", [True, False, np.True_, 7.0, np.float64(7.0), "7", None, [7], np.array(7)])
def test_error_check_int_not_an_integer(value):
    with pytest.raises(BadSettingsError) as e:
        check_int(value, "n")
    assert str(e.value) == f"n: expected an integer, got {value!r}"


def test_check_int_bounds_are_inclusive():
    assert check_int(1, "n", ge=1, le=3) == 1
    assert check_int(3, "n", ge=1, le=3) == 3
    with pytest.raises(BadSettingsError, match=r"^n: expected an integer in \[1, 3\], got 0$"):
        check_int(0, "n", ge=1, le=3)
    with pytest.raises(BadSettingsError, match=r"^n: expected an integer in \[1, 3\], got 4$"):
        check_int(4, "n", ge=1, le=3)
    with pytest.raises(BadSettingsError, match=r"^n: expected an integer >= 64, got 63$"):
        check_int(63, "n", ge=64)
    with pytest.raises(BadSettingsError, match=r"^n: expected an integer <= 5, got 6$"):
        check_int(6, "n", le=5)


def test_check_int_error_type_wording_and_expected():
    with pytest.raises(BadMaskError) as e:
        check_int(-1, "seed", ge=0, expected="a non-negative integer", error=BadMaskError, wording="must be")
    assert type(e.value) is BadMaskError
    assert str(e.value) == "seed must be a non-negative integer, got -1"


# ----------------------------------------------------------------------------- check_real


@pytest.mark.parametrize("value", [2, 2.5, np.float32(2.5), np.float64(2.5), np.int16(2)])
def test_check_real_accepts_python_and_numpy_reals(value):
    out = check_real(value, "x")
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [True, np.False_, "2.5", None, 1j, [2.5], math.nan, -math.inf, np.float32("inf"),
                                   10**400])
def test_error_check_real_not_a_finite_real(value):
    with pytest.raises(BadSettingsError) as e:
        check_real(value, "x")
    assert str(e.value) == f"x: expected a finite number, got {value!r}"


@pytest.mark.parametrize("bounds,inside,outside,phrase", [
    ({"gt": 0}, [1e-300, 5], [0, -1], "> 0"),
    ({"ge": 0}, [0, 5], [-1e-300], ">= 0"),
    ({"lt": 1}, [0.999, -5], [1], "< 1"),
    ({"le": 1}, [1, -5], [1.0000001], "<= 1"),
    ({"gt": 0, "le": 1}, [1e-300, 1], [0, 1.5], "in (0, 1]"),
    ({"ge": 0, "lt": 1}, [0, 0.999], [1, -0.5], "in [0, 1)"),
    ({"ge": 0.2, "le": 5}, [0.2, 5], [0.19999, 5.00001], "in [0.2, 5]"),
])
def test_check_real_bounds(bounds, inside, outside, phrase):
    for v in inside:
        assert check_real(v, "x", **bounds) == v
    for v in outside:
        with pytest.raises(BadSettingsError) as e:
            check_real(v, "x", **bounds)
        assert str(e.value) == f"x: expected a finite number {phrase}, got {v!r}"


def test_check_real_two_bounds_on_one_side_is_a_programming_error():
    with pytest.raises(TypeError):
        check_real(1.0, "x", gt=0, ge=0)
    with pytest.raises(TypeError):
        check_real(1.0, "x", lt=2, le=2)


# ----------------------------------------------------------------------------- the checks built on them
# Each public argument check keeps its exception type and its message, exactly.

RGB8 = np.zeros((64, 64, 3), np.uint8)
GREY = np.full((64, 64, 3), 128, np.uint8)


def _measure_photo_at_scale(scale):
    img = tc.load_image(np.full((256, 256, 3), 0.5, np.float32))
    s = tc.Settings()
    r = resolve_regions(img.shape, None, None, None, s)
    g, sg = make_grids(r, s, None)
    measure_photo(img, r, settings=s, pixel_size_mm=None, grid=g, scar_grid=sg, scale=scale)


SITES = [
    # regions: BadMaskError, "expected"
    (lambda: tc.Rect(x=True, y=0, width=10, height=10), BadMaskError, "Rect.x: expected a finite number, got True"),
    (lambda: tc.Rect(x=0, y=0, width=math.nan, height=1), BadMaskError, "Rect.width: expected a finite number, got nan"),
    (lambda: tc.Ellipse(cx="1", cy=0, rx=1, ry=1), BadMaskError, "Ellipse.cx: expected a finite number, got '1'"),
    (lambda: tc.Polygon(points=((0, 0), (1, math.inf), (2, 2))), BadMaskError,
     "Polygon.y: expected a finite number, got inf"),
    # skin
    (lambda: skin_mask(RGB8, colour_distance=0), BadSettingsError, "colour_distance: expected a positive number, got 0"),
    (lambda: skin_mask(RGB8, texture_factor=True), BadSettingsError,
     "texture_factor: expected a positive number, got True"),
    (lambda: skin_mask(RGB8, max_hole=math.inf), BadSettingsError, "max_hole: expected a positive number, got inf"),
    (lambda: skin_mask(RGB8, min_region="0.25"), BadSettingsError, "min_region: expected a positive number, got '0.25'"),
    (lambda: skin_mask(RGB8, min_saturation=1.0), BadSettingsError,
     "min_saturation: expected a number in [0, 1), got 1.0"),
    (lambda: skin_mask(RGB8, min_saturation=False), BadSettingsError,
     "min_saturation: expected a number in [0, 1), got False"),
    (lambda: skin_mask(RGB8, work_side=63), BadSettingsError, "work_side: expected an integer of at least 64, got 63"),
    (lambda: skin_mask(RGB8, work_side=64.0), BadSettingsError,
     "work_side: expected an integer of at least 64, got 64.0"),
    # settings
    (lambda: tc.Settings(glcm_levels=True), BadSettingsError, "settings.glcm_levels: expected an integer >= 1, got True"),
    (lambda: tc.Settings(target_tiles=0), BadSettingsError, "settings.target_tiles: expected an integer >= 1, got 0"),
    (lambda: tc.Settings(align_max_side=768.0), BadSettingsError,
     "settings.align_max_side: expected an integer >= 1, got 768.0"),
    (lambda: tc.Settings(z=-1.0), BadSettingsError, "settings.z: expected a finite number >= 0, got -1.0"),
    (lambda: tc.Settings(z=math.nan), BadSettingsError, "settings.z: expected a finite number >= 0, got nan"),
    (lambda: tc.Settings(min_sharpness="1"), BadSettingsError,
     "settings.min_sharpness: expected a finite number >= 0, got '1'"),
    (lambda: tc.Settings(blur_ratio=True), BadSettingsError,
     "settings.blur_ratio: expected a finite number >= 0, got True"),
    # align
    (lambda: register(None, None, max_side=63), BadSettingsError, "max_side must be an integer >= 64 (pixels), got 63"),
    (lambda: register(None, None, max_side=True), BadSettingsError,
     "max_side must be an integer >= 64 (pixels), got True"),
    (lambda: register(None, None, min_correlation=1.5), BadSettingsError,
     "min_correlation must be a number in [-1, 1], got 1.5"),
    (lambda: register(None, None, min_correlation=math.nan), BadSettingsError,
     "min_correlation must be a number in [-1, 1], got nan"),
    (lambda: register(None, None, min_correlation=True), BadSettingsError,
     "min_correlation must be a number in [-1, 1], got True"),
    (lambda: register(None, None, min_overlap=-0.1), BadSettingsError,
     "min_overlap must be a fraction in [0, 1], got -0.1"),
    (lambda: register(None, None, min_overlap="0.5"), BadSettingsError,
     "min_overlap must be a fraction in [0, 1], got '0.5'"),
    # io
    (lambda: tc.load_image(RGB8, max_pixels=0), BadSettingsError, "max_pixels must be a positive integer, got 0"),
    (lambda: tc.load_image(RGB8, max_pixels=1.5), BadSettingsError, "max_pixels must be a positive integer, got 1.5"),
    (lambda: tc.load_image(RGB8, min_size=True), BadSettingsError, "min_size must be a positive integer, got True"),
    # chart
    (lambda: GreyCard(mask=None, reflectance=0), BadSettingsError,
     "GreyCard.reflectance must be a number in (0, 1], got 0"),
    (lambda: GreyCard(mask=None, reflectance=1.5), BadSettingsError,
     "GreyCard.reflectance must be a number in (0, 1], got 1.5"),
    (lambda: GreyCard(mask=None, reflectance=True), BadSettingsError,
     "GreyCard.reflectance must be a number in (0, 1], got True"),
    (lambda: calibrate_grey(GREY, tc.Rect(8, 8, 32, 32), reflectance=1.5), BadSettingsError,
     "reflectance must be in (0, 1], got 1.5"),
    (lambda: calibrate_grey(GREY, tc.Rect(8, 8, 32, 32), reflectance=True), BadSettingsError,
     "reflectance must be in (0, 1], got True"),
    # glcm: one message says what an acceptable value is, whichever way the value is wrong
    (lambda: glcm(RGB8[..., 0], n_levels=16, distance=0), BadSettingsError, "distance must be an integer >= 1, got 0"),
    (lambda: glcm(RGB8[..., 0], n_levels=16, distance=1.5), BadSettingsError,
     "distance must be an integer >= 1, got 1.5"),
    (lambda: glcm(RGB8[..., 0], n_levels=0), BadSettingsError, "n_levels must be an integer in [1, 65536], got 0"),
    (lambda: glcm(RGB8[..., 0], n_levels=16, tile_labels=np.zeros((64, 64), int), n_tiles=True), BadSettingsError,
     "n_tiles must be an integer in [1, 65536], got True"),
    # batch: the base class
    (lambda: score_batch("no-such-manifest.csv", jobs=0, progress=False), TextureCmpError,
     "jobs: expected a whole number >= 1 or None, got 0"),
    (lambda: score_batch("no-such-manifest.csv", jobs=True, progress=False), TextureCmpError,
     "jobs: expected a whole number >= 1 or None, got True"),
    (lambda: score_batch("no-such-manifest.csv", jobs=2.0, progress=False), TextureCmpError,
     "jobs: expected a whole number >= 1 or None, got 2.0"),
    # measure
    (lambda: tc.measure(RGB8, pixel_size_mm=10.0), BadSettingsError,
     "pixel_size_mm: expected a number of millimetres per pixel in (0, 10), got 10.0"),
    (lambda: tc.measure(RGB8, pixel_size_mm=math.inf), BadSettingsError,
     "pixel_size_mm: expected a number of millimetres per pixel in (0, 10), got inf"),
    (lambda: tc.compare(RGB8, RGB8, pixel_size_mm=0), BadSettingsError,
     "pixel_size_mm: expected a number of millimetres per pixel in (0, 10), got 0"),
    (lambda: _measure_photo_at_scale(0.1), BadSettingsError,
     "scale: expected the registration scale of the photo, a number in [0.2, 5], got 0.1"),
    (lambda: _measure_photo_at_scale(math.nan), BadSettingsError,
     "scale: expected the registration scale of the photo, a number in [0.2, 5], got nan"),
    # phantoms
    (lambda: SkinParams(wrinkle_count=1001), BadSettingsError,
     "params.wrinkle_count must be an integer in [0, 1000], got 1001"),
    (lambda: SkinParams(wrinkle_count=2.0), BadSettingsError,
     "params.wrinkle_count must be an integer in [0, 1000], got 2.0"),
    (lambda: skin_phantom((64, 64), seed=-1), BadSettingsError, "seed must be a non-negative integer, got -1"),
    (lambda: skin_phantom((64, 64), seed=True), BadSettingsError, "seed must be a non-negative integer, got True"),
    (lambda: skin_phantom((64, 64), noise_seed=-1), BadSettingsError,
     "noise_seed must be a non-negative integer or None, got -1"),
    (lambda: skin_phantom((64, 64), noise_seed="1"), BadSettingsError,
     "noise_seed must be a non-negative integer or None, got '1'"),
    (lambda: jpeg_roundtrip(RGB8, quality=0), BadSettingsError, "quality must be an integer in [1, 100], got 0"),
    (lambda: jpeg_roundtrip(RGB8, quality=True), BadSettingsError, "quality must be an integer in [1, 100], got True"),
    (lambda: nuisance_retake(seed=-1), BadSettingsError, "seed must be a non-negative integer, got -1"),
    (lambda: nuisance_retake(variant=1.0), BadSettingsError, "variant must be a non-negative integer, got 1.0"),
]


@pytest.mark.parametrize("call,error,message", SITES, ids=[m for _, _, m in SITES])
def test_error_messages_of_number_arguments(call, error, message):
    with pytest.raises(error) as e:
        call()
    assert type(e.value) is error
    assert str(e.value) == message


def test_numpy_scalars_are_numbers_in_settings():
    # a NumPy integer or float is accepted and stored as the Python number: same settings, same hash
    s = tc.Settings(glcm_levels=np.int64(64), z=np.float32(2.5))
    assert s == tc.Settings(glcm_levels=64, z=2.5)
    assert type(s.glcm_levels) is int and type(s.z) is float
    assert s.hash == tc.Settings(glcm_levels=64, z=2.5).hash


def test_valid_numbers_come_back_as_given():
    assert tc.Rect(x=np.float32(1.5), y=2, width=np.int64(3), height=4.0).bounds() == tc.Rect(1.5, 2, 3, 4).bounds()
    assert GreyCard(mask=None, reflectance=1).reflectance == 1
    assert SkinParams(wrinkle_count=np.int64(3)).wrinkle_count == 3
