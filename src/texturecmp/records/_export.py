"""Tables (long and wide), CSV, JSON and FHIR R4 exports of records (private; see texturecmp.records)."""

from __future__ import annotations

import io
import os
import re
import uuid
from typing import Any, Iterable, Mapping, Sequence, TextIO

from texturecmp.catalogue import METRICS
from texturecmp.records._record import SCHEMA_VERSION, date_sort_key, dumps, record_id

__all__ = ["records_frame", "wide", "to_csv", "to_json", "fhir_bundle", "UCUM", "UCUM_SYSTEM", "FHIR_CODE_TEXT",
           "frame_from_store", "export"]

#: UCUM codes of the catalogue's units; units absent here (CIELAB L*, a*, b*, ΔE00 and
#: anything in pixels) have no UCUM code and are exported with their text only.
UCUM: Mapping[str, str] = {
    "": "1",          # dimensionless ratios, fractions and indices
    "bit": "bit",
    "°": "deg",
    "mm": "mm",
    "mm²": "mm2",
    "mm/mm²": "mm/mm2",
    "1/cm²": "/cm2",
}
UCUM_SYSTEM = "http://unitsofmeasure.org"
#: Text of the Observation's code.
FHIR_CODE_TEXT = "Skin texture and scar measurement (texturecmp)"
_UNCERTAINTY_EXT = "http://hl7.org/fhir/StructureDefinition/iso21090-uncertainty"
_CHANGE_EXT = "urn:texturecmp:fhir:change-from-baseline"
_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

_ORDER = {name: i for i, name in enumerate(METRICS)}

LONG_COLUMNS = ["subject", "session", "date", "metric", "family", "value", "unit", "uncertainty", "note",
                "baseline_session", "delta", "percent", "delta_uncertainty", "threshold", "verdict", "rule_kind",
                "kind", "record_id"]


# ----------------------------------------------------------------------------- tables

def _rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    own = {(r["subject"], r["session"]) for r in records}
    rows: list[dict[str, Any]] = []
    baseline_rows: dict[tuple, dict] = {}
    for rec in records:
        rid = record_id(rec)
        changes = rec.get("changes") or {}
        bsess = rec["baseline"]["session"] if rec["kind"] == "comparison" else None
        common = {"subject": rec["subject"], "session": rec["session"], "date": rec["date"], "kind": rec["kind"],
                  "record_id": rid, "baseline_session": bsess}

        def change_cols(ch: Mapping[str, Any] | None) -> dict[str, Any]:
            if ch is None:
                return {"delta": None, "percent": None, "delta_uncertainty": None, "threshold": None, "verdict": None,
                        "rule_kind": None}
            return {"delta": ch["delta"], "percent": ch["percent"], "delta_uncertainty": ch["uncertainty"],
                    "threshold": ch["threshold"], "verdict": ch["verdict"], "rule_kind": ch["rule_kind"]}

        for metric, mv in rec["metrics"].items():
            rows.append({**common, "metric": metric, "value": mv["value"], "unit": mv["unit"], "uncertainty": mv["uncertainty"],
                         "note": mv["note"], **change_cols(changes.get(metric))})
        for metric, ch in changes.items():
            if metric not in rec["metrics"]:  # pair metrics
                rows.append({**common, "metric": metric, "value": None, "unit": ch["unit"], "uncertainty": None,
                             "note": ch["note"], **change_cols(ch)})
        if bsess is not None and (rec["subject"], bsess) not in own:
            b = rec["baseline"]
            for metric, mv in b["metrics"].items():
                baseline_rows[(rec["subject"], bsess, metric)] = {
                    "subject": rec["subject"], "session": bsess, "date": b["date"], "kind": "baseline of comparison",
                    "record_id": rid, "baseline_session": None, "metric": metric, "value": mv["value"], "unit": mv["unit"],
                    "uncertainty": mv["uncertainty"], "note": mv["note"], **change_cols(None)}
    rows.extend(baseline_rows.values())
    return rows


