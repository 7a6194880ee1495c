"""The record's canonical JSON and its validation.

* Canonical JSON: the bytes of a value holding every kind of number and string a record
  can hold are pinned (record ids are their SHA-256, so they never change); NaN, infinity
  and values JSON has no form for are refused with :class:`BadRecordError`.
* Validation: ``problems()`` (jsonschema-rs) finds a record valid exactly when the
  reference validator, the Python ``jsonschema`` package, finds no error and every number
  is finite, on random mutations of a real record; each problem names the field.
* Python types other than JSON's are judged as the JSON they are written as; those with no
  JSON form are refused naming where they are.
"""

from __future__ import annotations

import collections
import copy
import enum
import hashlib
import json
import math
import random
import types

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import texturecmp as tc
from texturecmp import records as R
from texturecmp.phantoms import skin_phantom

from conftest import json_paths as _paths

NOT_FINITE = "NaN or infinity is not a JSON number"


def _std(x):
    return json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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


def _where(path) -> str:
    """A path as problem lines write it: ``$.a.b[0]["c.d"]``."""
    out = "$"
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p.isidentifier() and p.isascii():
            out += f".{p}"
        else:
            out += f"[{json.dumps(p, ensure_ascii=False)}]"
    return out


# ----------------------------------------------------------------------------- canonical JSON

#: Every kind of token a record holds: floats Python writes with an exponent, negative zero,
#: the smallest subnormal, an integer beyond 64 bits, escapes, a character JSON leaves
#: unescaped (U+2028), keys ordered by code point (U+FFFF before U+1F600).
_PINNED = {"b": [1e-07, 1e16, -0.0, 5e-324, 2 ** 64 + 1, 0.1, 1 / 3, 123456789.0], "a": 'é"\\\n\t\x01\u2028',
           "\uffff": 1, "\U0001f600": 2, "B": None, "z": {"y": True, "x": False}}
_PINNED_TEXT = ('{"B":null,"a":"é\\"\\\\\\n\\t\\u0001\u2028","b":[1e-07,1e+16,-0.0,5e-324,18446744073709551617,0.1,'
                '0.3333333333333333,123456789.0],"z":{"x":false,"y":true},"\uffff":1,"\U0001f600":2}')


def test_canonical_json_is_pinned():
    assert R.canonical_json(_PINNED) == _PINNED_TEXT
    assert R.record_id(_PINNED) == hashlib.sha256(_PINNED_TEXT.encode("utf-8")).hexdigest()


@settings(max_examples=300, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_reads_back_bit_for_bit(x):
    doc = {"b": [x, -x], "a": {"c": x}}
    back = json.loads(R.canonical_json(doc))
    assert back["a"]["c"].hex() == x.hex() and back["b"][1].hex() == (-x).hex()


def test_record_ids_are_the_sha256_of_the_standard_librarys_form(rec):
    """The id is the SHA-256 of ``json.dumps(sort_keys, compact, ensure_ascii=False)`` and the store keeps those bytes."""
    want = hashlib.sha256(_std(rec).encode("utf-8")).hexdigest()
    assert R.record_id(rec) == want
    assert any(isinstance(v, float) and 0 < abs(v) < 1e-4 for _, v in _paths(rec)), "the record should hold small floats"
    with R.Store(":memory:") as store:
        assert store.add(rec) == want
        body, kind = store.query("SELECT body, typeof(body) FROM records")[0]
        assert body == _std(rec) and kind == "text"
        assert store.query("SELECT json_extract(body, '$.subject') FROM records") == [("P-7",)]


def test_nan_and_unwritable_values_raise():
    for bad in ({"a": float("nan")}, [1.0, [float("inf")]], {"a": -float("inf")}):
        with pytest.raises(R.BadRecordError, match="NaN"):
            R.canonical_json(bad)
        with pytest.raises(R.BadRecordError, match="NaN"):
            R.record_id(bad)
    with pytest.raises(R.BadRecordError, match="not JSON-ready"):
        R.canonical_json({"a": {1, 2}})

    class Level(enum.IntEnum):
        HIGH = 3

    # what the standard library writes, written as it writes it
    odd = {"np": np.float64(1e-7), "e": Level.HIGH, "t": ("a", 1e-8)}
    assert R.canonical_json(odd) == '{"e":3,"np":1e-07,"t":["a",1e-08]}'
    assert R.canonical_json({1: "int key"}) == '{"1":"int key"}'
    assert R.canonical_json(collections.OrderedDict(b=1e-6, a=2)) == '{"a":2,"b":1e-06}'
    assert R.canonical_json({"s": "\ud800"}) == '{"s":"\ud800"}'
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate has no UTF-8 form, so no id
        R.record_id({"s": "\ud800"})


# ----------------------------------------------------------------------------- validation

class _Int(int):
    pass


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(), st.text(max_size=5),
                  st.just([]), st.just({}), st.just("0" * 64), st.just("x" * 40), st.just("y" * 600),
                  st.just(_Int(2)), st.just(2 ** 70), st.just("improved"), st.just("value_missing"),
                  st.just({"type": "rect", "x": 1}), st.just([1.0] * 20))


