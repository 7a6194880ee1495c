"""Canonical JSON of records, byte for byte as the standard library writes it, faster (private).

The canonical form is ``json.dumps(x, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)`` encoded as UTF-8. Record ids (its SHA-256) and the
store's bodies depend on it byte for byte, so it never changes. The standard library
spends most of that time in ``float.__repr__`` (about 1 ms for a 22 KiB comparison
record); orjson writes the same bytes more than ten times faster, except in two respects,
both handled here:

* orjson writes NaN and infinity as ``null`` where the standard library raises. Callers
  pass ``finite=True`` only for values already checked to hold finite numbers (the
  record validator checks it); otherwise the value is scanned for them first.
* orjson formats floats with 1e-9 <= |x| < 1e-4 its own way (``0.00001``, ``1e-7``
  where Python writes ``1e-05``, ``1e-07``). Those number tokens are rewritten with
  ``repr``, which gives Python's form of the same double.

Whatever orjson cannot write exactly as the standard library goes to the standard library
itself: non-string keys, integers beyond 64 bits, numpy scalars and other types, and the
rare output with both a float to rewrite and a backslash escape (a quote inside a string
would make string boundaries ambiguous to the rewriting). On first use a self-check
compares both encoders on floats of every magnitude, on every ASCII character and on key
order; if orjson (another version, say) disagrees, it is not used.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

try:  # a declared dependency; without it everything still works, at the standard library's speed
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

__all__ = ["std_dumps", "canonical_text", "canonical_bytes", "has_nonfinite", "fast_available"]


def std_dumps(obj: Any) -> str:
    """The canonical JSON text, by the standard library (the reference; raises its TypeError / ValueError)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def has_nonfinite(obj: Any) -> bool:
    """Whether a JSON-like value holds a float NaN or infinity anywhere (dicts, lists and tuples)."""
    stack = [obj]
    pop, push = stack.pop, stack.extend
    while stack:
        x = pop()
        t = type(x)
        if t is float:
            if x - x != 0.0:  # inf - inf and nan - nan are nan
                return True
        elif t is dict:
            push(x.values())
        elif t is list or t is tuple:
            push(x)
        elif isinstance(x, dict):
            push(x.values())
        elif isinstance(x, (list, tuple)):
            push(x)
        elif isinstance(x, float) and x - x != 0.0:
            return True
    return False


#: Number tokens orjson may write differently from ``repr``: 0.0000ddd, or an exponent of one digit.
_ODD_FLOAT = re.compile(rb"-?(?:0\.0000[0-9]+|[0-9](?:\.[0-9]+)?e-[0-9])(?=[,\]}]|\Z)")
_LONGEST_NUMBER = 32  # "-2.2250738585072014e-308" has 24 characters


def _odd_floats(out: bytes) -> list[tuple[int, int]]:
    """Spans of the number tokens in orjson's output that ``repr`` writes otherwise (and look-alikes in strings).

    Found from the two markers such tokens contain (``e-``, ``0.0000``) with ``bytes.find``
    (a regular expression alone would try every position of the text); a token starts
    after the nearest ``:``, ``,`` or ``[`` before its marker (or at the start).
    """
    spans = set()
    for marker in (b"e-", b"0.0000"):
        i = out.find(marker)
        while i >= 0:
            lo = max(0, i - _LONGEST_NUMBER)
            j = max(out.rfind(b",", lo, i), out.rfind(b":", lo, i), out.rfind(b"[", lo, i))
            if j >= 0 or lo == 0:
                m = _ODD_FLOAT.match(out, j + 1)
                if m is not None and m.end() > i:
                    spans.add(m.span())
            i = out.find(marker, i + 1)
    return sorted(spans)


def _python_floats(out: bytes) -> bytes | None:
    """orjson's output with its small floats written as Python writes them; None when that is not safe."""
    hits = _odd_floats(out)
    if not hits:
        return out
    if b"\\" in out:  # an escaped quote would hide where strings end
        return None
    parts: list[bytes] = []
    copied = counted = quotes = 0
    for start, end in hits:
        quotes += out.count(b'"', counted, start)
        counted = start
        if quotes & 1:  # inside a string: text, not a number
            continue
        parts += (out[copied:start], repr(float(out[start:end])).encode("ascii"))
        copied = end
    parts.append(out[copied:])
    return b"".join(parts)


def _orjson_bytes(obj: Any) -> bytes | None:
    try:
        out = _orjson.dumps(obj, option=_orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: a type or value it does not write
        return None
    return _python_floats(out)


def _probes() -> list[Any]:
    floats = [0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e16, 9999999999999998.0,
              1e15, 0.0001, 0.00009999999999999999, 0.1, 1 / 3, 123456.789, 2.0 ** 63, 2.0 ** 64]
    for e in range(-324, 309):
        for m in ("1", "9.999999999999999", "7.123456789012345"):
            x = float(f"{m}e{e}")
            if x - x == 0.0:
                floats += [x, -x]
    text = "".join(map(chr, range(128))) + "é\u2028\u2029\ufeff\U0001f600"
    keys = {"b": 1, "a": [2, -3, 2 ** 63 - 1, -(2 ** 63)], "é": True, "\U0001f600": None, "\uffff": False, "": "x",
            "z": {"y": 1.5e-7, "x": [0.5, 1e-05]}}
    return [floats, {"t": text}, keys, [[]], {}]


_CHECK_LOCK = threading.Lock()
_FAST_OK: bool | None = None


def fast_available() -> bool:
    """Whether orjson is installed and writes exactly what the standard library writes (checked once)."""
    global _FAST_OK
    if _FAST_OK is None:
        with _CHECK_LOCK:
            if _FAST_OK is None:
                _FAST_OK = _orjson is not None and all(
                    _orjson_bytes(p) == std_dumps(p).encode("utf-8") for p in _probes())
    return _FAST_OK


def _fast(obj: Any, finite: bool) -> bytes | None:
    if fast_available() and (finite or not has_nonfinite(obj)):
        return _orjson_bytes(obj)
    return None


def canonical_bytes(obj: Any, *, finite: bool = False) -> bytes:
    """The canonical JSON of ``obj`` as UTF-8 bytes.

    Parameters
    ----------
    obj
        A JSON-like value (a record).
    finite : bool
        The caller has checked that no float in ``obj`` is NaN or infinite (a validated
        record); skips that scan.

    Raises
    ------
    TypeError, ValueError
        As ``json.dumps`` does (a value JSON cannot hold, NaN, a circular reference);
        UnicodeEncodeError for a lone surrogate.
    """
    out = _fast(obj, finite)
    return out if out is not None else std_dumps(obj).encode("utf-8")


def canonical_text(obj: Any, *, finite: bool = False) -> str:
    """The canonical JSON of ``obj`` as text (what :func:`std_dumps` returns); raises as it does."""
    out = _fast(obj, finite)
    return out.decode("utf-8") if out is not None else std_dumps(obj)
