"""Presentation helpers of the app: pictures, legends, sentences, tables, the report.

Pure functions (numpy, OpenCV, pandas; no Streamlit), so they can be tested alone and the
report can be built outside a running app. Nothing here computes a metric: every number
shown comes from a :class:`texturecmp.Comparison` / :class:`texturecmp.Series`; this
module only formats, colours and lays them out.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from texturecmp import __version__
from texturecmp.catalogue import FAMILIES, METRICS
from texturecmp.io import encode_png, image_to_uint8

__all__ = [
    "HEAT", "OVERLAYS", "KEY_METRICS", "FAMILY_TITLES", "MARK_COLOURS", "fmt", "rounded", "table_number", "display_label",
    "relabel_text", "relabel_dict", "outline", "heat", "overlay_image", "legend_html", "map_contours", "draw_contours",
    "headline", "headlines", "why", "reasons", "not_comparable_text", "chart_picture", "CHART_ERROR_COLOURS",
    "truth_sentence", "changes_frame", "warnings_by_photo", "png_data_url", "jpeg_bytes", "jpeg_data_url",
    "add_thresholds", "timeline_band", "TimelineSeries", "timeline_series", "timeline_metrics", "timeline_chart", "timeline_svg", "report_html",
]

#: Heat-map colour scales (as the CLI's ``--maps``): key -> (low, high, OpenCV colormap, unit, title).
@dataclass(frozen=True)
class HeatScale:
    lo: float
    hi: float
    cmap: int
    unit: str
    title: str
    explain: str


HEAT: Mapping[str, HeatScale] = {
    "delta_e00": HeatScale(0.0, 10.0, cv2.COLORMAP_INFERNO, "ΔE00", "Colour difference (ΔE00)",
                           "CIEDE2000 colour difference between the baseline and the aligned follow-up, per pixel "
                           "(about 1 is just noticeable; grey: outside the overlap)."),
    "texture_change": HeatScale(-2.0, 2.0, cv2.COLORMAP_TWILIGHT_SHIFTED, "L*", "Texture change",
                                "Local texture roughness (RMS of the L* detail layer) of the follow-up minus the "
                                "baseline: below 0 smoother, above 0 rougher (grey: outside the region)."),
    "visibility_before": HeatScale(0.0, 10.0, cv2.COLORMAP_INFERNO, "ΔE00", "Lesion visibility, baseline",
                                   "CIEDE2000 of each (lightly smoothed) pixel to the mean colour of the reference skin, "
                                   "on the baseline."),
    "visibility_after": HeatScale(0.0, 10.0, cv2.COLORMAP_INFERNO, "ΔE00", "Lesion visibility, follow-up",
                                  "CIEDE2000 of each (lightly smoothed) pixel of the aligned follow-up to the mean "
                                  "colour of its reference skin."),
}

#: Overlay choices offered to the user: key -> title (shown only when the map exists).
OVERLAYS: Mapping[str, str] = {
    "outlines": "Outlines: region, lesion and reference skin",
    **{k: v.title for k, v in HEAT.items()},
}

#: Outline colours (RGB) of the marks.
MARK_COLOURS: Mapping[str, tuple[int, int, int]] = {
    "roi": (255, 255, 255), "lesion": (255, 214, 0), "reference": (0, 200, 255), "colour_reference": (0, 230, 120),
}
MARK_NAMES: Mapping[str, str] = {"roi": "region measured", "lesion": "scar / lesion", "reference": "reference skin",
                                 "colour_reference": "colour reference skin"}

#: Plain-word names of the headline metrics (texturecmp.catalogue.HEADLINE), summarised in a
#: sentence each when present.
KEY_METRICS: Mapping[str, str] = {
    "scar.delta_e00": "Scar colour difference",
    "scar.visible_area": "Visible scar area",
    "scar.visibility_excess": "Scar visibility beyond the just-noticeable difference",
    "scar.texture_ratio": "Scar texture ratio",
    "texture.sq": "Skin roughness (Sq)",
    "texture.band_fine": "Fine skin texture",
    "pore.area_fraction": "Pore area",
    "wrinkle.density": "Fine-line density",
}

#: How a verdict is decided, in one sentence (the app's table caption, the HTML and PDF reports).
RULE_TEXT = ("A change is detectable when |Δ| exceeds Student's t times √(SE² + capture SD²): its tile standard "
             "error combined with the metric's capture error, calibrated on nuisance-only retakes (pooled with a "
             "baseline repeat when there is one). The summary reads its metrics together under Holm's rule, so "
             "that a false \"improved\" among them stays at 5 %; improved / worsened follow the metric's better "
             "direction; photos that cannot be aligned are not comparable.")

FAMILY_TITLES: Mapping[str, str] = {
    "texture": "Texture", "wrinkle": "Fine lines and wrinkles", "pore": "Pores", "color": "Colour",
    "scar": "Scar against reference skin", "quality": "Photo quality", "change": "Pair comparison",
}


# ------------------------------------------------------------------------------ text

def fmt(v: Any, digits: int = 3) -> str:
    """A number for people: 3 significant digits, '—' for missing values."""
    if v is None:
        return "—"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "—"
    a = abs(x)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{x:.{digits}g}"
    if a >= 10 ** digits:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def rounded(v: Any, digits: int = 3) -> float | None:
    """The number :func:`fmt` shows, as a float (None for missing values): for tables that keep numbers sortable."""
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    a = abs(x)
    if 10 ** digits <= a < 1e5:
        return float(round(x))
    return float(f"{x:.{digits}g}")


def table_number(v: Any) -> str:
    """A number as the metrics table shows it: :func:`rounded`, printed with up to 6 significant
    digits (so -100 is "-100", not "-1e+02"); '—' when missing."""
    r = rounded(v)
    return "—" if r is None else f"{r:.6g}"


def display_label(index: int, labels: Sequence[str]) -> str:
    """'photo 2 (4 weeks)': the photo's position (1-based) and the user's label."""
    return f"photo {index + 1} ({labels[index]})"


def relabel_text(text: str, labels: Sequence[str]) -> str:
    """Replace the internal session ids (``photo '1'``...) the core was run with by the user's labels.

    The core is run with the labels "1", "2", ... so that its cached results do not depend on
    the user's labels; its plain-word warnings name photos as ``photo '2'``.
    """
    def sub(m: re.Match) -> str:
        i = int(m.group(1)) - 1
        return display_label(i, labels) if 0 <= i < len(labels) else m.group(0)

    return re.sub(r"photo '(\d+)'", sub, text)


def relabel_dict(obj: Any, labels: Sequence[str]) -> Any:
    """A JSON-ready dict of the core with the internal ids replaced by the user's labels."""
    ids = {str(i + 1): lab for i, lab in enumerate(labels)}

    def walk(o: Any, key: str | None = None) -> Any:
        if isinstance(o, dict):
            return {k: walk(v, k) for k, v in o.items()}
        if isinstance(o, list):
            if key == "labels":
                return [ids.get(x, x) if isinstance(x, str) else x for x in o]
            return [walk(v, key) for v in o]
        if isinstance(o, str):
            if key == "session":
                return ids.get(o, o)
            return relabel_text(o, labels)
        return o

    return walk(obj)