def _related(a: str, b: str) -> bool:
    """Whether one problem path is the other or inside it."""
    return a == b or b == "$" or any(x.startswith(y + sep) for x, y in ((a, b), (b, a)) for sep in ".[")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_valid_exactly_when_jsonschema_says_so(rec, data):
    """Mutate one field of a real record (mostly in the metric blocks); jsonschema-rs agrees with jsonschema."""
    bad = copy.deepcopy(rec)
    blocks = [p for p, _ in _paths(bad) if len(p) >= 2 and p[0] in ("metrics", "changes", "baseline")]
    others = [p for p, _ in _paths(bad) if p]
    path = data.draw(st.sampled_from(blocks) if data.draw(st.booleans()) else st.sampled_from(others))
    parent = _at(bad, path)
    action = data.draw(st.sampled_from(["delete", "replace", "add", "none"]))
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        path = path[:-1] + (data.draw(st.sampled_from(["extra", "texture.new", "Bad key", "value"])),)
        parent[path[-1]] = data.draw(_JUNK)
    elif action != "none":
        parent[path[-1]] = data.draw(_JUNK)
    errors = list(jsonschema.Draft202012Validator(R.SCHEMA).iter_errors(bad))
    finite = not any(isinstance(v, float) and not math.isfinite(v) for _, v in _paths(bad))
    if path[0] == "settings" and not errors and finite:  # the schema allows it: let the hash follow the settings
        bad["settings_sha256"] = hashlib.sha256(R.canonical_json(bad["settings"]).encode("utf-8")).hexdigest()
    found = R.problems(bad)
    assert (not found) == (not errors and finite), (path, action, found, [e.message for e in errors])
    if found:
        assert all(line.startswith("$") and ": " in line for line in found)
        # a line names the changed field, or a field of the object it is in (a value set to null makes
        # its note required; a region without its "default" should have a shape)
        assert any(_related(line.split(": ", 1)[0], _where(path[:-1])) for line in found), (path, found)
        with pytest.raises(R.BadRecordError) as ei:
            R.validate(bad)
        assert list(ei.value.problems) == found


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
        assert found == [f"{_where(path)}: {NOT_FINITE} (a value that cannot be computed is null with a note)"], found
        with R.Store(tmp_path / "s.db") as store, pytest.raises(R.BadRecordError, match="NaN or infinity"):
            store.add(bad)


def test_every_float_position_is_checked_for_nan(rec):
    for path, v in _paths(rec):
        if type(v) is float:
            bad = copy.deepcopy(rec)
            _at(bad, path)[path[-1]] = float("nan")
            assert [line.split(": ", 1)[0] for line in R.problems(bad) if NOT_FINITE in line] == [_where(path)], path


class _Str(str):
    pass


class _Level(enum.IntEnum):
    TWO = 2


@pytest.mark.parametrize("value", [np.float64(0.25), _Int(2), _Level.TWO])
def test_other_python_numbers_are_judged_as_their_json(rec, value):
    """A numpy float, an int subclass or an IntEnum is a JSON number: valid, stored as the number it writes."""
    odd = copy.deepcopy(rec)
    odd["metrics"]["texture.sq"]["value"] = value
    odd["session"] = _Str("w4")
    plain = json.loads(R.canonical_json(odd))
    assert R.problems(odd) == [] and R.record_id(odd) == R.record_id(plain)
    with R.Store(":memory:") as store:
        assert store.add(odd) == R.record_id(plain) and store.get(R.record_id(plain)) == plain


