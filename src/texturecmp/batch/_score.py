"""Score one subject's series in a worker: the unit of work of a batch.

The worker reads the photos itself (it gets paths, never pixels) and sends back plain
rows (dicts of str / float / int / bool), so nothing but results crosses back to the
parent. The baseline is measured once; each follow-up is registered to it, measured and
compared inside its own ``try``, so a broken follow-up fails only its own rows. When the
baseline fails, every follow-up is still measured on its own and its changes are marked
"not computable" with the baseline's error as the reason.

The baseline is a :class:`texturecmp.Baseline` and the follow-ups go through its
:meth:`~texturecmp.Baseline.compare_each` (no maps): the numbers are those of
:func:`texturecmp.compare_series`; they do not depend on the process or the machine that
ran them.

With ``Task.records``, the worker also builds each scored follow-up's comparison record
(:func:`texturecmp.records.comparison_record`: a plain dict, hashes and numbers, no
pixels) for the parent to store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

from texturecmp.batch._manifest import Photo, SubjectSeries
from texturecmp.catalogue import METRICS
from texturecmp.settings import Settings

__all__ = ["Task", "SubjectResult", "score_subject", "failed_rows", "COLUMNS", "FLOAT_COLUMNS", "INT_COLUMNS", "BOOL_COLUMNS",
           "STRING_COLUMNS", "SESSION_COLUMNS"]

#: Columns of the tidy batch table, in order.
COLUMNS: tuple[str, ...] = (
    "subject", "session", "date", "index", "baseline_session", "image", "pixel_size_mm",
    "metric", "value", "unit", "uncertainty", "baseline_value", "delta", "percent", "delta_uncertainty",
    "threshold", "verdict", "rule", "note", "error",
    "aligned", "shift_dx", "shift_dy", "rotation_deg", "scale", "overlap", "exposure_shift_L", "warnings",
    "image_sha256", "settings_sha256",
)
FLOAT_COLUMNS = ("pixel_size_mm", "value", "uncertainty", "baseline_value", "delta", "percent", "delta_uncertainty",
                 "threshold", "shift_dx", "shift_dy", "rotation_deg", "scale", "overlap", "exposure_shift_L")
INT_COLUMNS = ("index",)
BOOL_COLUMNS = ("aligned",)
STRING_COLUMNS = tuple(c for c in COLUMNS if c not in FLOAT_COLUMNS + INT_COLUMNS + BOOL_COLUMNS)
#: Columns that are the same on every metric row of one photo (the columns of :func:`to_wide`'s index part).
SESSION_COLUMNS = ("subject", "session", "date", "index", "baseline_session", "image", "pixel_size_mm", "error",
                   "aligned", "shift_dx", "shift_dy", "rotation_deg", "scale", "overlap", "exposure_shift_L",
                   "warnings", "image_sha256", "settings_sha256")

_NAN = math.nan
_PAIR_NOTE = "pair metric: defined only for a follow-up compared with the baseline"


@dataclass(frozen=True)
class Task:
    """What a worker needs to score one subject: paths and settings, no pixels.

    ``single_thread``: tune the process that runs the task as a batch worker, one thread and
    the heap kept (:func:`texturecmp._runtime.tune_worker`; Dask workers; local worker
    processes get it from their initialiser). ``records``:
    also build the comparison record of each scored follow-up.
    """

    series: SubjectSeries
    settings: Settings
    single_thread: bool = False
    records: bool = False


class SubjectResult(NamedTuple):
    """What a worker sends back for one subject: the table rows and (``Task.records``) the
    comparison records of its scored follow-ups (failed photos have rows, not records)."""

    rows: list[dict[str, Any]]
    records: Sequence[dict[str, Any]] = ()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _err(exc: BaseException) -> str:
    return _one_line(f"{type(exc).__name__}: {exc}")


def _warn(ws: Any) -> str:
    return " | ".join(_one_line(w) for w in ws)


def _base(series: SubjectSeries, ph: Photo, i: int, s_hash: str, px: float | None) -> dict[str, Any]:
    return {"subject": series.subject, "session": ph.session, "date": ph.date, "index": i,
            "baseline_session": series.baseline.session, "image": ph.image,
            "pixel_size_mm": _NAN if px is None else float(px), "settings_sha256": s_hash}


def _empty(name: str, px: float | None) -> dict[str, Any]:
    return {"metric": name, "value": _NAN, "unit": METRICS[name].unit_for(px), "uncertainty": _NAN,
            "baseline_value": _NAN, "delta": _NAN, "percent": _NAN, "delta_uncertainty": _NAN, "threshold": _NAN,
            "verdict": "not computable", "rule": "", "note": "", "error": "", "aligned": None, "shift_dx": _NAN,
            "shift_dy": _NAN, "rotation_deg": _NAN, "scale": _NAN, "overlap": _NAN, "exposure_shift_L": _NAN,
            "warnings": "", "image_sha256": ""}


def failed_rows(series: SubjectSeries, ph: Photo, i: int, settings: Settings, error: str,
                px: float | None = None) -> list[dict[str, Any]]:
    """Rows of a photo that could not be scored: NaN values, ``error`` = "Type: message"."""
    head = _base(series, ph, i, settings.hash, px)
    return [{**head, **_empty(name, px), "error": error} for name in METRICS]


def _baseline_rows(series: SubjectSeries, ph: Photo, m: Any, s_hash: str, px: float | None) -> list[dict[str, Any]]:
    head = _base(series, ph, 0, s_hash, px)
    common = {"aligned": True, "shift_dx": 0.0, "shift_dy": 0.0, "rotation_deg": 0.0, "scale": 1.0, "overlap": 1.0,
              "exposure_shift_L": 0.0, "warnings": _warn(m.warnings), "image_sha256": str(m.image.get("sha256", ""))}
    rows = []
    for name, info in METRICS.items():
        row = {**head, **_empty(name, px), **common, "verdict": "baseline"}
        mv = m.metrics.get(name)
        if mv is None:
            row["note"] = _PAIR_NOTE if info.scope == "pair" else ""
        else:
            row.update(value=float(mv.value), unit=mv.unit, uncertainty=float(mv.uncertainty),
                       baseline_value=float(mv.value), note=_one_line(mv.note))
        rows.append(row)
    return rows


def _followup_rows(series: SubjectSeries, ph: Photo, i: int, cmp: Any, s_hash: str, px: float | None,
                   extra_warnings: list[str]) -> list[dict[str, Any]]:
    head = _base(series, ph, i, s_hash, px)
    al = cmp.alignment
    common = {"aligned": bool(al.ok), "shift_dx": float(al.shift_px[0]), "shift_dy": float(al.shift_px[1]),
              "rotation_deg": float(al.rotation_deg), "scale": float(al.scale), "overlap": float(al.overlap),
              "exposure_shift_L": float(cmp.photometric.exposure_shift_L),
              "warnings": _warn(list(cmp.warnings) + extra_warnings),
              "image_sha256": str(cmp.after.image.get("sha256", ""))}
    rows = []
    for name in METRICS:
        c = cmp.changes[name]
        mv = cmp.after.metrics.get(name)
        rows.append({**head, "metric": name, "value": float(c.after), "unit": c.unit,
                     "uncertainty": float(mv.uncertainty) if mv is not None else _NAN,
                     "baseline_value": float(c.before), "delta": float(c.delta), "percent": float(c.percent),
                     "delta_uncertainty": float(c.uncertainty), "threshold": float(c.threshold), "verdict": c.verdict,
                     "rule": _one_line(c.rule), "note": _one_line(c.note), "error": "", **common})
    return rows


def _orphan_rows(series: SubjectSeries, ph: Photo, i: int, settings: Settings, px: float | None,
                 base_error: str, extra_warnings: list[str]) -> list[dict[str, Any]]:
    """A follow-up whose baseline failed: measured on its own, changes not computable."""
    from texturecmp.errors import TextureCmpError
    from texturecmp.io import load_image
    from texturecmp.measure import measure

    img = load_image(ph.image, name=f"{series.subject}/{ph.session}")
    b = series.baseline
    warnings = list(extra_warnings)
    regions = {"roi": b.roi, "lesion": b.lesion, "reference": b.reference}
    if any(regions.values()):
        try:
            m = measure(img, **regions, pixel_size_mm=px, settings=settings)
            warnings.append("the baseline's regions were taken at the same pixel positions (no registration: "
                            "the baseline failed)")
        except TextureCmpError as exc:
            m = measure(img, pixel_size_mm=px, settings=settings)
            warnings.append(f"the baseline's regions could not be used ({_err(exc)}); measured on the whole photo")
    else:
        m = measure(img, pixel_size_mm=px, settings=settings)
    reason = f"baseline '{b.session}' failed ({base_error}); changes not computable"
    head = _base(series, ph, i, settings.hash, px)
    common = {"warnings": _warn(list(m.warnings) + warnings), "image_sha256": str(m.image.get("sha256", ""))}
    rows = []
    for name, info in METRICS.items():
        row = {**head, **_empty(name, px), **common, "note": reason}
        mv = m.metrics.get(name)
        if mv is not None:
            row.update(value=float(mv.value), unit=mv.unit, uncertainty=float(mv.uncertainty))
        rows.append(row)
    return rows


def score_subject(task: Task) -> SubjectResult:
    """Score one subject's series; never raises for a bad photo or mask (see module docstring).

    Parameters
    ----------
    task : Task

    Returns
    -------
    SubjectResult
        ``rows``: one row per photo x metric (catalogue order), photos in series order,
        with the columns :data:`COLUMNS`. ``records``: with ``task.records``, the
        comparison record of each follow-up that was scored against the baseline, with
        the manifest's subject, session, date and baseline session and date.
    """
    if task.single_thread:
        from texturecmp._runtime import tune_worker

        tune_worker()  # Dask workers also start with a malloc setting that doubles the cost
    from texturecmp.compare import Baseline

    series, s = task.series, task.settings
    s_hash = s.hash
    base = series.baseline
    px = base.pixel_size_mm
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    baseline = None
    base_error = ""
    try:
        baseline = Baseline(base.image, roi=base.roi, lesion=base.lesion, reference=base.reference, pixel_size_mm=px,
                            settings=s, label=base.session, name=f"{series.subject}/{base.session}")
        rows += _baseline_rows(series, base, baseline.measurement, s_hash, px)
    except Exception as exc:  # noqa: BLE001 - any failure of this photo fails only its rows
        baseline = None
        base_error = _err(exc)
        rows += failed_rows(series, base, 0, s, base_error, px)
    follow = series.photos[1:]
    outcomes = None
    if baseline is not None:  # a batch keeps numbers, not pictures: no maps
        outcomes = baseline.compare_each([ph.image for ph in follow], labels=[ph.session for ph in follow],
                                         names=[f"{series.subject}/{ph.session}" for ph in follow], maps=False)
    for i, ph in enumerate(follow, start=1):
        extra = []
        if ph.pixel_size_mm is not None and ph.pixel_size_mm != px:
            extra.append(f"pixel_size_mm {ph.pixel_size_mm:g} of this row differs from the baseline's "
                         f"({'none' if px is None else f'{px:g}'}); the series is measured with the baseline's")
        try:
            if outcomes is None:
                rows += _orphan_rows(series, ph, i, s, px, base_error, extra)
                continue
            out = next(outcomes)  # decoded, registered, measured and compared in its own try
            if not out.ok:
                rows += failed_rows(series, ph, i, s, _err(out.error), px)
                continue
            cmp = out.comparison
            new_rows = _followup_rows(series, ph, i, cmp, s_hash, px, extra)
            if task.records:
                from texturecmp.records import comparison_record

                records.append(comparison_record(cmp, subject=series.subject, session=ph.session, date=ph.date or None,
                                                 baseline_session=base.session, baseline_date=base.date or None))
            rows += new_rows
            del cmp, out
        except Exception as exc:  # noqa: BLE001
            rows += failed_rows(series, ph, i, s, _err(exc), px)
    return SubjectResult(rows, records)
