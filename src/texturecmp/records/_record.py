"""The record: build from results, validate, canonical JSON, content id (private; see texturecmp.records)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import re
from importlib import resources
from typing import Any, Iterable, Mapping, Sequence

import jsonschema_rs

from texturecmp.errors import TextureCmpError

__all__ = [
    "BadRecordError", "SCHEMA", "SCHEMA_VERSION", "measurement_record", "comparison_record", "series_records",
    "validate", "is_valid", "problems", "canonical_json", "record_id", "dumps", "loads", "read_records",
    "normalize_date", "date_sort_key",
]

#: Version of the record format written by this texturecmp (the schema's ``schema_version``).
SCHEMA_VERSION = 1


class BadRecordError(TextureCmpError):
    """A record does not follow the record schema; the message lists every problem with its JSON path.

    Attributes
    ----------
    problems : tuple of str
        One ``"$.path.to.field: what is wrong"`` line per problem.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = tuple(problems) or (message,)


def _load_schema() -> Mapping[str, Any]:
    text = resources.files("texturecmp").joinpath("data/record.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


_SCHEMA: dict[str, Any] = _load_schema()
#: The record's JSON Schema (draft 2020-12), loaded from the file shipped in the package
#: (``texturecmp/data/record.schema.json``). A copy: changing it does not change validation.
SCHEMA: dict[str, Any] = _load_schema()
_VALIDATOR: Any = None


def _validator() -> Any:
    """The record schema's validator (jsonschema-rs, compiled on first use)."""
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = jsonschema_rs.Draft202012Validator(_SCHEMA)
    return _VALIDATOR


# ----------------------------------------------------------------------------- canonical JSON

def _not_ready(exc: Exception) -> BadRecordError:
    return BadRecordError(f"$: the record is not JSON-ready ({exc}); NaN must be null with a note")


def canonical_json(record: Mapping[str, Any]) -> str:
    """The record's canonical JSON: sorted keys, no spaces, UTF-8 text, no NaN.

    Exactly ``json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    allow_nan=False)``: Python's shortest round-trip form of every float (``repr``),
    integers of any size, strings unescaped except for ``"``, ``\\`` and control characters.

    Raises
    ------
    BadRecordError
        When the record holds NaN/inf or a value JSON cannot represent.
    """
    try:
        return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _not_ready(exc) from None


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """:func:`canonical_json` as UTF-8 bytes (what :func:`record_id` hashes and the store keeps).

    Raises
    ------
    BadRecordError
        As :func:`canonical_json`.
    UnicodeEncodeError
        For a string holding a lone surrogate (it has no UTF-8 form).
    """
    return canonical_json(record).encode("utf-8")


def record_id(record: Mapping[str, Any]) -> str:
    """Content id of a record: SHA-256 (hex) of its canonical JSON. Equal records have equal ids."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


def dumps(record: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """JSON text of a record (or of a list of records), for a file; ``loads(dumps(r)) == r``."""
    try:
        return json.dumps(record, indent=indent, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadRecordError(f"$: the record is not JSON-ready ({exc}); NaN must be null with a note") from None


def loads(text: str | bytes) -> Any:
    """Parse JSON text; NaN/Infinity literals (not JSON) are rejected."""
    def _bad(token: str) -> Any:
        raise BadRecordError(f"$: {token} is not valid JSON; a value that cannot be computed is null with a note")

    try:
        return json.loads(text, parse_constant=_bad)
    except json.JSONDecodeError as exc:
        raise BadRecordError(f"$: not valid JSON ({exc})") from None


def read_records(data: Any) -> list[dict[str, Any]]:
    """Records from parsed JSON: one record, a list of records, or an export ``{"records": [...]}``."""
    if isinstance(data, list):
        items = data
    elif isinstance(data, Mapping) and "records" in data and "subject" not in data:
        items = data["records"]
        if not isinstance(items, list):
            raise BadRecordError("$.records: expected a list of records")
    elif isinstance(data, Mapping):
        items = [data]
    else:
        raise BadRecordError(f"$: expected a record (a JSON object) or a list of records, got {type(data).__name__}")
    return [dict(x) if isinstance(x, Mapping) else x for x in items]


def _jsonable(x: Any) -> Any:
    """Plain JSON types (numpy scalars -> Python, tuples -> lists, NaN/inf -> None)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x) if math.isfinite(x) else None
    if hasattr(x, "item"):  # numpy scalar
        return _jsonable(x.item())
    return x


