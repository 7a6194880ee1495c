"""The records' fast paths give exactly what the reference paths give.

* Canonical JSON (``records._canonical``): orjson plus a rewrite of its small floats must
  write the standard library's bytes, on random JSON values, on floats of every
  magnitude and on strings that look like numbers; anything else goes to the standard
  library. Record ids and store bodies depend on it byte for byte.
* Validation: the quick acceptor (``records._fastaccept``) says "valid" only for records
  that jsonschema accepts, and ``problems()`` lists the same problems with it and
  without it, on random mutations of a real record (valid and invalid).
* NaN and infinity are rejected by validation, naming the field.
"""

from __future__ import annotations

import collections
import copy
import enum
import hashlib
import json
import math
import random

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import texturecmp as tc
from texturecmp import records as R
from texturecmp.phantoms import skin_phantom
from texturecmp.records import _canonical as C
from texturecmp.records import _record
from texturecmp.records._fastaccept import make_acceptor

from conftest import json_paths as _paths


def _std(x):
    return json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _outcome(fn, x):
    """('ok', value) or ('error', exception type) of fn(x)."""
    try:
        return "ok", fn(x)
    except (TypeError, ValueError) as exc:
        return "error", type(exc)


@pytest.fixture(scope="module")
def rec():
    base = skin_phantom(shape=(192, 256), seed=5)
    fol = skin_phantom(shape=(192, 256), seed=5, treatment=0.5, shift_px=(2, -1))
    c = tc.compare(base.rgb, fol.rgb, lesion=base.lesion)
    return R.comparison_record(c, subject="P-7", session="w4", date="2024-03-01", baseline_session="w0")


def _at(record, path):
    parent = record
    for k in path[:-1]:
        parent = parent[k]
    return parent


# ----------------------------------------------------------------------------- canonical JSON

def test_orjson_is_used_and_self_checked():
    assert C.fast_available()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats() | st.text(max_size=12)
    | st.sampled_from(["1e-7", ":1e-7,", 'a"b', "back\\slash", "\n\t\x00", "0.00001]", "é", "\U0001f600"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=json_values)
def test_canonical_equals_the_standard_library(x):
    want = _outcome(_std, x)
    assert _outcome(R.canonical_json, x) == want if want[0] == "ok" else _outcome(R.canonical_json, x)[0] == "error"
    if want[0] == "ok":
        assert C.canonical_bytes(x) == want[1].encode("utf-8")
        assert C.canonical_text(x) == want[1]
        if not C.has_nonfinite(x):
            assert C.canonical_bytes(x, finite=True) == want[1].encode("utf-8")
    else:
        assert _outcome(C.canonical_bytes, x) == want


@settings(max_examples=300, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_is_written_as_repr(x):
    for doc in (x, [x], {"a": x}, [1, x, "x"], {"b": [x, x], "a": {"c": x}}):
        assert C.canonical_bytes(doc) == _std(doc).encode()


def test_floats_of_every_magnitude():
    bits = np.random.default_rng(0).integers(0, 2 ** 64, size=50_000, dtype=np.uint64)
    xs = [x for x in bits.view(np.float64).tolist() if math.isfinite(x)]
    xs += [float(f"{m}e{e}") for e in range(-330, 310) for m in ("1", "2.5", "9.999999999999999")]
    xs = [x for x in xs if math.isfinite(x)]
    assert C.canonical_bytes(xs) == _std(xs).encode()
    assert C.canonical_bytes({"v": xs}, finite=True) == _std({"v": xs}).encode()


def test_number_look_alikes_in_strings_are_left_alone():
    doc = {"note": "x:1e-7,", "rule": "[0.00001]", "v": [1e-7, 0.00001, -2e-9], "w": ":1e-7}"}
    assert C.canonical_bytes(doc) == _std(doc).encode()
    doc["q"] = 'say "1e-7"'  # an escaped quote: the rewrite is not attempted, the standard library writes it
    assert C.canonical_bytes(doc) == _std(doc).encode()


def test_nan_and_unwritable_values_raise_as_before():
    for bad in ({"a": float("nan")}, [1.0, [float("inf")]], {"a": -float("inf")}):
        with pytest.raises(R.BadRecordError, match="NaN"):
            R.canonical_json(bad)
        with pytest.raises(R.BadRecordError, match="NaN"):
            R.record_id(bad)
    with pytest.raises(R.BadRecordError, match="not JSON-ready"):
        R.canonical_json({"a": {1, 2}})
    # what the standard library writes, orjson refuses or writes otherwise: handed to the standard library
    class Level(enum.IntEnum):
        HIGH = 3

    for odd in ({1: "int key"}, {"big": 2 ** 80}, {"np": np.float64(1e-7)}, collections.OrderedDict(b=1e-6, a=2),
                {"e": Level.HIGH}, ("a", 1e-8)):
        assert R.canonical_json(odd) == _std(odd)
        assert C.canonical_bytes(odd) == _std(odd).encode()
    with pytest.raises(UnicodeEncodeError):
        C.canonical_bytes({"s": "\ud800"})
    assert R.canonical_json({"s": "\ud800"}) == _std({"s": "\ud800"})


def test_without_orjson_the_same_bytes(monkeypatch, rec):
    fast = C.canonical_bytes(rec)
    monkeypatch.setattr(C, "_FAST_OK", False)
    assert C.canonical_bytes(rec) == fast == _std(rec).encode()


def test_record_ids_are_unchanged(rec):
    """The id is the SHA-256 of the standard library's canonical JSON, as it always was."""
    old = hashlib.sha256(_std(rec).encode("utf-8")).hexdigest()
    assert R.record_id(rec) == old
    assert any(isinstance(v, float) and 0 < abs(v) < 1e-4 for _, v in _paths(rec)), "the record should hold small floats"
    with R.Store(":memory:") as store:
        assert store.add(rec) == old
        body, kind = store.query("SELECT body, typeof(body) FROM records")[0]
        assert body == _std(rec) and kind == "text"
        assert store.query("SELECT json_extract(body, '$.subject') FROM records") == [("P-7",)]


# ----------------------------------------------------------------------------- validation

def test_acceptor_fits_the_schema():
    assert _record._ACCEPT.enabled, _record._ACCEPT.why


def _problems_without_acceptor(monkeypatch, record):
    with monkeypatch.context() as m:
        m.setattr(_record, "_ACCEPT", lambda r: False)
        return R.problems(record)


class _Int(int):
    pass


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(), st.text(max_size=5),
                  st.just([]), st.just({}), st.just("0" * 64), st.just("x" * 40), st.just("y" * 600),
                  st.just(_Int(2)), st.just(2 ** 70), st.just("improved"), st.just("value_missing"))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_acceptor_says_valid_only_for_valid_records(monkeypatch, rec, data):
    """Mutate one field of a real record (mostly in the metric blocks); the answers agree."""
    bad = copy.deepcopy(rec)
    blocks = [p for p, _ in _paths(bad) if len(p) >= 2 and p[0] in ("metrics", "changes", "baseline")]
    others = [p for p, _ in _paths(bad) if p]
    path = data.draw(st.sampled_from(blocks) if data.draw(st.booleans()) else st.sampled_from(others))
    parent = _at(bad, path)
    action = data.draw(st.sampled_from(["delete", "replace", "add", "none"]))
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.sampled_from(["extra", "texture.new", "Bad key", "value"]))] = data.draw(_JUNK)
    elif action != "none":
        parent[path[-1]] = data.draw(_JUNK)
    accepted = _record._ACCEPT(bad)
    errors = list(jsonschema.Draft202012Validator(R.SCHEMA).iter_errors(bad))
    finite = not any(isinstance(v, float) and not math.isfinite(v) for _, v in _paths(bad))
    if accepted:
        assert not errors and finite and _record._FAST(bad) is None, (path, action)
    assert (_record._FAST(bad) is None) == (not errors and finite), (path, action)
    assert R.problems(bad) == _problems_without_acceptor(monkeypatch, bad), (path, action)