# ------------------------------------------------------------------------------ pictures

def _u8(rgb: np.ndarray) -> np.ndarray:
    return image_to_uint8(rgb) if rgb.dtype != np.uint8 else rgb


def _contours(mask: np.ndarray) -> list[np.ndarray]:
    cs, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return list(cs)


def outline(rgb: np.ndarray, masks: Mapping[str, np.ndarray | None], *, thickness: int = 2) -> np.ndarray:
    """The photo (uint8) with the outlines of the given masks (same grid) in :data:`MARK_COLOURS`."""
    out = np.ascontiguousarray(_u8(rgb)).copy()
    for key in ("roi", "reference", "lesion"):
        m = masks.get(key)
        if m is None:
            continue
        if key == "roi" and m.all():
            continue
        cv2.drawContours(out, _contours(m), -1, MARK_COLOURS[key], thickness, lineType=cv2.LINE_AA)
    return out


#: Colours of a chart's patch windows by their ΔE00 after correction: (upper bound, RGB).
CHART_ERROR_COLOURS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (2.0, (40, 200, 80)), (4.0, (255, 170, 0)), (float("inf"), (230, 40, 40)))


def chart_picture(rgb: np.ndarray, calibration, factor: float, *, thickness: int = 2) -> np.ndarray:
    """The photo (display size, uint8) with the chart a calibration read outlined: the card's
    edge in magenta and each patch's read window coloured by its ΔE00 after correction
    (:data:`CHART_ERROR_COLOURS`; grey: not used, clipped or glare). ``factor``: display / full size.
    Without corners (no chart found) the photo is returned as it is."""
    out = np.ascontiguousarray(_u8(rgb)).copy()
    corners = getattr(calibration, "corners", None)
    if corners is None:
        return out
    H = np.diag([factor, factor, 1.0]) @ corners.homography()

    def project(pts: np.ndarray) -> np.ndarray:
        p = np.c_[pts, np.ones(len(pts))] @ H.T
        return p[:, :2] / p[:, 2:]

    from texturecmp.chart import card_outline  # noqa: PLC0415

    card = card_outline(corners) * factor
    cv2.polylines(out, [np.rint(card * 16).astype(np.int32)], True, (255, 0, 255), thickness, cv2.LINE_AA, shift=4)
    errs = list(getattr(calibration, "patch_de00", ()) or ())
    half = 0.25
    for k in range(24):
        r, c = divmod(k, 6)
        e = errs[k] if k < len(errs) else float("nan")
        colour = (160, 160, 160) if not (e == e) else next(col for hi, col in CHART_ERROR_COLOURS if e < hi)
        sq = project(np.array([(c - half, r - half), (c + half, r - half), (c + half, r + half), (c - half, r + half)]))
        cv2.polylines(out, [np.rint(sq * 16).astype(np.int32)], True, colour, 1, cv2.LINE_8, shift=4)  # crisp at 1 px
    return out