# ----------------------------------------------------------------------------- dates and ids

_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ID_RE = re.compile(_SCHEMA["$defs"]["identifier"]["pattern"])


def normalize_date(value: Any, *, name: str = "date") -> str | None:
    """A capture date as the record stores it.

    Parameters
    ----------
    value : None, datetime.date, datetime.datetime or str
        A date, or a date-time **with a time zone** (naive date-times are ambiguous and
        rejected), or ISO 8601 text of either.
    name : str
        Argument name used in error messages.

    Returns
    -------
    str or None
        ``YYYY-MM-DD``, or ``YYYY-MM-DDThh:mm:ss`` with ``Z`` or ``±hh:mm`` (seconds kept,
        fractions dropped): the forms FHIR's ``dateTime`` accepts.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if _DATE_RE.match(text):
            try:
                return _dt.date.fromisoformat(text).isoformat()
            except ValueError:
                raise BadRecordError(f"{name}: {value!r} is not a calendar date") from None
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise BadRecordError(f"{name}: expected YYYY-MM-DD or an ISO 8601 date-time with a time zone, got {value!r}") from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise BadRecordError(f"{name}: the date-time {value.isoformat()} has no time zone; give one "
                                 "(e.g. 2024-03-01T10:30:00+01:00) or pass only the date")
        out = value.replace(microsecond=0).isoformat()
        return out[:-6] + "Z" if out.endswith("+00:00") else out
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise BadRecordError(f"{name}: expected a date, an aware datetime or ISO 8601 text, got {type(value).__name__}")


def date_sort_key(date: str | None) -> str | None:
    """Sort key of a record date: the date itself, or the date-time in UTC (``YYYY-MM-DDThh:mm:ss``)."""
    if date is None:
        return None
    if len(date) == 10:
        return date
    d = _dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
    return d.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _identifier(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BadRecordError(f"{name}: expected the user's identifier as a string, got {type(value).__name__}")
    if not _ID_RE.match(value):
        raise BadRecordError(f"{name}: expected 1-128 characters without control characters or leading/trailing "
                             f"spaces, got {value!r}")
    return value


# ----------------------------------------------------------------------------- building records

_PHOTO_KEYS = ("sha256", "width", "height", "format", "bit_depth")
_LABEL_RE = re.compile(r"photo '[^']*'")
_FLAGS = (
    ("looks blurred", "blur"),
    ("is blurred compared with", "relative_blur"),
    ("clipped pixels", "clipping"),
    ("shows glare", "glare"),
    ("exposure of photo", "exposure_mismatch"),
    ("white balance of photo", "white_balance_mismatch"),
    ("could not be aligned", "alignment_failed"),
)


def _photo(image: Mapping[str, Any]) -> dict[str, Any]:
    """Photo provenance without the source name (a file name can hold a patient's name) or EXIF."""
    out = {k: image.get(k) for k in _PHOTO_KEYS}
    if image.get("jpeg_dc_step") is not None:  # the capture model read it: part of how the verdict was made
        out["jpeg_dc_step"] = float(image["jpeg_dc_step"])
    return out


def _regions(regions: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (None if regions.get(k) is None else dict(regions[k])) for k in ("roi", "lesion", "reference")}


_CALIBRATION_KEYS = ("kind", "ok", "applied", "message", "reasons", "method", "reference", "source", "de00_mean",
                     "de00_max", "loo_mean", "loo_max", "de00_before_mean", "excluded", "corners")


def _calibration(m: Any) -> dict[str, Any] | None:
    """The photo's colour calibration as the record keeps it (method, patch errors, reference data)."""
    cal = getattr(m, "calibration", None)
    if cal is None:
        return None
    return {k: cal[k] for k in _CALIBRATION_KEYS if k in cal}


def _metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {name: mv.to_dict() for name, mv in metrics.items()}


def _scrub_text(text: str, labels: Mapping[str, str]) -> str:
    """One message with its photo labels (often file names) replaced by the user's session
    identifiers; any other ``photo '...'`` becomes "a photo"."""
    for label, session in labels.items():
        text = text.replace(f"photo '{label}'", f"photo '{session}'")
    known = {f"photo '{s}'" for s in labels.values()}
    return _LABEL_RE.sub(lambda m: m.group(0) if m.group(0) in known else "a photo", text)


def _scrub(warnings: Iterable[str], labels: Mapping[str, str]) -> list[str]:
    """Replace photo labels (often file names) in warnings by the user's session identifiers."""
    return list(dict.fromkeys(_scrub_text(w, labels) for w in warnings))


def _flags(warnings: Iterable[str], alignment_ok: bool = True) -> list[str]:
    flags = []
    for w in warnings:
        hit = [flag for key, flag in _FLAGS if key in w]
        flags.extend(hit or ["other"])
    if not alignment_ok:
        flags.append("alignment_failed")
    return list(dict.fromkeys(flags))


def _rule_kind(change: Any) -> str:
    return change.rule_kind or ("value_missing" if change.verdict == "not computable" else "capture_model")


def _common(subject: Any, session: Any, date: Any, settings: Any, version: str, pixel_size_mm: float | None) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "subject": _identifier(subject, "subject"),
        "session": _identifier(session, "session"),
        "date": normalize_date(date),
        "texturecmp_version": version,
        "settings": settings.to_dict(),
        "settings_sha256": settings.hash,
        "pixel_size_mm": pixel_size_mm,
    }