def test_acceptor_takes_ordinary_records_and_defers_on_odd_ones(rec, monkeypatch):
    assert _record._ACCEPT(rec)
    odd = copy.deepcopy(rec)
    odd["metrics"] = collections.OrderedDict(odd["metrics"])  # a valid record the quick path does not handle
    assert not _record._ACCEPT(odd) and R.is_valid(odd)
    odd = copy.deepcopy(rec)
    odd["changes"]["texture.sq"]["delta"] = _Int(1)  # an int subclass is a number: valid, via the full checker
    assert not _record._ACCEPT(odd) and R.is_valid(odd)


@pytest.mark.parametrize("where", ["metrics", "baseline", "changes", "alignment", "settings", "top"])
def test_nan_and_infinity_are_rejected_naming_the_field(rec, where, tmp_path):
    floats = [p for p, v in _paths(rec) if type(v) is float and (p[0] == where or (where == "top" and len(p) == 1))]
    if where == "top":
        floats = [("pixel_size_mm",)]
    assert floats
    for bad_value in (float("nan"), float("inf"), -float("inf")):
        bad = copy.deepcopy(rec)
        path = random.Random(len(floats)).choice(floats)
        _at(bad, path)[path[-1]] = bad_value
        found = R.problems(bad)
        assert found and any("NaN or infinity" in p for p in found), found
        assert not R.is_valid(bad)
        with R.Store(tmp_path / "s.db") as store, pytest.raises(R.BadRecordError, match="NaN or infinity"):
            store.add(bad)


def test_every_float_position_is_checked_for_nan(rec):
    for path, v in _paths(rec):
        if type(v) is float:
            bad = copy.deepcopy(rec)
            _at(bad, path)[path[-1]] = float("nan")
            assert _record._FAST(bad) is not None and not _record._ACCEPT(bad), path


def test_schema_that_does_not_fit_turns_the_acceptor_off(rec):
    schema = copy.deepcopy(R.SCHEMA)
    schema["$defs"]["metric_value"]["properties"]["value"] = {"type": ["number", "null"], "minimum": 0}
    off = make_acceptor(schema, finite=True)
    assert not off.enabled and "unsupported" in off.why and off(rec) is False
    schema = copy.deepcopy(R.SCHEMA)
    schema["properties"]["extra_metrics"] = {"$ref": "#/$defs/metrics"}  # a third place the quick path does not look
    off = make_acceptor(schema, finite=True)
    assert not off.enabled and off(rec) is False
    schema = copy.deepcopy(R.SCHEMA)
    schema["$defs"]["metric_value"]["properties"]["unit"]["maxLength"] = 3  # a changed limit is followed
    on = make_acceptor(schema, finite=True)
    assert on.enabled and not on(rec)