def records_frame(records: Iterable[Mapping[str, Any]]):
    """Tidy pandas DataFrame of records: one row per subject x session x metric (x baseline).

    See :meth:`texturecmp.records.Store.to_frame` for the columns. Missing numbers are NaN.
    """
    import pandas as pd

    rows = _rows(list(records))
    df = pd.DataFrame(rows, columns=[c for c in LONG_COLUMNS if c != "family"])
    df.insert(4, "family", df["metric"].str.split(".").str[0])
    if len(df):
        key = df["date"].map(lambda d: date_sort_key(d) if isinstance(d, str) else "\uffff")
        order = df["metric"].map(lambda m: _ORDER.get(m, len(_ORDER)))
        df = (df.assign(_k=key, _o=order).sort_values(["subject", "_k", "session", "baseline_session", "_o", "metric"],
                                                       na_position="first", kind="stable")
              .drop(columns=["_k", "_o"]).reset_index(drop=True))
    for col in ("value", "uncertainty", "delta", "percent", "delta_uncertainty", "threshold"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def frame_from_store(store: Any, *, subject: str | None = None):
    return records_frame(store.records(subject=subject))


def wide(frame: Any, *, values: str = "value"):
    """Spread a long table: one row per subject x session (x baseline), one column per metric.

    Parameters
    ----------
    frame : DataFrame
        From :func:`records_frame` or :meth:`Store.to_frame`.
    values : str
        The long column to spread (``value``, ``delta``, ``percent``, ``verdict``...).
    """
    import pandas as pd

    if values not in frame.columns:
        raise ValueError(f"values: expected one of {', '.join(LONG_COLUMNS)}, got {values!r}")
    index = ["subject", "session", "date", "baseline_session"]
    if not len(frame):
        return pd.DataFrame(columns=index)
    metrics = sorted(frame["metric"].unique(), key=lambda m: (_ORDER.get(m, len(_ORDER)), m))
    out = (frame.groupby(index + ["metric"], dropna=False, sort=False)[values].first()
           .unstack("metric").reindex(columns=metrics).reset_index())
    out.columns.name = None
    key = out["date"].map(lambda d: date_sort_key(d) if isinstance(d, str) else "\uffff")
    return out.assign(_k=key).sort_values(["subject", "_k", "session"], kind="stable").drop(columns="_k").reset_index(drop=True)


def to_csv(records: Iterable[Mapping[str, Any]], file: str | os.PathLike | TextIO | None = None, *,
           wide_form: bool = False, values: str = "value") -> str | None:
    """CSV of records, long (one row per subject x session x metric) or wide (one column per metric).

    Returns the text when ``file`` is None.
    """
    df = records_frame(records)
    if wide_form:
        df = wide(df, values=values)
    if file is None:
        return df.to_csv(index=False)
    df.to_csv(file, index=False)
    return None


def to_json(records: Iterable[Mapping[str, Any]]) -> str:
    """JSON text of records: ``{"format": "texturecmp-records", "schema_version": 1, "records": [...]}``.

    ``texturecmp records add`` reads it back.
    """
    return dumps({"format": "texturecmp-records", "schema_version": SCHEMA_VERSION, "records": list(records)})


# ----------------------------------------------------------------------------- FHIR

def _subject_ref(subject: str) -> dict[str, Any]:
    ref: dict[str, Any] = {"identifier": {"system": "urn:texturecmp:subject", "value": subject}}
    if _FHIR_ID.match(subject):
        ref = {"reference": f"Patient/{subject}", **ref}
    return ref


def _full_url(subject: str, session: str, sha: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:texturecmp:{subject}:{session}:{sha}"))


def _quantity(value: float, unit: str, uncertainty: float | None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit or "1"}
    if unit in UCUM:
        q["system"] = UCUM_SYSTEM
        q["code"] = UCUM[unit]
    if uncertainty is not None:
        q["extension"] = [{"url": _UNCERTAINTY_EXT, "valueDecimal": uncertainty}]
    return q


def _component(metric: str, value: float | None, unit: str, uncertainty: float | None, note: str,
               change: Mapping[str, Any] | None, baseline_session: str | None) -> dict[str, Any]:
    info = METRICS.get(metric)
    coding = {"system": "urn:texturecmp:metric", "code": metric}
    if info is not None:
        coding["display"] = info.definition
    comp: dict[str, Any] = {"code": {"coding": [coding], "text": metric}}
    if value is not None:
        comp["valueQuantity"] = _quantity(value, unit, uncertainty)
    else:
        comp["dataAbsentReason"] = {"coding": [{"system": _ABSENT, "code": "not-a-number"}], "text": note or "not computed"}
    if change is not None:
        comp["interpretation"] = [{"coding": [{"system": "urn:texturecmp:verdict", "code": change["verdict"]}],
                                   "text": f"{change['verdict']} since session {baseline_session}"}]
        sub = [{"url": "baselineSession", "valueString": baseline_session}]
        for key, url in (("delta", "delta"), ("percent", "percent"), ("uncertainty", "uncertainty"), ("threshold", "threshold")):
            if change.get(key) is not None:
                sub.append({"url": url, "valueDecimal": change[key]})
        sub.append({"url": "rule", "valueString": change["rule_kind"]})
        comp["extension"] = [{"url": _CHANGE_EXT, "extension": sub}]
    return comp


def _observation(rec: Mapping[str, Any], *, session: str, date: str | None, photo: Mapping[str, Any],
                 metrics: Mapping[str, Any], changes: Mapping[str, Any] | None, baseline_url: str | None,
                 warnings: Sequence[str], rid: str | None, calibration: Mapping[str, Any] | None = None,
                 colour_truth: str | None = None) -> dict[str, Any]:
    ver = rec["texturecmp_version"]
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:texturecmp:photo-sha256", "value": photo["sha256"]}]
        + ([{"system": "urn:texturecmp:record", "value": rid}] if rid else []),
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "imaging", "display": "Imaging"}]}],
        "code": {"coding": [{"system": "urn:texturecmp", "code": "skin-texture-scar", "display": FHIR_CODE_TEXT}],
                 "text": FHIR_CODE_TEXT},
        "subject": _subject_ref(rec["subject"]),
    }
    if date is not None:
        obs["effectiveDateTime"] = date
    obs["method"] = {"coding": [{"system": "urn:texturecmp", "code": "texturecmp", "version": ver,
                                 "display": f"texturecmp {ver}"}],
                     "text": f"texturecmp {ver}, settings sha256 {rec['settings_sha256']}"}
    notes = [f"session {session}"]
    if calibration:  # the colour calibration and the colour truth travel as notes (older records have none)
        notes.append(f"colour calibration: {calibration['message']}")
    if colour_truth:
        notes.append(f"colour truth: {colour_truth}")
    notes += list(warnings)
    obs["note"] = [{"text": t} for t in notes]
    if baseline_url is not None:
        obs["derivedFrom"] = [{"reference": baseline_url}]
    comps = []
    bsess = rec["baseline"]["session"] if changes is not None else None
    for metric, mv in metrics.items():
        comps.append(_component(metric, mv["value"], mv["unit"], mv["uncertainty"], mv["note"],
                                (changes or {}).get(metric), bsess))
    for metric, ch in (changes or {}).items():
        if metric not in metrics:  # pair metrics: the pair's value is delta
            comps.append(_component(metric, ch["delta"], ch["unit"], ch["uncertainty"], ch["note"], ch, bsess))
    obs["component"] = comps
    return obs