def _finish(record: dict[str, Any]) -> dict[str, Any]:
    rec = json.loads(canonical_json(_jsonable(record)))  # plain JSON types, exactly as read back
    validate(rec)
    return rec


def measurement_record(m: Any, *, subject: str, session: str, date: Any = None) -> dict[str, Any]:
    """The record of one photo's :class:`texturecmp.Measurement`.

    Parameters
    ----------
    m : Measurement
    subject, session : str
        The user's identifiers (1-128 characters, pseudonymous: never a name).
    date : date, aware datetime, ISO 8601 text or None
        Capture date of the photo (see :func:`normalize_date`).

    Returns
    -------
    dict
        A record that passes :func:`validate` (plain JSON types; NaN as null with a note).

    Raises
    ------
    BadRecordError
        A bad identifier or date (the message names the argument).
    """
    rec = {"kind": "measurement", **_common(subject, session, date, m.settings, m.version, m.pixel_size_mm),
           "photo": _photo(m.image), "regions": _regions(m.regions), "metrics": _metrics(m.metrics),
           "calibration": _calibration(m)}
    warnings = _scrub(m.warnings, {})
    rec["warnings"] = [w.replace("a photo", "the photo") for w in warnings]
    rec["quality_flags"] = _flags(rec["warnings"])
    return _finish(rec)


