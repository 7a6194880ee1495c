"""A quick "valid" for ordinary records: the metric blocks checked by specialised code (private).

A comparison record is mostly its metric blocks: ``metrics`` and ``baseline.metrics`` (one
``metric_value`` per metric) and ``changes`` (one ``change`` per metric), some 120 small
objects of 4 or 11 scalar fields. The generic checker (:mod:`._fastschema`) tests each
field's presence, type and constraints in turn and loops over its keys for unknown ones;
here an object is one comparison of its key set and a row of exact type tests, generated
from the schema.

:func:`make_acceptor` returns ``accept(record) -> bool``:

* **True** only when the record is valid: the record without its metric blocks (the
  schema with those blocks reduced to ``{"type": "object"}``) passes the compiled
  checker, and every block passes tests that are each at least as strict as the
  schema's: exact ``dict``, ``str``, ``bool``, ``int`` or ``float`` types, finite floats
  (with ``finite=True``), no missing or unknown field.
* **False** means "not shown valid here": the caller then runs the full checker, which
  decides and finds the problem. A test stricter than the schema (an ``int`` subclass,
  a ``Mapping`` that is not a ``dict``) therefore only costs time, never a wrong answer.

The blocks are recognised from the schema: ``$defs.metrics`` and ``properties.changes``
must be objects whose property names follow a ``pattern`` and whose values are *flat*
objects (every property required, no others, each a number-or-null, number, boolean,
string with length limits, or enum of strings; an ``if`` a field is null ``then`` a
string field has a minimum length). ``$defs.metrics`` must be used exactly as
``record.metrics`` and ``record.baseline.metrics``. When the schema no longer fits
these forms, the acceptor always answers False (``accept.enabled`` is False, and a test
says so) and the full checker does all the work.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Mapping
from typing import Any, Callable

from texturecmp.records._fastschema import _regex, compile_schema

__all__ = ["make_acceptor"]

_NUMBER_OR_NULL = [["number", "null"], ["null", "number"]]


class _Unfit(Exception):
    """The schema is not of the form the specialised code is written for."""


def _strip(node: Any) -> Any:
    """A subschema without its annotations (what validation depends on)."""
    if isinstance(node, Mapping):
        return {k: _strip(v) for k, v in node.items() if k not in ("description", "title", "$comment", "examples")}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _deref(root: Mapping, node: Any) -> Any:
    node = _strip(node)
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node:
        if set(node) != {"$ref"} or not str(node["$ref"]).startswith("#/$defs/") or seen > 8:
            raise _Unfit(f"unsupported $ref form {node!r}")
        node = _strip(root["$defs"][node["$ref"][len("#/$defs/"):]])
        seen += 1
    return node


def _refs(node: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """Every ``$ref`` in a schema with the path of the object holding it."""
    out = []
    if isinstance(node, Mapping):
        if "$ref" in node:
            out.append((path, node["$ref"]))
        for k, v in node.items():
            out += _refs(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _refs(v, path + (i,))
    return out


def _field(root: Mapping, sub: Any, consts: dict) -> tuple[tuple[type, ...], list[str]]:
    """(exact types allowed, extra conditions on ``{v}`` that make it invalid) for one field of a flat object."""
    sub = _deref(root, sub)
    if set(sub) == {"type"} and sub["type"] in _NUMBER_OR_NULL:
        return (int, float, type(None)), ["{v} is not None and {v} - {v}"]  # nan - nan and inf - inf are nan
    if sub == {"type": "number"}:
        return (int, float), ["{v} - {v}"]
    if sub == {"type": "boolean"}:
        return (bool,), []
    if sub.get("type") == "string" and set(sub) <= {"type", "maxLength", "minLength"}:
        bad = []
        if "maxLength" in sub:
            bad.append(f"len({{v}}) > {int(sub['maxLength'])}")
        if "minLength" in sub:
            bad.append(f"len({{v}}) < {int(sub['minLength'])}")
        return (str,), bad
    if set(sub) == {"enum"} and sub["enum"] and all(type(o) is str for o in sub["enum"]):
        c = f"_e{len(consts)}"
        consts[c] = frozenset(sub["enum"])
        return (str,), [f"{{v}} not in {c}"]
    raise _Unfit(f"unsupported field subschema {sub!r}")


def _item_lines(root: Mapping, node: Any, consts: dict, finite: bool, ind: str) -> list[str]:
    """Lines checking that ``x`` is valid against a flat object schema (``return False`` when not shown valid).

    The number of keys, the fields fetched by one ``itemgetter``, then one chain of tests:
    each field's exact type, then its constraints (lengths, enums, finite numbers).
    """
    node = _deref(root, node)
    props = node.get("properties", {})
    allowed = {"type", "additionalProperties", "required", "properties", "if", "then"}
    if (set(node) - allowed or node.get("type") != "object" or node.get("additionalProperties") is not False
            or set(node.get("required", ())) != set(props) or not props):
        raise _Unfit(f"not a flat object schema: {sorted(node)}")
    names = list(props)
    n = len(consts)
    get = f"_g{n}"
    consts[get] = operator.itemgetter(*names) if len(names) > 1 else (lambda x, _n=names[0]: (x[_n],))
    var = {name: f"f{i}" for i, name in enumerate(names)}
    # len(x) == n and every one of the n names present (itemgetter raises KeyError otherwise,
    # which the caller takes as "not shown valid") is exactly the key set
    lines = [f"{ind}if type(x) is not dict or len(x) != {len(names)}:", f"{ind}    return False",
             f"{ind}{', '.join(var.values())}{',' if len(names) == 1 else ''} = {get}(x)"]
    bad = []  # one condition per test, each field's type test before its other tests
    for name in names:
        allowed_types, conds = _field(root, props[name], consts)
        v = var[name]
        t = f"_t{len(consts)}"
        if len(allowed_types) == 1:
            consts[t] = allowed_types[0]
            bad.append(f"type({v}) is not {t}")
        else:
            consts[t] = frozenset(allowed_types)
            bad.append(f"type({v}) not in {t}")
        if not finite and float in allowed_types:
            conds = []  # finiteness is the only numeric condition
        bad += [f"({c.format(v=v)})" for c in conds]
    if "if" in node or "then" in node:
        # the one conditional form supported: if field A is null, then string field B has a minimum length
        cond, then = node.get("if", {}), node.get("then", {})
        cp, tp = cond.get("properties", {}), then.get("properties", {})
        if set(cond) != {"properties"} or set(then) != {"properties"} or len(cp) != 1 or len(tp) != 1:
            raise _Unfit("unsupported if/then")
        (a, a_sub), (b, b_sub) = next(iter(cp.items())), next(iter(tp.items()))
        if (a not in props or b not in props or _deref(root, a_sub) != {"type": "null"} or set(b_sub) != {"minLength"}
                or _deref(root, props[b]).get("type") != "string"):
            raise _Unfit("unsupported if/then")
        bad.append(f"({var[a]} is None and len({var[b]}) < {int(b_sub['minLength'])})")
    lines += [f"{ind}if ({' or '.join(bad)}):", f"{ind}    return False"]
    return lines


def _block(root: Mapping, node: Any, consts: dict, finite: bool, n: int) -> tuple[str, str]:
    """(source, name) of ``_block<n>(d) -> bool`` for {type object, propertyNames pattern, additionalProperties flat}."""
    node = _deref(root, node)
    if set(node) != {"type", "propertyNames", "additionalProperties"} or node["type"] != "object":
        raise _Unfit(f"not a metric block: {sorted(node)}")
    names = _deref(root, node["propertyNames"])
    if set(names) - {"type", "pattern"} or names.get("type", "string") != "string" or "pattern" not in names:
        raise _Unfit("property names must be a string pattern")
    rx, known = f"_rx{n}", f"_names{n}"  # names seen to match, so the pattern runs once per name
    consts[rx], consts[known] = _regex(names["pattern"]), set()
    lines = [f"def _block{n}(d):",
             "    if type(d) is not dict:",
             "        return False",
             "    for k, x in d.items():",
             f"        if k not in {known}:",
             f"            if type(k) is not str or not {rx}.search(k):",
             "                return False",
             f"            if len({known}) < 4096:",
             f"                {known}.add(k)"]
    lines += _item_lines(root, node["additionalProperties"], consts, finite, " " * 8)
    lines.append("    return True")
    return "\n".join(lines) + "\n", f"_block{n}"


def make_acceptor(schema: Mapping[str, Any], *, finite: bool = False) -> Callable[[Any], bool]:
    """``accept(record) -> bool``: True only for valid records (see the module docstring).

    ``finite`` as in :func:`texturecmp.records._fastschema.compile_schema`. The returned
    function has ``enabled`` (False: the schema did not fit, it always answers False) and
    ``why`` (the reason it did not fit).
    """
    try:
        where = sorted(p for p, ref in _refs(schema) if ref == "#/$defs/metrics")
        if where != [("$defs", "baseline", "properties", "metrics"), ("properties", "metrics")]:
            raise _Unfit(f"$defs.metrics is used at {where}")
        if sorted(p for p, ref in _refs(schema) if ref == "#/$defs/baseline") != [("properties", "baseline")]:
            raise _Unfit("$defs.baseline is used elsewhere than record.baseline")
        if "changes" not in schema.get("properties", {}):
            raise _Unfit("no changes block")
        consts: dict[str, Any] = {}
        src_m, metrics = _block(schema, schema["$defs"]["metrics"], consts, finite, 0)
        src_c, changes = _block(schema, schema["properties"]["changes"], consts, finite, 1)
        skeleton_schema = copy.deepcopy(dict(schema))
        skeleton_schema["$defs"]["metrics"] = {"type": "object"}
        skeleton_schema["properties"]["changes"] = {"type": "object"}
        skeleton = compile_schema(skeleton_schema, finite=finite)
        exec(compile(src_m + src_c, "<texturecmp.records fast acceptor>", "exec"), consts)
    except _Unfit as exc:
        def never(record: Any) -> bool:
            return False

        never.enabled, never.why, never.source = False, str(exc), ""  # type: ignore[attr-defined]
        return never

    block_m, block_c = consts[metrics], consts[changes]

    def accept(record: Any) -> bool:
        try:
            if type(record) is not dict or skeleton(record) is not None or not block_m(record["metrics"]):
                return False
            if "baseline" in record and not block_m(record["baseline"]["metrics"]):
                return False
            return "changes" not in record or block_c(record["changes"])
        except Exception:  # noqa: BLE001 - anything odd: let the full checker decide
            return False

    accept.enabled, accept.why, accept.source = True, "", src_m + src_c  # type: ignore[attr-defined]
    return accept