def fhir_bundle(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """FHIR R4 Bundle (type ``collection``) of Observations, one per subject x session x photo.

    A comparison gives the Observation of its session (values, and the change from the
    baseline on each component: ``interpretation`` = verdict, an extension with delta,
    percent, uncertainty, threshold and rule) with ``derivedFrom`` pointing to the
    baseline's Observation, which it also gives unless another record describes that
    photo. When several records describe the same photo, a comparison wins over a
    measurement, and the first in the given order wins among equals. Values are
    ``valueQuantity`` with the unit's text and, where one exists, its UCUM code
    (:data:`UCUM`); a standard error goes in the ``iso21090-uncertainty`` extension; a
    value that could not be computed is a ``dataAbsentReason`` (``not-a-number``) with
    the note. Nothing is null: absent values are omitted, as FHIR requires.
    """
    records = list(records)
    chosen: dict[tuple, tuple[int, int, Mapping[str, Any]]] = {}
    for i, rec in enumerate(records):
        key = (rec["subject"], rec["session"], rec["photo"]["sha256"])
        rank = 2 if rec["kind"] == "comparison" else 1
        if key not in chosen or rank > chosen[key][0]:
            chosen[key] = (rank, i, rec)
    entries: dict[tuple, dict[str, Any]] = {}
    order: list[tuple[str, tuple]] = []
    for key, (_, _, rec) in sorted(chosen.items(), key=lambda kv: kv[1][1]):
        url = _full_url(*key)
        rid = record_id(rec)
        base_url = None
        if rec["kind"] == "comparison":
            b = rec["baseline"]
            bkey = (rec["subject"], b["session"], b["photo"]["sha256"])
            base_url = _full_url(*bkey)
            if bkey not in chosen and bkey not in entries:
                entries[bkey] = {"fullUrl": base_url, "resource": _observation(
                    rec, session=b["session"], date=b["date"], photo=b["photo"], metrics=b["metrics"], changes=None,
                    baseline_url=None, warnings=(), rid=None, calibration=b.get("calibration"))}
                order.append((date_sort_key(b["date"]) or "\uffff", bkey))
        entries[key] = {"fullUrl": url, "resource": _observation(
            rec, session=rec["session"], date=rec["date"], photo=rec["photo"], metrics=rec["metrics"],
            changes=rec.get("changes"), baseline_url=base_url, warnings=rec["warnings"], rid=rid,
            calibration=rec.get("calibration"), colour_truth=rec.get("colour_truth"))}
        order.append((date_sort_key(rec["date"]) or "\uffff", key))
    order.sort(key=lambda t: (t[1][0], t[0]))
    return {"resourceType": "Bundle", "type": "collection", "entry": [entries[k] for _, k in order]}


def export(records: Iterable[Mapping[str, Any]], fmt: str, *, wide_form: bool = False) -> str:
    """Text of records in ``fmt``: ``"csv"`` (long, or wide), ``"json"`` or ``"fhir"``."""
    records = list(records)
    if fmt == "csv":
        buf = io.StringIO()
        to_csv(records, buf, wide_form=wide_form)
        return buf.getvalue()
    if fmt == "json":
        return to_json(records) + "\n"
    if fmt == "fhir":
        return dumps(fhir_bundle(records)) + "\n"
    raise ValueError(f"format: expected csv, json or fhir, got {fmt!r}")