def comparison_record(c: Any, *, subject: str, session: str, date: Any = None, baseline_session: str = "baseline",
                      baseline_date: Any = None) -> dict[str, Any]:
    """The record of a :class:`texturecmp.Comparison` (this session's photo against a baseline).

    Parameters
    ----------
    c : Comparison
    subject : str
        The user's subject identifier.
    session : str
        The user's identifier of the follow-up (``after``) session.
    date : date, aware datetime, ISO 8601 text or None
        Capture date of the follow-up photo.
    baseline_session : str
        The user's identifier of the baseline (``before``) session (default ``"baseline"``).
    baseline_date : date, aware datetime, ISO 8601 text or None
        Capture date of the baseline photo.

    Returns
    -------
    dict
        A record with the follow-up's metrics, the baseline block (session, date, photo,
        regions, metrics), every change (before, after, delta, percent, uncertainty,
        threshold, verdict, rule), alignment, photometric correction and quality flags.
    """
    _identifier(baseline_session, "baseline_session")
    if baseline_session == session:
        raise BadRecordError(f"baseline_session: must differ from session (both {session!r})")
    rec = {"kind": "comparison", **_common(subject, session, date, c.settings, c.version, c.pixel_size_mm),
           "photo": _photo(c.after.image), "regions": _regions(c.after.regions), "metrics": _metrics(c.after.metrics),
           "calibration": _calibration(c.after)}
    labels = {c.labels[0]: baseline_session, c.labels[1]: session}
    rec["warnings"] = _scrub(c.warnings, labels)
    rec["quality_flags"] = _flags(rec["warnings"], bool(c.alignment.ok))
    rec["baseline"] = {"session": baseline_session, "date": normalize_date(baseline_date, name="baseline_date"),
                       "photo": _photo(c.before.image), "regions": _regions(c.before.regions),
                       "metrics": _metrics(c.before.metrics), "calibration": _calibration(c.before)}
    changes = {}
    for name, ch in c.changes.items():
        d = ch.to_dict()
        for k in ("metric", "before", "after", "se", "p_value"):  # the record keeps u, threshold and verdict
            d.pop(k, None)
        d["rule_kind"] = _rule_kind(ch)
        for k in ("rule", "note"):  # a not comparable pair's rule says why, naming the photos
            if isinstance(d.get(k), str):
                d[k] = _scrub_text(d[k], labels)
        changes[name] = d
    rec["changes"] = changes
    rec["alignment"] = c.alignment.to_dict()
    if isinstance(rec["alignment"].get("message"), str):
        rec["alignment"]["message"] = _scrub_text(rec["alignment"]["message"], labels)
    rec["photometric"] = c.photometric.to_dict()
    rec["colour_truth"] = getattr(c, "colour_truth", "none")
    rec["test_retest_mdc95"] = None if c.test_retest is None else c.test_retest_mdc95()
    return _finish(rec)


