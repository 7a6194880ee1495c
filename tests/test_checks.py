"""The shared number checks (texturecmp._checks)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from texturecmp._checks import check_int, check_real
from texturecmp.errors import BadMaskError, BadSettingsError

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