def heat(values: np.ndarray, scale: HeatScale) -> np.ndarray:
    """Colour a map with its scale; NaN (undefined) pixels are mid grey."""
    v = np.asarray(values, dtype=np.float32)
    x = np.clip((np.nan_to_num(v, nan=scale.lo) - scale.lo) / (scale.hi - scale.lo), 0, 1)
    rgb = cv2.applyColorMap((x * 255).astype(np.uint8), scale.cmap)[..., ::-1].copy()
    rgb[~np.isfinite(v)] = 128
    return rgb


def overlay_image(maps: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    """The picture of one overlay (uint8 RGB, baseline grid): outlines on the photo, or a heat map with the lesion outline."""
    marks = {k: maps.get(k) for k in ("roi", "lesion", "reference")}
    if key == "outlines":
        return outline(maps["before_rgb"], marks)
    img = heat(maps[key], HEAT[key])
    lesion = maps.get("lesion")
    if lesion is not None:
        cv2.drawContours(img, _contours(lesion), -1, (255, 255, 255), 1, lineType=cv2.LINE_AA)
    return img


def legend_html(key: str) -> str:
    """A colour-scale legend (inline CSS gradient with ticks) or the outline key."""
    if key == "outlines":
        items = "".join(
            f'<span style="display:inline-flex;align-items:center;margin-right:14px">'
            f'<span style="width:18px;height:0;border-top:3px solid rgb{MARK_COLOURS[k]};'
            f'outline:1px solid #555;margin-right:6px"></span>{MARK_NAMES[k]}</span>'
            for k in ("roi", "lesion", "reference"))
        return f'<div class="tc-legend" style="font-size:0.85rem">{items}</div>'
    s = HEAT[key]
    ramp = cv2.applyColorMap(np.linspace(0, 255, 11).astype(np.uint8)[:, None], s.cmap)[:, 0, ::-1]
    stops = ", ".join(f"rgb({r},{g},{b}) {i * 10}%" for i, (r, g, b) in enumerate(ramp.tolist()))
    ticks = np.linspace(s.lo, s.hi, 5)
    tick_html = "".join(f"<span>{'≤' if i == 0 and s.lo < 0 else ''}{'≥' if i == 4 else ''}{t:g}</span>"
                        for i, t in enumerate(ticks))
    return (f'<div class="tc-legend" style="font-size:0.85rem;max-width:420px">'
            f'<div style="height:14px;border:1px solid #888;background:linear-gradient(to right, {stops})"></div>'
            f'<div style="display:flex;justify-content:space-between">{tick_html}</div>'
            f'<div>{html.escape(s.unit)} · {html.escape(s.explain)}</div></div>')


def map_contours(mask_small: np.ndarray, f_base: float, matrix: np.ndarray, f_follow: float) -> list[np.ndarray]:
    """Outlines of a baseline-grid mask (downsampled by ``f_base``) carried into a follow-up display grid.

    ``matrix`` is the core's 2x3 baseline -> follow-up full-resolution matrix
    (:attr:`texturecmp.Alignment.matrix_array`); ``f_follow`` the follow-up's display factor.
    """
    out = []
    m = np.asarray(matrix, dtype=np.float64)
    for c in _contours(mask_small):
        p = c[:, 0, :].astype(np.float64)
        full = (p + 0.5) / f_base - 0.5
        fol = full @ m[:, :2].T + m[:, 2]
        disp = (fol + 0.5) * f_follow - 0.5
        out.append(np.round(disp).astype(np.int32)[:, None, :])
    return out


def draw_contours(rgb: np.ndarray, contours: Mapping[str, list[np.ndarray]], *, thickness: int = 2) -> np.ndarray:
    out = np.ascontiguousarray(_u8(rgb)).copy()
    for key in ("roi", "reference", "lesion"):
        if contours.get(key):
            cv2.drawContours(out, contours[key], -1, MARK_COLOURS[key], thickness, lineType=cv2.LINE_AA)
    return out


def png_data_url(rgb: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_png(rgb)).decode("ascii")


def jpeg_bytes(rgb: np.ndarray, *, quality: int = 90, max_width: int | None = None) -> bytes:
    """JPEG bytes of a picture for the page (no metadata: OpenCV writes none).

    ``max_width`` shrinks wider pictures (area interpolation) to the width they are shown
    at, so the page can hand the bytes to the browser as they are.
    """
    img = np.ascontiguousarray(_u8(rgb))
    h, w = img.shape[:2]
    if max_width is not None and w > max_width:
        img = cv2.resize(img, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
    if img.ndim == 3:
        img = np.ascontiguousarray(img[..., ::-1])
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover
        raise ValueError("the picture could not be encoded as JPEG")
    return buf.tobytes()


def jpeg_data_url(rgb: np.ndarray, quality: int = 88) -> str:
    """For photos shown in the browser: smaller than PNG, no metadata (OpenCV writes none)."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(rgb, quality=quality)).decode("ascii")


# ------------------------------------------------------------------------------ sentences and tables

def _verdict_phrase(ch) -> str:
    if ch.verdict in ("improved", "worsened", "changed"):
        return f"beyond the measurement's noise ({ch.verdict})"
    if ch.verdict == "not computable":
        return "not computable"
    if ch.verdict == "not comparable":
        why = getattr(ch, "rule", "")
        return f"not comparable ({why})" if why else "not comparable"
    return "within the measurement's noise (no detectable change)"


def headline(name: str, ch) -> str | None:
    """One sentence for a key metric, from its Change.

    A detectable change gives its direction, both values and the percentage; a change within
    the noise gives no percentage (a precise-looking figure for no detectable change misleads);
    values that print alike read "stayed at".
    """
    if ch is None or not (math.isfinite(ch.before) and math.isfinite(ch.after)):
        return None
    title = KEY_METRICS.get(name, name)
    unit = f" {ch.unit}" if ch.unit else ""
    before, after = fmt(ch.before), fmt(ch.after)
    if ch.verdict == "no detectable change":
        if before == after:
            return f"{title} stayed at {before}{unit}, within the measurement's noise (no detectable change)."
        return (f"{title}: no detectable change ({before} → {after}{unit}, a difference within the "
                "measurement's noise).")
    if before == after:
        return f"{title} stayed at {before}{unit}, {_verdict_phrase(ch)}."
    move = "fell" if ch.after < ch.before else "rose"
    pct = f" ({ch.percent:+.0f} %)" if math.isfinite(ch.percent) and ch.verdict != "not comparable" else ""
    return f"{title} {move} from {before} to {after}{unit}{pct}, {_verdict_phrase(ch)}."


def headlines(cmp, labels: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(verdict, sentence) for each headline metric of the comparison, with its family-wise
    verdict (:attr:`texturecmp.Comparison.headline`: Holm over the headline metrics).

    ``labels``: the session labels, to name photos in a not-comparable reason
    (:func:`relabel_text`); when the whole pair is not comparable its reason is said once,
    above the sentences (:func:`not_comparable_text`), not in each of them.
    """
    out = []
    whole = not getattr(cmp, "comparable", True)
    for h in cmp.headline:
        ch = dataclasses.replace(h.change, verdict=h.verdict)
        if whole and ch.verdict == "not comparable":
            ch = dataclasses.replace(ch, rule="")
        s = headline(h.metric, ch)
        if s:
            out.append((h.verdict, relabel_text(s, labels) if labels is not None else s))
    return out


def why(ch, labels: Sequence[str] | None = None) -> str:
    """Why a change has no verdict, in words: the reason of a "not comparable" change, or what a
    "not computable" one lacks; "" for a change with a verdict."""
    if ch.verdict == "not comparable":
        text = ch.rule or "not comparable"
    elif ch.verdict == "not computable":
        text = ch.note or ch.rule or "value missing"
    else:
        return ""
    return relabel_text(text, labels) if labels is not None else text


def not_comparable_text(cmp, labels: Sequence[str] | None = None) -> str:
    """The sentence for a pair that cannot be compared at all ("" when it can)."""
    if getattr(cmp, "comparable", True):
        return ""
    reason = str(getattr(cmp, "not_comparable_reason", "") or "")
    reason = relabel_text(reason, labels) if labels is not None else reason
    return (f"Not comparable: {reason}." if reason else "Not comparable.") + " No verdict is given for this pair."


def reasons(cmp, labels: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The distinct reasons (:func:`why`) of a comparison's changes without a verdict, in
    catalogue order, each with the metrics it applies to."""
    out: dict[str, list[str]] = {}
    for name, ch in cmp.changes.items():
        w = why(ch, labels)
        if w:
            out.setdefault(w, []).append(name)
    return out


def truth_sentence(cmp, labels: Sequence[str] | None = None) -> str:
    """What a comparison's colour was judged against, in words (for the summary and the reports)."""
    truth = getattr(cmp, "colour_truth", "none")
    if truth == "chart":
        parts = []
        for m, lab in ((cmp.before, "baseline"), (cmp.after, "follow-up")):
            c = getattr(m, "calibration", None) or {}
            if c.get("de00_mean") is not None:
                parts.append(f"{lab} {c['de00_mean']:.1f} mean, {c['de00_max']:.1f} max")
        return ("Colour judged in true colour: a colour chart calibrated both photos (patch ΔE00 after correction: "
                + "; ".join(parts) + ").") if parts else "Colour judged in true colour: a colour chart calibrated both photos."
    if truth == "grey card":
        return "Colour judged after a grey card set exposure and white balance (true for one camera, not across cameras)."
    if truth == "colour reference":
        return "Colour judged against the untreated skin marked as the colour reference."
    if truth == "fixed light":
        return "Colour judged as captured: you stated that light and camera were fixed."
    return ("Whole-region colour not compared: no colour reference (a colour chart, a marked colour reference or fixed light); "
            "scar colour is compared against the skin around it.")


def changes_frame(cmp, family: str | None = None):
    """The metrics table (pandas) of a comparison: one row per metric, in catalogue order.

    ``why`` holds the reason of a change without a verdict (:func:`why`; photos named by the
    core's ids: relabel it with :func:`relabel_text`)."""
    import pandas as pd

    rows = []
    for name, ch in cmp.changes.items():
        info = METRICS[name]
        if family is not None and info.family != family:
            continue
        rows.append({
            "metric": name, "unit": ch.unit or "—", "before": ch.before, "after": ch.after, "change": ch.delta,
            "% change": ch.percent, "± u": ch.uncertainty, "threshold": ch.threshold, "verdict": ch.verdict,
            "why": why(ch), "better": info.better, "family": info.family, "definition": info.definition,
        })
    return pd.DataFrame(rows)


def warnings_by_photo(series, labels: Sequence[str]) -> dict[int | None, list[str]]:
    """The series' plain-word warnings, relabelled, grouped by the photo they name first (None: general)."""
    seen: dict[str, None] = {}
    for c in list(series.vs_baseline) + list(series.vs_previous):
        for w in c.warnings:
            seen.setdefault(w, None)
    out: dict[int | None, list[str]] = {}
    for w in seen:
        m = re.search(r"photo '(\d+)'", w)
        idx = int(m.group(1)) - 1 if m else None
        text = relabel_text(w, labels)
        out.setdefault(idx, [])
        if text not in out[idx]:
            out[idx].append(text[0].upper() + text[1:])
    return out


# ------------------------------------------------------------------------------ timeline (Vega-Lite, for the page)

def add_thresholds(frame, series):
    """``frame`` (from ``Series.to_frame()``, any session labels) with a ``threshold`` column: for each
    follow-up and metric, the threshold its verdict against the baseline used (``Change.threshold``;
    NaN for the baseline and where there is none)."""
    thr = {(i + 1, name): ch.threshold for i, c in enumerate(series.vs_baseline) for name, ch in c.changes.items()}
    out = frame.copy()
    out["threshold"] = [float(thr.get((int(i), m), float("nan"))) for i, m in zip(out["index"], out["metric"])]
    return out


def timeline_band(frame):
    """(low, high, what) of the timeline's bars: with a ``threshold`` column, the band of no detectable
    change the verdicts used (the baseline's value ± each follow-up's threshold, at the follow-up);
    without one (e.g. records read from a store), ±1.96 × each value's standard error."""
    import pandas as pd

    value = frame["value"].astype(float)
    if "threshold" in frame and frame["threshold"].notna().any():
        first = frame.sort_values("index").groupby("metric")["value"].first() if "index" in frame else \
            frame.groupby("metric")["value"].first()
        base = frame["metric"].map(first).astype(float)
        thr = frame["threshold"].astype(float)
        return (pd.Series(np.where(thr.notna(), base - thr, np.nan), index=frame.index),
                pd.Series(np.where(thr.notna(), base + thr, np.nan), index=frame.index),
                "the band of no detectable change the verdict used (the baseline's value ± the threshold)")
    half = 1.96 * frame["uncertainty"].astype(float).fillna(0.0)
    return value - half, value + half, "±1.96 × each value's standard error (tile jackknife)"


def timeline_metrics(frame) -> list[str]:
    """The metrics of a tidy frame (columns of ``Series.to_frame()``) with at least one value, in catalogue order."""
    have = set(frame.loc[frame["value"].notna(), "metric"])
    return [m for m in METRICS if m in have]


def timeline_chart(frame, order: Sequence[str], metrics: Sequence[str], *, columns: int = 3, width: int = 250,
                   height: int = 180) -> tuple[Any, dict]:
    """The page's timeline: (data, Vega-Lite spec) of the chosen metrics across sessions, one panel per metric.

    ``frame`` has session, metric, value, uncertainty and unit columns (and ``threshold``, see
    :func:`add_thresholds`); ``order`` gives the sessions' order on the x axis. Each panel shows
    the values joined by a line and the bars of :func:`timeline_band`, with its own y scale. The spec is written out here (no Altair): it
    is the same chart, built without schema validation on every rerun of the page.
    """
    cols = [c for c in ("session", "index", "metric", "value", "uncertainty", "unit", "threshold") if c in frame]
    d = frame.loc[frame["metric"].isin(list(metrics)), cols].copy()
    d["low"], d["high"], _ = timeline_band(d)
    unit = d["unit"].fillna("").astype(str)
    metric = d["metric"].astype(str)
    d["title"] = [f"{m} ({u})" if u else m for m, u in zip(metric, unit)]
    titles = dict(zip(metric, d["title"]))
    x = {"field": "session", "type": "nominal", "sort": [str(s) for s in order], "title": None,
         "axis": {"labelAngle": 0}}
    tooltip = [{"field": "session", "type": "nominal"}, {"field": "metric", "type": "nominal"},
               {"field": "value", "type": "quantitative"}, {"field": "uncertainty", "type": "quantitative"},
               {"field": "unit", "type": "nominal"}]
    spec = {
        "facet": {"field": "title", "type": "nominal", "title": None,
                  "sort": [titles[m] for m in metrics if m in titles]},
        "columns": columns,
        "spec": {
            "width": width,
            "height": height,
            "layer": [
                {"mark": {"type": "line", "point": True},
                 "encoding": {"x": x, "y": {"field": "value", "type": "quantitative", "title": None,
                                            "scale": {"zero": False}}, "tooltip": tooltip}},
                {"mark": {"type": "errorbar", "ticks": True},
                 "encoding": {"x": x, "y": {"field": "low", "type": "quantitative", "title": None},
                              "y2": {"field": "high"}}},
            ],
        },
        "resolve": {"scale": {"y": "independent"}},
    }
    return d, spec


# ------------------------------------------------------------------------------ timeline (SVG, for the report)

@dataclass(frozen=True)
class TimelineSeries:
    """One metric across sessions, as the report's charts draw it: values, bars (:func:`timeline_band`),
    which values are finite, the title, the y range with an 8 % margin (``ymin``, ``ymax``) and that margin."""

    values: np.ndarray
    low: np.ndarray
    high: np.ndarray
    finite: np.ndarray
    title: str
    what: str
    ymin: float = 0.0
    ymax: float = 1.0
    pad: float = 0.0


def timeline_series(frame, metric: str) -> TimelineSeries:
    """The :class:`TimelineSeries` of ``metric`` in a tidy frame (sorted by session index)."""
    d = frame[frame["metric"] == metric].sort_values("index")
    vals = d["value"].to_numpy(float)
    low, high, what = timeline_band(d)
    lo, hi = low.to_numpy(float), high.to_numpy(float)
    fin = np.isfinite(vals)
    unit = str(d["unit"].iloc[0]) if len(d) else ""
    title = f"{metric} ({unit})" if unit else metric
    if not fin.any():
        return TimelineSeries(vals, lo, hi, fin, title, what)
    span = np.concatenate([vals[fin], lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
    ymin, ymax = float(span.min()), float(span.max())
    if ymax - ymin < 1e-12:
        ymin, ymax = ymin - 1, ymax + 1
    pad = 0.08 * (ymax - ymin)
    return TimelineSeries(vals, lo, hi, fin, title, what, ymin - pad, ymax + pad, pad)


def timeline_svg(frame, metric: str, labels: Sequence[str], *, width: int = 330, height: int = 190) -> str:
    """A small inline SVG: the metric per session with the bars of :func:`timeline_band`."""
    tl = timeline_series(frame, metric)
    vals, lo, hi, fin, what = tl.values, tl.low, tl.high, tl.finite, tl.what
    title = html.escape(tl.title)
    if not fin.any():
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"><text x="8" y="20" font-size="12">{title}: no values</text></svg>'
    ymin, ymax, pad = tl.ymin, tl.ymax, tl.pad
    L, R, T, B = 52, 12, 26, 34
    n = len(vals)
    xs = [L + (width - L - R) * (i + 0.5) / n for i in range(n)]

    def y(v: float) -> float:
        return T + (height - T - B) * (1 - (v - ymin) / (ymax - ymin))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<text x="{L}" y="14" font-weight="bold">{title}</text>',
             f'<line x1="{L}" y1="{T}" x2="{L}" y2="{height - B}" stroke="#888"/>',
             f'<line x1="{L}" y1="{height - B}" x2="{width - R}" y2="{height - B}" stroke="#888"/>']
    for t in np.linspace(ymin + pad, ymax - pad, 3):
        parts.append(f'<text x="{L - 4}" y="{y(t) + 4:.1f}" text-anchor="end">{html.escape(fmt(t))}</text>')
    pts = " ".join(f"{xs[i]:.1f},{y(vals[i]):.1f}" for i in range(n) if fin[i])
    parts.append(f'<polyline points="{pts}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for i in range(n):
        lab = html.escape(str(labels[i]) if i < len(labels) else str(i + 1))
        parts.append(f'<text x="{xs[i]:.1f}" y="{height - B + 14}" text-anchor="middle">{lab[:14]}</text>')
        if not fin[i]:
            continue
        if np.isfinite(lo[i]) and np.isfinite(hi[i]):
            parts.append(f'<line x1="{xs[i]:.1f}" y1="{y(lo[i]):.1f}" x2="{xs[i]:.1f}" y2="{y(hi[i]):.1f}" stroke="#999"/>')
            for yy in (lo[i], hi[i]):
                parts.append(f'<line x1="{xs[i] - 4:.1f}" y1="{y(yy):.1f}" x2="{xs[i] + 4:.1f}" y2="{y(yy):.1f}" stroke="#999"/>')
        parts.append(f'<circle cx="{xs[i]:.1f}" cy="{y(vals[i]):.1f}" r="3.5" fill="#1f77b4"/>')
    parts.append(f'<text x="{L}" y="{height - 4}" fill="#555" font-size="9">bars: {html.escape(what)}</text></svg>')
    return "".join(parts)


# ------------------------------------------------------------------------------ the report

_REPORT_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:1.4rem;margin:0 0 4px} h2{font-size:1.1rem;margin:18px 0 6px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:0.78rem;width:100%} th,td{border:1px solid #ddd;padding:2px 5px;text-align:right}
th{background:#f2f2f2} td.l,th.l{text-align:left} tr.fam td{background:#fafafa;font-weight:bold;text-align:left}
.improved{color:#1a7f37;font-weight:bold}.worsened{color:#c62828;font-weight:bold}
.imgs{display:flex;flex-wrap:wrap;gap:10px}.imgs figure{margin:0;width:260px}.imgs img{width:260px;border:1px solid #ccc}
figcaption{font-size:0.75rem} .small{font-size:0.75rem;color:#555} pre{font-size:0.7rem;white-space:pre-wrap}
.nc{color:#5f6368;border-left:4px solid #5f6368;padding:2px 8px} td.why{color:#555;max-width:320px}
@media print{body{margin:8mm}}
"""


def report_html(series, labels: Sequence[str], index: int, *, pixel_size_mm: float | None,
                timeline_metrics: Sequence[str], created: str) -> str:
    """A one-page, self-contained HTML report of follow-up ``index`` (1-based) against the baseline.

    Photos and overlays are embedded as base64 PNG (no metadata), the timeline as inline SVG.
    """
    cmp = series.vs_baseline[index - 1]
    e = html.escape
    b_lab, a_lab = labels[0], labels[index]
    maps = cmp.maps
    figs = [("Baseline: " + b_lab, outline(maps["before_rgb"], {k: maps.get(k) for k in ("roi", "lesion", "reference")}))]
    if "after_rgb_aligned" in maps:
        figs.append((f"{a_lab}, aligned to the baseline", _u8(maps["after_rgb_aligned"])))
    legends = {}
    for key in HEAT:
        if key in maps:
            figs.append((HEAT[key].title, overlay_image(maps, key)))
            legends[HEAT[key].title] = legend_html(key)
    fig_html = "".join(
        f'<figure><img alt="{e(t)}" src="{png_data_url(img)}"><figcaption>{e(t)}{legends.get(t, "")}</figcaption></figure>'
        for t, img in figs)
    lines = "".join(f'<li class="{e(v)}">{e(s)}</li>' for v, s in headlines(cmp, labels))
    nc = not_comparable_text(cmp, labels)
    nc_html = f'<p class="nc"><b>{e(nc.split(":", 1)[0])}</b>{e(nc[len(nc.split(":", 1)[0]):])}</p>' if nc else ""
    warns = warnings_by_photo(series, labels)
    warn_html = "".join(f"<li>{e(w)}</li>" for ws in warns.values() for w in ws) or "<li>none</li>"
    rows = []
    for fam in FAMILIES:
        fr = changes_frame(cmp, fam)
        if fr.empty:
            continue
        rows.append(f'<tr class="fam"><td colspan="9">{e(FAMILY_TITLES.get(fam, fam))}</td></tr>')
        for r in fr.itertuples(index=False):
            rows.append(
                f'<tr><td class="l" title="{e(r.definition)}">{e(r.metric)}</td><td class="l">{e(r.unit)}</td>'
                f'<td>{table_number(r.before)}</td><td>{table_number(r.after)}</td><td>{table_number(r.change)}</td>'
                f'<td>{table_number(getattr(r, "_5"))}</td><td>{table_number(getattr(r, "_6"))}</td>'
                f'<td class="l {e(r.verdict)}">{e(r.verdict)}</td><td class="l why">{e(relabel_text(r.why, labels))}</td></tr>')
    table = ('<table><tr><th class="l">metric</th><th class="l">unit</th><th>before</th><th>after</th><th>change</th>'
             '<th>% change</th><th>± u</th><th class="l">verdict</th><th class="l">why (no verdict)</th></tr>'
             + "".join(rows) + "</table>")
    frame = add_thresholds(series.to_frame(), series)
    charts = "".join(timeline_svg(frame, m, labels) for m in timeline_metrics if m in set(frame["metric"]))
    al = cmp.alignment
    settings = json.dumps(cmp.settings.to_dict(), indent=1, sort_keys=True)
    imgs = "".join(f"<li>{e(labels[i])}: {e(str(m.image.get('width')))}×{e(str(m.image.get('height')))} px, "
                   f"{e(str(m.image.get('format')))}, SHA-256 {e(str(m.image.get('sha256'))[:16])}…</li>"
                   for i, m in enumerate(series.measurements))
    px = f"{pixel_size_mm:g} mm per pixel" if pixel_size_mm else "unknown (lengths and areas in pixels)"
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>texturecmp report: {e(b_lab)} → {e(a_lab)}</title>
<style>{_REPORT_CSS}</style></head><body>
<h1>Skin texture and scar comparison: {e(b_lab)} → {e(a_lab)}</h1>
<div class="small">texturecmp {e(__version__)} · created {e(created)} · pixel size: {e(px)} · alignment: {e(al.message)}
(shift {al.shift_px[0]:.1f}, {al.shift_px[1]:.1f} px, rotation {al.rotation_deg:.2f}°)</div>
<h2>Summary</h2>{nc_html}<ul>{lines or '<li>No scar or key texture metric available.</li>'}</ul>
<p class="small">{e(truth_sentence(cmp))}</p>
<h2>Warnings</h2><ul>{warn_html}</ul>
<h2>Photos and overlays</h2><div class="imgs">{fig_html}</div>
<h2>Metrics</h2>{table}
<p class="small">{e(RULE_TEXT)}</p>
<h2>Across sessions</h2><div class="imgs">{charts}</div>
<h2>Provenance</h2><ul class="small">{imgs}</ul>
<details><summary class="small">Settings (SHA-256 {e(cmp.settings.hash[:16])}…)</summary><pre>{e(settings)}</pre></details>
</body></html>"""