def series_records(s: Any, *, subject: str, sessions: Sequence[str], dates: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Records of a :class:`texturecmp.Series`: the baseline's measurement, then each follow-up against the baseline.

    Parameters
    ----------
    s : Series
    subject : str
    sessions : sequence of str
        The user's session identifiers, one per photo, baseline first (the series'
        labels are not used: they are often file names).
    dates : sequence, optional
        Capture dates, one per photo (None entries allowed).
    """
    sessions = list(sessions)
    n = len(s.labels)
    if len(sessions) != n:
        raise BadRecordError(f"sessions: expected {n} session identifiers (one per photo), got {len(sessions)}")
    dates = [None] * n if dates is None else list(dates)
    if len(dates) != n:
        raise BadRecordError(f"dates: expected {n} dates (one per photo), got {len(dates)}")
    out = [measurement_record(s.measurements[0], subject=subject, session=sessions[0], date=dates[0])]
    for i, c in enumerate(s.vs_baseline, start=1):
        out.append(comparison_record(c, subject=subject, session=sessions[i], date=dates[i],
                                     baseline_session=sessions[0], baseline_date=dates[0]))
    return out


# ----------------------------------------------------------------------------- validation

def _path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(p)):
            out += f".{p}"
        else:
            out += f"[{json.dumps(str(p), ensure_ascii=False)}]"
    return out


#: The problem of a NaN or infinite float.
NOT_FINITE = "NaN or infinity is not a JSON number (a value that cannot be computed is null with a note)"
#: JSON types in the order messages name them ("expected number or null").
_TYPE_ORDER = ("number", "integer", "string", "boolean", "array", "object", "null")
#: What a ``pattern`` means, by the name of the field it constrains.
_PATTERN_MEANS = {
    "sha256": "a SHA-256 (64 lowercase hex digits)", "settings_sha256": "a SHA-256 (64 lowercase hex digits)",
    "mask_sha256": "a SHA-256 (64 lowercase hex digits)",
    "date": "YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with Z or ±hh:mm",
    "subject": "1-128 characters without control characters or leading/trailing spaces",
    "session": "1-128 characters without control characters or leading/trailing spaces",
}


def _short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def _describe(err: Any, kind: str, skip: set[tuple]) -> list[str]:
    """One jsonschema-rs error as lines ``"$.path: what is wrong"`` naming the field.

    ``kind`` is the record's kind (for a field only comparisons have); errors at the
    paths in ``skip`` (NaN and infinities, described otherwise) give no line.
    """
    base = list(err.instance_path)
    if tuple(base) in skip:
        return []
    k = err.kind
    name = type(k).__name__
    here = _path(base)
    if name == "Required":
        return [f"{_path(base + [k.property])}: missing (required)"]
    if name == "AdditionalProperties":
        return [f"{_path(base + [key])}: unexpected field (not in the record schema)" for key in sorted(k.unexpected)]
    if name == "FalseSchema":  # only in the schema's "else": the fields of a comparison, in another kind of record
        return [f"{here}: not allowed in a {kind} record" if kind else f"{here}: not allowed here"]
    if name == "PropertyNames":
        return [f"{_path(base + [k.error.instance])}: bad name ({_short(k.error.message)})"]
    if name in ("AnyOf", "OneOfNotValid") and k.context:
        # the most relevant branch failure: the deepest, then not a mere type or required
        branches = [e for branch in k.context for e in branch]
        best = min(branches, key=lambda e: (-len(e.instance_path), type(e.kind).__name__ in ("Type", "Required")))
        return _describe(best, kind, skip)
    if name == "OneOfMultipleValid":
        return [f"{here}: matches more than one of the alternatives (give exactly one)"]
    if name == "Pattern":
        what = _PATTERN_MEANS.get(str(base[-1]) if base else "")
        if what:
            return [f"{here}: expected {what}, got {err.instance!r}"]
        return [f"{here}: {_short(repr(err.instance), 60)} does not match {k.pattern!r}"]
    got = _short(repr(err.instance), 60)
    if name == "Enum":
        return [f"{here}: {got} is not one of {', '.join(map(repr, k.options))}"]
    if name == "Constant":
        return [f"{here}: expected {k.expected_value!r}, got {got}"]
    if name == "Type":
        want = " or ".join(sorted(k.types, key=lambda t: _TYPE_ORDER.index(t) if t in _TYPE_ORDER else 99))
        return [f"{here}: expected {want}, got {type(err.instance).__name__} {got}"]
    if name == "MinLength":
        return [f"{here}: expected at least {k.limit} character{'s' if k.limit != 1 else ''}, got {got}"]
    if name == "MaxLength":
        return [f"{here}: expected at most {k.limit} characters, got {len(err.instance)}"]
    return [f"{here}: {_short(err.message)}"]


def _has_nonfinite(x: Any) -> bool:
    """Whether a value of plain JSON types (dict, list, float...) holds a NaN or infinite float."""
    stack = [x]
    pop, push = stack.pop, stack.extend
    while stack:
        v = pop()
        t = type(v)
        if t is float:
            if v - v != 0.0:  # inf - inf and nan - nan are nan
                return True
        elif t is dict:
            push(v.values())
        elif t is list or t is tuple:
            push(v)
    return False


def _nonfinite_paths(x: Any, path: tuple = ()) -> list[tuple]:
    """Paths of the NaN / infinite floats in a value of plain JSON types (for messages)."""
    if isinstance(x, float):
        return [] if math.isfinite(x) else [path]
    if isinstance(x, Mapping):
        return [p for k, v in x.items() for p in _nonfinite_paths(v, path + (k,))]
    if isinstance(x, (list, tuple)):
        return [p for i, v in enumerate(x) for p in _nonfinite_paths(v, path + (i,))]
    return []


def _unwritable(x: Any, path: tuple = ()) -> tuple:
    """Path of the innermost value of ``x`` that has no JSON form in UTF-8 (``x`` itself when no part of it fails)."""
    items = x.items() if isinstance(x, Mapping) else enumerate(x) if isinstance(x, (list, tuple)) else ()
    for k, v in items:
        try:
            json.dumps(v, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError):
            return _unwritable(v, path + (k,))
    return path


def _schema_problems(record: Mapping[str, Any]) -> list[str]:
    """The schema's problems and the non-finite numbers of a record of plain JSON types.

    Raises ValueError (from jsonschema-rs) for a value of another Python type.
    """
    validator = _validator()
    if validator.is_valid(record) and not _has_nonfinite(record):
        return []
    nonfinite = _nonfinite_paths(record)
    skip = set(nonfinite)  # jsonschema-rs takes a NaN for some other value: say what it is instead
    kind = record.get("kind")
    errors = sorted(validator.iter_errors(record), key=lambda e: [str(p) for p in e.instance_path])
    out = [line for e in errors for line in _describe(e, kind if isinstance(kind, str) else "", skip)]
    out += [f"{_path(p)}: {NOT_FINITE}" for p in nonfinite]
    return list(dict.fromkeys(out))


def problems(record: Any) -> list[str]:
    """Every problem of a record, one ``"$.path: what is wrong"`` line each (empty when valid).

    Checks the schema (:data:`SCHEMA`, with jsonschema-rs), then what a schema cannot say:
    every number is finite (JSON has no NaN or infinity), the capture dates are calendar
    dates and ``settings_sha256`` is the hash of ``settings``. A value of a Python type
    other than JSON's (a numpy scalar, an ``int`` or ``str`` subclass) is judged as the
    JSON it is written as.
    """
    if not isinstance(record, Mapping):
        return [f"$: expected a record (a JSON object), got {type(record).__name__}"]
    try:
        out = _schema_problems(record)
    except ValueError:  # a type jsonschema-rs does not take: check the JSON it is written as
        try:
            out = _schema_problems(json.loads(json.dumps(record)))
        except (TypeError, ValueError) as exc:  # no JSON form (a set, a lone surrogate...)
            return [f"{_path(_unwritable(record))}: not a JSON value ({exc})"]
    if out:
        return out
    for where, value in (("$.date", record.get("date")), ("$.baseline.date", (record.get("baseline") or {}).get("date"))):
        if value is not None:
            try:
                normalize_date(value, name=where)
            except BadRecordError as exc:
                out.append(str(exc))
    if hashlib.sha256(canonical_bytes(record["settings"])).hexdigest() != record["settings_sha256"]:
        out.append("$.settings_sha256: does not match the SHA-256 of settings (the record was edited or corrupted)")
    return out


def validate(record: Any) -> Any:
    """Check a record against the record schema.

    Parameters
    ----------
    record : mapping
        A record (parsed JSON).

    Returns
    -------
    The record itself, when valid (for chaining).

    Raises
    ------
    BadRecordError
        Listing every problem, each with the JSON path of the field (``$.changes["scar.delta_e00"].verdict``).
    """
    found = problems(record)
    if found:
        head = f"invalid texturecmp record ({len(found)} problem{'s' if len(found) > 1 else ''}): "
        raise BadRecordError(head + "; ".join(found), found)
    return record


def is_valid(record: Any) -> bool:
    """Whether :func:`validate` would accept the record."""
    return not problems(record)