@pytest.mark.parametrize("where, value, says", [
    (("metrics", "texture.sq", "value"), np.int64(2), "int64"),
    (("quality_flags",), {"blur"}, "set"),
    (("photo",), None, "mappingproxy"),
    (("session",), "w\ud800", "surrogates not allowed"),
])
def test_values_without_a_json_form_are_refused_naming_where(rec, where, value, says):
    bad = copy.deepcopy(rec)
    if value is None:
        value = types.MappingProxyType(bad["photo"])
    _at(bad, where)[where[-1]] = value
    found = R.problems(bad)
    assert len(found) == 1 and found[0].startswith(f"{_where(where)}: not a JSON value (") and says in found[0], found
    with R.Store(":memory:") as store, pytest.raises(R.BadRecordError) as ei:
        store.add(bad)
    assert str(ei.value).startswith("record 0: invalid texturecmp record (1 problem): ") and ei.value.problems == (found[0],)


@pytest.mark.parametrize("mutate, line", [
    (lambda r: r["settings"].__setitem__("Bad key", 1),
     r'$.settings["Bad key"]: bad name ("Bad key" does not match "^[a-z][a-z0-9_]{0,63}$")'),
    (lambda r: r["metrics"].__setitem__("sq", r["metrics"]["texture.sq"]),
     r'$.metrics.sq: bad name ("sq" does not match "^[a-z][a-z0-9_]*\.[A-Za-z0-9_]+$")'),
    (lambda r: r["regions"].__setitem__("lesion", {"mask_sha256": "0" * 64, "default": "ring", "area_px": 5}),
     "$.regions.lesion: matches more than one of the alternatives (give exactly one)"),
    (lambda r: r["metrics"]["texture.sq"].__setitem__("unit", "y" * 600),
     '$.metrics["texture.sq"].unit: expected at most 32 characters, got 600'),
    (lambda r: r.__setitem__("schema_version", 2), "$.schema_version: expected 1, got 2"),
    (lambda r: r["metrics"]["texture.sq"].update(value=None, note=""),
     "$.metrics[\"texture.sq\"].note: expected at least 1 character, got ''"),
    (lambda r: r["alignment"].__setitem__("moving_shape", [1]), "$.alignment.moving_shape: [1] has less than 2 items"),
    (lambda r: r["changes"]["texture.sq"].__setitem__("verdict", "y" * 600),
     "$.changes[\"texture.sq\"].verdict: '" + "y" * 56 + "... is not one of 'improved', 'worsened', 'changed', "
     "'no detectable change', 'not computable', 'not comparable'"),
])
def test_problem_lines_name_the_field_and_what_is_wrong(rec, mutate, line):
    bad = copy.deepcopy(rec)
    mutate(bad)
    assert R.problems(bad) == [line]
    with R.Store(":memory:") as store, pytest.raises(R.BadRecordError) as ei:
        store.add(bad)
    assert ei.value.problems == (line,) and line in str(ei.value)


def test_a_measurement_record_names_each_comparison_field(rec):
    bad = dict(rec, kind="measurement")
    fields = ["alignment", "baseline", "changes", "colour_truth", "photometric", "test_retest_mdc95"]
    assert R.problems(bad) == [f"$.{f}: not allowed in a measurement record" for f in fields]


def test_json_schema_semantics_where_python_differs(rec):
    """A pattern's ``$`` is the end of the string (ECMA-262), not before a final newline as in Python's ``re``;
    ``true`` is not the number 1, and 1.0 is (JSON Schema compares numbers by value)."""
    bad = copy.deepcopy(rec)
    bad["photo"]["sha256"] += "\n"
    assert R.problems(bad) == [f"$.photo.sha256: expected a SHA-256 (64 lowercase hex digits), got {bad['photo']['sha256']!r}"]
    assert R.problems(dict(rec, schema_version=True)) == ["$.schema_version: expected 1, got True"]
    assert R.problems(dict(rec, schema_version=1.0)) == []
