"""Checks of number arguments, shared by every module that takes one.

One rule says what a number is, everywhere in texturecmp:

- an integer is a Python ``int`` or a NumPy integer;
- a real is an integer, a Python ``float`` or a NumPy floating scalar, and must be finite;
- a ``bool`` (Python or NumPy) is never a number, although Python counts ``True`` as 1.

Strings, ``None``, arrays and other objects are refused, never converted. A check returns
the value as a Python ``int`` or ``float``, or raises a :class:`texturecmp.errors.TextureCmpError`
(by default a :class:`~texturecmp.errors.BadSettingsError`) whose message names the argument,
says what was expected and shows the value received:

- ``"{name}: expected {expected}, got {value!r}"`` (``wording="expected"``, the default), or
- ``"{name} must be {expected}, got {value!r}"`` (``wording="must be"``).

``expected`` defaults to a phrase made from the bounds, for example "an integer >= 64",
"an integer in [1, 100]", "a finite number in (0, 10)".
"""

from __future__ import annotations

import math
from typing import Any, Literal, NoReturn

import numpy as np

from texturecmp.errors import BadSettingsError, TextureCmpError

__all__ = ["check_int", "check_real"]

Wording = Literal["expected", "must be"]

_INTEGER_TYPES = (int, np.integer)
_REAL_TYPES = (int, float, np.integer, np.floating)


def _raise(error: type[TextureCmpError], name: str, expected: str, value: Any, wording: Wording) -> NoReturn:
    if wording == "must be":
        raise error(f"{name} must be {expected}, got {value!r}")
    raise error(f"{name}: expected {expected}, got {value!r}")


def _bounds_phrase(gt: float | None, ge: float | None, lt: float | None, le: float | None) -> str:
    low = (">", gt) if gt is not None else (">=", ge) if ge is not None else None
    high = ("<", lt) if lt is not None else ("<=", le) if le is not None else None
    if low and high:
        return f" in {'(' if low[0] == '>' else '['}{low[1]}, {high[1]}{')' if high[0] == '<' else ']'}"
    if low or high:
        op, bound = low or high  # type: ignore[misc]
        return f" {op} {bound}"
    return ""


def check_int(value: Any, name: str, *, ge: int | None = None, le: int | None = None, expected: str | None = None,
              error: type[TextureCmpError] = BadSettingsError, wording: Wording = "expected") -> int:
    """Return ``value`` as an ``int`` if it is an integer with ``ge <= value <= le``.

    Parameters
    ----------
    value : object
        The argument received.
    name : str
        The argument's name, as the caller knows it (``"seed"``, ``"settings.glcm_levels"``).
    ge, le : int, optional
        Inclusive bounds; None: unbounded on that side.
    expected : str, optional
        What the message says was expected. Default: "an integer" with the bounds.
    error : type, optional
        The :class:`~texturecmp.errors.TextureCmpError` subclass raised.
    wording : {"expected", "must be"}
        The message's form (see the module docstring).

    Raises
    ------
    TextureCmpError
        Of type ``error``: ``value`` is a bool, not an integer, or out of bounds.
    """
    ok = isinstance(value, _INTEGER_TYPES) and not isinstance(value, bool)
    v = int(value) if ok else 0
    if not ok or (ge is not None and v < ge) or (le is not None and v > le):
        _raise(error, name, expected or "an integer" + _bounds_phrase(None, ge, None, le), value, wording)
    return v


def check_real(value: Any, name: str, *, gt: float | None = None, ge: float | None = None, lt: float | None = None,
               le: float | None = None, expected: str | None = None, error: type[TextureCmpError] = BadSettingsError,
               wording: Wording = "expected") -> float:
    """Return ``value`` as a ``float`` if it is a finite real within the bounds given.

    Parameters
    ----------
    value : object
        The argument received.
    name : str
        The argument's name, as the caller knows it.
    gt, ge, lt, le : float, optional
        Bounds: ``value > gt``, ``value >= ge``, ``value < lt``, ``value <= le``; None: not checked.
        Give at most one lower and one upper bound.
    expected, error, wording
        As for :func:`check_int`; ``expected`` defaults to "a finite number" with the bounds.

    Raises
    ------
    TextureCmpError
        Of type ``error``: ``value`` is a bool, not a real number, NaN, infinite (or too large
        for a float), or out of bounds.
    """
    if (gt is not None and ge is not None) or (lt is not None and le is not None):
        raise TypeError("check_real: give at most one lower bound (gt or ge) and one upper bound (lt or le)")
    v = math.nan
    if isinstance(value, _REAL_TYPES) and not isinstance(value, bool):
        try:
            v = float(value)
        except OverflowError:  # an int beyond the float range
            pass
    if (not math.isfinite(v) or (gt is not None and not v > gt) or (ge is not None and not v >= ge)
            or (lt is not None and not v < lt) or (le is not None and not v <= le)):
        _raise(error, name, expected or "a finite number" + _bounds_phrase(gt, ge, lt, le), value, wording)
    return v
