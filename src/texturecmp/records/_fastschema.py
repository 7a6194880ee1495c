"""A small JSON Schema (draft 2020-12) checker compiled to Python source (private).

``jsonschema`` takes about 50 ms to check one comparison record (its ~200 nested objects
go through its generic, annotation-collecting machinery), so inserting 10,000 records
would spend minutes there. This module turns the subset of keywords the record schema
uses into straight-line Python (one function per ``$defs`` entry), which checks a record
in about a millisecond or less. It answers "valid, or the first problem and its path";
:func:`texturecmp.records.validate` then asks ``jsonschema`` for the full list of
problems. The test-suite checks that both agree on valid records and on random mutations
of them. An unsupported keyword raises at compile time, so the schema cannot silently
outgrow this checker.

Semantics follow the specification where Python differs: ``integer`` accepts 1.0,
``true`` is not equal to 1 in ``enum``/``const``, and a pattern's final ``$`` matches only
at the very end of the string (ECMA-262), not before a trailing newline (Python ``re``).
With ``finite=True`` numbers must also be finite (NaN and infinity are not JSON).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable

__all__ = ["compile_schema"]

_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "$comment", "default", "examples"}
_KEYWORDS = {"$ref", "type", "const", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum",
             "exclusiveMinimum", "exclusiveMaximum", "items", "minItems", "maxItems", "uniqueItems", "required",
             "properties", "additionalProperties", "propertyNames", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"}
#: Exact Python types of each JSON type (fast path; subclasses go through _is_type).
_PY = {"object": (dict,), "array": (list,), "string": (str,), "null": (type(None),), "boolean": (bool,),
       "number": (int, float), "integer": (int,)}


NOT_FINITE = "NaN or infinity is not a JSON number (a value that cannot be computed is null with a note)"


class _Invalid(Exception):
    """args = (path list, message)."""


def _is_type(x: Any, t: str) -> bool:
    if t == "object":
        return isinstance(x, Mapping)
    if t == "array":
        return isinstance(x, list)
    if t == "string":
        return isinstance(x, str)
    if t == "null":
        return x is None
    if t == "boolean":
        return isinstance(x, bool)
    if t == "number":
        return isinstance(x, (int, float)) and not isinstance(x, bool)
    if t == "integer":
        return (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())
    raise ValueError(f"unknown JSON type {t!r}")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


def _unique(items: list) -> bool:
    return all(not _equal(items[i], items[j]) for i in range(len(items)) for j in range(i))


def _isnum(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _regex(pattern: str) -> re.Pattern:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


class _Gen:
    def __init__(self, root: Any, finite: bool = False):
        self.root = root
        self.finite = finite
        self.ns: dict[str, Any] = {"_Invalid": _Invalid, "_is_type": _is_type, "_equal": _equal, "_unique": _unique,
                                   "_isnum": _isnum, "Mapping": Mapping}
        self.funcs: list[str] = []
        self.refs: dict[str, str] = {}
        self.inlining: list[str] = []
        self.boolean = False
        self.n = 0

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def const(self, value: Any) -> str:
        nm = self.name("_c")
        self.ns[nm] = value
        return nm

    def function(self, schema: Any, *, boolean: bool = False) -> str:
        """A function ``f(x)`` checking schema: raises _Invalid with the path relative to x,
        or (``boolean``) returns whether x is valid, without raising (cheap in the common case)."""
        fn = self.name("_p" if boolean else "_f")
        saved, self.boolean = self.boolean, boolean
        try:
            body = self.node(schema, "x", [], 1)
        finally:
            self.boolean = saved
        tail = ["    return True"] if boolean else ([] if body else ["    pass"])
        self.funcs.append(f"def {fn}(x):\n" + "\n".join(body + tail) + "\n")
        return fn

    def predicate(self, schema: Any, v: str) -> str:
        """An expression that is True exactly when ``v`` is valid against ``schema`` (for anyOf / oneOf branches).

        A branch that is only a ``type`` or only a ``required`` gets an inline test for the
        common case in front of the call (a sufficient condition: when it fails, the call decides).
        """
        call = f"{self.function(schema, boolean=True)}({v})"
        keys = set(schema) - _ANNOTATIONS if isinstance(schema, Mapping) else {None}
        if keys == {"type"}:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            exact = tuple({t for name in types for t in _PY[name]})
            quick = f"type({v}) in {self.const(exact)}"
            if self.finite and float in exact:
                quick += f" and (type({v}) is not float or {v} - {v} == 0.0)"
            return f"({quick} or {call})"
        if keys == {"required"}:
            return f"((type({v}) is dict and {self.const(frozenset(schema['required']))}.issubset({v})) or {call})"
        return call

    def target(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise NotImplementedError(f"only local $ref are supported, got {ref!r}")
        t = self.root
        for part in ref[2:].split("/"):
            t = t[part.replace("~1", "/").replace("~0", "~")]
        return t

    def ref(self, ref: str) -> str:
        if ref not in self.refs:
            fn = self.name("_ref")
            self.refs[ref] = fn
            saved, self.boolean = self.boolean, False
            body = self.node(self.target(ref), "x", [], 1)
            self.boolean = saved
            self.funcs.append(f"def {fn}(x):\n" + ("\n".join(body) if body else "    pass") + "\n")
        return self.refs[ref]

    def fail(self, path: list[str], msg: str, ind: int) -> str:
        if self.boolean:
            return " " * (4 * ind) + "return False"
        return " " * (4 * ind) + f"raise _Invalid([{', '.join(path)}], {msg!r})"

    def call(self, fn: str, var: str, path: list[str], ind: int) -> list[str]:
        """Call a sub-function; prefix the path of its errors."""
        sp = " " * (4 * ind)
        if not path:
            return [f"{sp}{fn}({var})"]
        return [f"{sp}try:", f"{sp}    {fn}({var})", f"{sp}except _Invalid as e:",
                f"{sp}    e.args[0][:0] = [{', '.join(path)}]", f"{sp}    raise"]

    def node(self, schema: Any, v: str, path: list[str], ind: int) -> list[str]:
        sp = " " * (4 * ind)
        if schema is True:
            return []
        if schema is False:
            return [self.fail(path, "not allowed here", ind)]
        if not isinstance(schema, Mapping):
            raise TypeError(f"schema must be a mapping or a boolean, got {type(schema).__name__}")
        unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
        if unknown:
            raise NotImplementedError(f"schema keyword(s) not supported by the fast checker: {sorted(unknown)}")
        out: list[str] = []
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in self.inlining:  # recursive: call a function
                if self.boolean:
                    out += [f"{sp}try:", f"{sp}    {self.ref(ref)}({v})", f"{sp}except _Invalid:", f"{sp}    return False"]
                else:
                    out += self.call(self.ref(ref), v, path, ind)
            else:
                self.inlining.append(ref)
                out += self.node(self.target(ref), v, path, ind)
                self.inlining.pop()
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            exact = self.const(tuple({t for name in types for t in _PY[name]}))
            tl = self.const(tuple(types))
            out += [f"{sp}if type({v}) not in {exact} and not any(_is_type({v}, t) for t in {tl}):",
                    self.fail(path, f"expected {' or '.join(types)}", ind + 1)]
            if self.finite and {"number", "integer"} & set(types):
                out += [f"{sp}if isinstance({v}, float) and {v} - {v} != 0.0:",  # nan - nan, inf - inf: nan
                        self.fail(path, NOT_FINITE, ind + 1)]
        if "const" in schema:
            c = self.const(schema["const"])
            out += [f"{sp}if not ((type({v}) is type({c}) and {v} == {c}) or _equal({v}, {c})):",
                    self.fail(path, f"expected {schema['const']!r}", ind + 1)]
        if "enum" in schema:
            opts = list(schema["enum"])
            s = self.const(frozenset(o for o in opts if isinstance(o, str)))
            o = self.const(opts)
            out += [f"{sp}if not ((type({v}) is str and {v} in {s}) or any(_equal({v}, q) for q in {o})):",
                    self.fail(path, f"not one of {opts!r}", ind + 1)]
        str_checks = []
        if "pattern" in schema:
            rx = self.const(_regex(schema["pattern"]))
            str_checks.append((f"not {rx}.search({v})", f"does not match {schema['pattern']!r}"))
        if "minLength" in schema:
            str_checks.append((f"len({v}) < {int(schema['minLength'])}", f"shorter than {schema['minLength']}"))
        if "maxLength" in schema:
            str_checks.append((f"len({v}) > {int(schema['maxLength'])}", f"longer than {schema['maxLength']}"))
        if str_checks:
            out.append(f"{sp}if isinstance({v}, str):")
            for cond, msg in str_checks:
                out += [f"{sp}    if {cond}:", self.fail(path, msg, ind + 2)]
        num_checks = []
        for kw, op in (("minimum", "<"), ("maximum", ">"), ("exclusiveMinimum", "<="), ("exclusiveMaximum", ">=")):
            if kw in schema:
                num_checks.append((f"{v} {op} {self.const(schema[kw])}", f"{kw} {schema[kw]}"))
        if num_checks:
            out.append(f"{sp}if _isnum({v}):")
            for cond, msg in num_checks:
                out += [f"{sp}    if {cond}:", self.fail(path, msg, ind + 2)]
        arr = []
        if "minItems" in schema:
            arr += [f"{sp}    if len({v}) < {int(schema['minItems'])}:", self.fail(path, f"fewer than {schema['minItems']} items", ind + 2)]
        if "maxItems" in schema:
            arr += [f"{sp}    if len({v}) > {int(schema['maxItems'])}:", self.fail(path, f"more than {schema['maxItems']} items", ind + 2)]
        if schema.get("uniqueItems"):
            arr += [f"{sp}    if not _unique({v}):", self.fail(path, "items are not unique", ind + 2)]
        if "items" in schema:
            i, w = self.name("i"), self.name("w")
            inner = self.node(schema["items"], w, path + [i], ind + 2)
            if inner:
                arr += [f"{sp}    for {i}, {w} in enumerate({v}):"] + inner
        if arr:
            out += [f"{sp}if isinstance({v}, list):"] + arr
        obj = []
        if "required" in schema:
            k = self.name("k")
            req = self.const(tuple(schema["required"]))
            reqset = self.const(frozenset(schema["required"]))
            obj += [f"{sp}    if not {reqset}.issubset({v}):", f"{sp}        for {k} in {req}:",
                    f"{sp}            if {k} not in {v}:", self.fail(path + [k], "missing (required)", ind + 4)]
        props = schema.get("properties", {})
        for name, sub in props.items():
            w = self.name("w")
            inner = self.node(sub, w, path + [repr(name)], ind + 2)
            if inner:
                obj += [f"{sp}    if {name!r} in {v}:", f"{sp}        {w} = {v}[{name!r}]"] + inner
        addl = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        if addl is not True or names is not None:
            k, w = self.name("k"), self.name("w")
            known = self.const(frozenset(props))
            loop = [f"{sp}    for {k}, {w} in {v}.items():"]
            if names is not None:
                seen = self.const(set())  # names that passed: the same keys recur in every record
                loop += [f"{sp}        if {k} not in {seen}:"]
                if self.boolean:
                    fn = self.function(names, boolean=True)
                    loop += [f"{sp}            if not {fn}({k}):", f"{sp}                return False"]
                else:
                    fn = self.function(names)
                    loop += [f"{sp}            try:", f"{sp}                {fn}({k})", f"{sp}            except _Invalid as e:",
                             f"{sp}                raise _Invalid([{', '.join(path + [k])}], 'bad name (' + e.args[1] + ')') from None"]
                loop += [f"{sp}            if len({seen}) < 4096:", f"{sp}                {seen}.add({k})"]
            if addl is False and names is None:
                loop = [f"{sp}    if not {known}.issuperset({v}):", f"{sp}        for {k} in {v}:",
                        f"{sp}            if {k} not in {known}:", self.fail(path + [k], "unexpected field", ind + 4)]
            elif addl is False:
                loop += [f"{sp}        if {k} not in {known}:", self.fail(path + [k], "unexpected field", ind + 3)]
            elif addl is not True:
                inner = self.node(addl, w, path + [k], ind + 3)
                if inner:
                    loop += [f"{sp}        if {k} not in {known}:"] + inner if props else inner_shift(inner)
            if len(loop) > 1:
                obj += loop
        if obj:
            out += [f"{sp}if type({v}) is dict or isinstance({v}, Mapping):"] + obj
        for sub in schema.get("allOf", []):
            out += self.node(sub, v, path, ind)
        # anyOf / oneOf: boolean versions of the branches decide without raising; the raising
        # versions run only to report a failure (exceptions cost more than the checks)
        for kw, join, failed, report in (("anyOf", " or ", "not ({})", _anyof), ("oneOf", " + ", "{} != 1", _oneof)):
            if kw not in schema:
                continue
            preds = [self.predicate(s, v) for s in schema[kw]]
            test = failed.format(join.join(preds))
            if self.boolean:
                out += [f"{sp}if {test}:", f"{sp}    return False"]
            else:
                fns = "[" + ", ".join(self.function(s) for s in schema[kw]) + "]"
                out += [f"{sp}if {test}:", f"{sp}    {report.__name__}({fns}, {v}, [{', '.join(path)}])"]
                self.ns[report.__name__] = report
        if "not" in schema:
            fn = self.function(schema["not"])
            out += [f"{sp}try:", f"{sp}    {fn}({v})", f"{sp}except _Invalid:", f"{sp}    pass", f"{sp}else:",
                    self.fail(path, "matches a schema it must not", ind + 1)]
        if "if" in schema:
            cond = self.function(schema["if"], boolean=True)
            then = self.node(schema.get("then", True), v, path, ind + 1) or [f"{sp}    pass"]
            other = self.node(schema.get("else", True), v, path, ind + 1) or [f"{sp}    pass"]
            out += [f"{sp}if {cond}({v}):"] + then + [f"{sp}else:"] + other
        return out


def inner_shift(lines: list[str]) -> list[str]:
    """Lines of an additionalProperties check when there are no fixed properties (already at loop depth + 1)."""
    return [ln[4:] for ln in lines]


def _anyof(fns: list, x: Any, path: list) -> None:
    first = None
    for f in fns:
        try:
            f(x)
            return
        except _Invalid as e:
            first = first or e
    first.args[0][:0] = path
    raise first


def _oneof(fns: list, x: Any, path: list) -> None:
    errs = []
    for f in fns:
        try:
            f(x)
        except _Invalid as e:
            errs.append(e)
    ok = len(fns) - len(errs)
    if ok == 1:
        return
    if ok == 0:
        deepest = max(errs, key=lambda e: len(e.args[0]))
        if deepest.args[0]:
            deepest.args[0][:0] = path
            raise deepest
        raise _Invalid(list(path), "matches none of the alternatives")
    raise _Invalid(list(path), f"matches {ok} alternatives, expected exactly one")


def compile_schema(schema: Any, *, finite: bool = False) -> Callable[[Any], "tuple[list, str] | None"]:
    """Compile a schema into ``check(instance) -> None | (path, message)``.

    ``path`` lists the keys and indices from the instance root to the first failing value.
    With ``finite``, a value that a ``number`` or ``integer`` type accepts must also be
    finite: JSON has no NaN or infinity, but a Python float can be one, and jsonschema
    takes it for a number.
    """
    gen = _Gen(schema, finite)
    top = gen.function(schema)
    source = "\n".join(gen.funcs)
    exec(compile(source, "<texturecmp.records schema checker>", "exec"), gen.ns)
    fn = gen.ns[top]

    def check(x: Any) -> tuple[list, str] | None:
        try:
            fn(x)
        except _Invalid as e:
            return (list(e.args[0]), e.args[1])
        except RecursionError:
            return ([], "nested too deeply")
        return None

    check.source = source  # type: ignore[attr-defined]
    return check
