"""The report as a PDF (one or two A4 pages), for record systems that take PDF attachments.

Drawn with reportlab (no browser, no HTML renderer): the same content as
:func:`texturecmp.ui.render.report_html` — the summary, warnings, photos and overlays with
their legends, the metrics table, the timeline (the verdict's band, as on the page) and the
provenance (texturecmp version, settings hash, each photo's SHA-256). No Streamlit here; like
:mod:`.render`, nothing is computed, only laid out. Pictures are embedded as JPEG; the PDF
carries no file names (the photos are named by position and session label).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from texturecmp import __version__
from texturecmp.catalogue import FAMILIES
from texturecmp.ui import render

__all__ = ["report_pdf"]

#: TrueType fonts with the report's symbols (→ ± Δ ≤ ² ⁴ ·): DejaVu where the system has it, else
#: the Vera font reportlab ships (same design, fewer symbols: those are spelled out).
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
_FALLBACK = {"→": "->", "Δ": "d", "≤": "<=", "≥": ">=", "⁴": "^4", "²": "^2", "·": "-", "▼": "", "▲": "", "…": "..."}
_VERDICT_RGB = {"improved": "#1a7f37", "worsened": "#c62828", "changed": "#8a5a00", "not comparable": "#5f6368"}

_fonts: tuple[str, str, bool] | None = None


def _register_fonts() -> tuple[str, str, bool]:
    """(regular, bold, has the symbols) font names, registered once."""
    global _fonts
    if _fonts is not None:
        return _fonts
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for d in _FONT_DIRS:
        reg, bold = Path(d) / "DejaVuSans.ttf", Path(d) / "DejaVuSans-Bold.ttf"
        if reg.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("TC-Sans", str(reg)))
            pdfmetrics.registerFont(TTFont("TC-Sans-Bold", str(bold)))
            pdfmetrics.registerFontFamily("TC-Sans", normal="TC-Sans", bold="TC-Sans-Bold", italic="TC-Sans",
                                          boldItalic="TC-Sans-Bold")
            _fonts = ("TC-Sans", "TC-Sans-Bold", True)
            return _fonts
    import reportlab

    fonts = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont("TC-Vera", str(fonts / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont("TC-Vera-Bold", str(fonts / "VeraBd.ttf")))
    pdfmetrics.registerFontFamily("TC-Vera", normal="TC-Vera", bold="TC-Vera-Bold", italic="TC-Vera",
                                  boldItalic="TC-Vera-Bold")
    _fonts = ("TC-Vera", "TC-Vera-Bold", False)
    return _fonts


def _plain(s: str, symbols: bool) -> str:
    """Drawing text (no markup): symbols spelled out when the font lacks them."""
    if not symbols:
        for k, v in _FALLBACK.items():
            s = s.replace(k, v)
    return s


def _text(s: str, symbols: bool) -> str:
    """Escaped for reportlab's paragraph markup; symbols spelled out when the font lacks them."""
    from xml.sax.saxutils import escape

    return escape(_plain(s, symbols))


def _picture(rgb: np.ndarray, width_pt: float):
    from reportlab.platypus import Image

    data = render.jpeg_bytes(rgb, quality=88, max_width=700)
    h, w = rgb.shape[:2]
    return Image(io.BytesIO(data), width=width_pt, height=width_pt * h / w)


def _colour_bar(key: str, width: float, font: str, symbols: bool):
    """A heat map's legend: the colour ramp, five ticks and the unit (reportlab graphics)."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors

    scale = render.HEAT[key]
    ramp = cv2.applyColorMap(np.linspace(0, 255, 40).astype(np.uint8)[:, None], scale.cmap)[:, 0, ::-1]
    d = Drawing(width, 24)
    step = width / len(ramp)
    for i, (r, g, b) in enumerate(ramp.tolist()):
        d.add(Rect(i * step, 12, step + 0.3, 8, fillColor=colors.Color(r / 255, g / 255, b / 255), strokeColor=None))
    d.add(Rect(0, 12, width, 8, fillColor=None, strokeColor=colors.grey, strokeWidth=0.4))
    for i, t in enumerate(np.linspace(scale.lo, scale.hi, 5)):
        label = ("≤" if i == 0 and scale.lo < 0 else "") + ("≥" if i == 4 else "") + f"{t:g}"
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        d.add(String(i * width / 4, 3, _plain(label, symbols), fontName=font, fontSize=6, textAnchor=anchor))
    return d


def _outline_key(width: float, font: str):
    from reportlab.graphics.shapes import Drawing, Line, String
    from reportlab.lib import colors

    d = Drawing(width, 12)
    x = 0.0
    for k in ("roi", "lesion", "reference"):
        r, g, b = render.MARK_COLOURS[k]
        d.add(Line(x, 5, x + 12, 5, strokeColor=colors.Color(r / 255, g / 255, b / 255), strokeWidth=2.5))
        d.add(Line(x, 3.3, x + 12, 3.3, strokeColor=colors.grey, strokeWidth=0.3))
        d.add(String(x + 15, 2.5, render.MARK_NAMES[k], fontName=font, fontSize=6))
        x += 15 + 4.2 * len(render.MARK_NAMES[k]) + 6
    return d


def _timeline(frame, metric: str, labels: Sequence[str], width: float, height: float, font: str, symbols: bool):
    """The metric across sessions with the bars of :func:`render.timeline_band` (reportlab graphics)."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
    from reportlab.lib import colors

    tl = render.timeline_series(frame, metric)
    vals, lo, hi, fin = tl.values, tl.low, tl.high, tl.finite
    g = Drawing(width, height)
    g.add(String(4, height - 10, _plain(tl.title, symbols), fontName=font, fontSize=7))
    if not fin.any():
        g.add(String(4, height - 22, "no values", fontName=font, fontSize=7))
        return g
    ymin, ymax, pad = tl.ymin, tl.ymax, tl.pad
    left, right, top, bottom = 34.0, 6.0, 16.0, 16.0
    n = len(vals)
    xs = [left + (width - left - right) * (i + 0.5) / n for i in range(n)]

    def y(v: float) -> float:
        return bottom + (height - top - bottom) * (v - ymin) / (ymax - ymin)

    g.add(Line(left, bottom, left, height - top, strokeColor=colors.grey, strokeWidth=0.5))
    g.add(Line(left, bottom, width - right, bottom, strokeColor=colors.grey, strokeWidth=0.5))
    for t in np.linspace(ymin + pad, ymax - pad, 3):
        g.add(String(left - 3, y(t) - 2, render.fmt(t), fontName=font, fontSize=5.5, textAnchor="end"))
    blue = colors.HexColor("#1f77b4")
    for i in range(n):
        lab = str(labels[i]) if i < len(labels) else str(i + 1)
        g.add(String(xs[i], bottom - 9, lab[:14], fontName=font, fontSize=5.5, textAnchor="middle"))
        if fin[i] and np.isfinite(lo[i]) and np.isfinite(hi[i]):
            g.add(Line(xs[i], y(lo[i]), xs[i], y(hi[i]), strokeColor=colors.grey, strokeWidth=0.8))
            for yy in (lo[i], hi[i]):
                g.add(Line(xs[i] - 3, y(yy), xs[i] + 3, y(yy), strokeColor=colors.grey, strokeWidth=0.8))
    pts = [c for i in range(n) if fin[i] for c in (xs[i], y(vals[i]))]
    if len(pts) >= 4:
        g.add(PolyLine(pts, strokeColor=blue, strokeWidth=1.2))
    for i in range(n):
        if fin[i]:
            g.add(Circle(xs[i], y(vals[i]), 2.2, fillColor=blue, strokeColor=blue))
    return g


def report_pdf(series, labels: Sequence[str], index: int, *, pixel_size_mm: float | None,
               timeline_metrics: Sequence[str], created: str) -> bytes:
    """The report of follow-up ``index`` (1-based) against the baseline as PDF bytes (A4, one or two pages).

    Parameters
    ----------
    series : texturecmp.Series
        Results of the core, run with the ids "1", "2", ... (:mod:`texturecmp.ui.cache`).
    labels : sequence of str
        The session labels, in session order (the baseline first).
    index : int
        The follow-up shown (1 = the first follow-up).
    pixel_size_mm : float or None
        Millimetres per pixel, when known.
    timeline_metrics : sequence of str
        Metrics drawn across sessions (at most three are drawn).
    created : str
        When the report was made, as printed.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font, bold, symbols = _register_fonts()
    t = lambda s: _text(s, symbols)  # noqa: E731
    cmp = series.vs_baseline[index - 1]
    b_lab, a_lab = labels[0], labels[index]
    base = ParagraphStyle("tc", fontName=font, fontSize=8.5, leading=10.5)
    small = ParagraphStyle("tc-small", parent=base, fontSize=7, leading=8.5, textColor=colors.HexColor("#444444"))
    h1 = ParagraphStyle("tc-h1", parent=base, fontName=bold, fontSize=13, leading=16, spaceAfter=2)
    h2 = ParagraphStyle("tc-h2", parent=base, fontName=bold, fontSize=10, leading=12, spaceBefore=6, spaceAfter=2)
    story: list = []

    al = cmp.alignment
    px = f"{pixel_size_mm:g} mm per pixel" if pixel_size_mm else "unknown (lengths and areas in pixels)"
    story.append(Paragraph(t(f"Skin texture and scar comparison: {b_lab} → {a_lab}"), h1))
    story.append(Paragraph(t(f"texturecmp {__version__} · created {created} · pixel size: {px} · alignment: "
                             f"{al.message} (shift {al.shift_px[0]:.1f}, {al.shift_px[1]:.1f} px, rotation "
                             f"{al.rotation_deg:.2f}°)"), small))

    story.append(Paragraph("Summary", h2))
    nc = render.not_comparable_text(cmp, labels)
    if nc:
        story.append(Paragraph(f'<font color="#5f6368"><b>{t("Not comparable")}</b></font>'
                               + t(nc[len("Not comparable"):]), base))
    lines = render.headlines(cmp, labels)
    for v, s in lines:
        colour = _VERDICT_RGB.get(v, "#555555")
        story.append(Paragraph(f'• <font color="{colour}"><b>{t(v)}</b></font> · {t(s)}', base))
    if not lines:
        story.append(Paragraph(t("No scar or key texture metric available."), base))
    story.append(Paragraph(t(render.truth_sentence(cmp)), small))

    story.append(Paragraph("Warnings", h2))
    warns = [w for ws in render.warnings_by_photo(series, labels).values() for w in ws]
    for w in warns or ["none"]:
        story.append(Paragraph("• " + t(w), base))

    story.append(Paragraph("Photos and overlays", h2))
    maps = cmp.maps
    col_w = 58 * mm
    cells = [(f"Baseline: {b_lab}, with the marks",
              render.outline(maps["before_rgb"], {k: maps.get(k) for k in ("roi", "lesion", "reference")}),
              _outline_key(col_w, font))]
    if "after_rgb_aligned" in maps:
        cells.append((f"{a_lab}, aligned to the baseline", maps["after_rgb_aligned"], None))
    for key in render.HEAT:
        if key in maps:
            sc = render.HEAT[key]
            cells.append((sc.title if sc.unit in sc.title else f"{sc.title} ({sc.unit})", render.overlay_image(maps, key),
                          _colour_bar(key, col_w, font, symbols)))
    grid, row = [], []
    for title, img, legend in cells:
        parts = [_picture(img, col_w), Paragraph(t(title), small)]
        if legend is not None:
            parts.append(legend)
        row.append(parts)
        if len(row) == 3:
            grid.append(row)
            row = []
    if row:
        grid.append(row + [""] * (3 - len(row)))
    story.append(Table(grid, colWidths=[col_w + 3 * mm] * 3, style=TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4)])))
    story.append(Paragraph(t("Heat maps: " + " ".join(f"{s.title}: {s.explain}" for k, s in render.HEAT.items()
                                                      if k in maps)), small))

    # page 2: the table, the timeline, the provenance
    story.append(Paragraph("Metrics", h2))
    head = ["metric", "unit", "before", "after", "change", "% change", "± u", "verdict"]
    rows = [[t(h) for h in head]]
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 6.3),
             ("FONTNAME", (0, 0), (-1, 0), bold), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
             ("ALIGN", (2, 0), (6, -1), "RIGHT"), ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
             ("TOPPADDING", (0, 0), (-1, -1), 0.6), ("BOTTOMPADDING", (0, 0), (-1, -1), 0.6)]
    # why a metric has no verdict: a note letter in its verdict cell, the reasons under the table
    notes = {w: chr(ord("a") + k) for k, w in enumerate(render.reasons(cmp))} if len(render.reasons(cmp)) <= 26 else {}
    for fam in FAMILIES:
        fr = render.changes_frame(cmp, fam)
        if fr.empty:
            continue
        rows.append([t(render.FAMILY_TITLES.get(fam, fam))] + [""] * 7)
        style += [("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)), ("FONTNAME", (0, len(rows) - 1), (-1, len(rows) - 1), bold),
                  ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), colors.HexColor("#f7f7f7"))]
        for r in fr.to_dict("records"):
            rows.append([r["metric"], t(r["unit"]), render.table_number(r["before"]), render.table_number(r["after"]),
                         render.table_number(r["change"]), render.table_number(r["% change"]),
                         render.table_number(r["± u"]),
                         r["verdict"] + (f" ({notes[r['why']]})" if r["why"] in notes else "")])
            if r["verdict"] in _VERDICT_RGB:
                style.append(("TEXTCOLOR", (7, len(rows) - 1), (7, len(rows) - 1), colors.HexColor(_VERDICT_RGB[r["verdict"]])))
    story.append(Table(rows, colWidths=[44 * mm, 20 * mm, 19 * mm, 19 * mm, 19 * mm, 17 * mm, 17 * mm, 31 * mm],
                       repeatRows=1, style=TableStyle(style)))
    if notes:
        story.append(Paragraph(t("Why there is no verdict: " + "; ".join(
            f"({k}) {render.relabel_text(w, labels)}" for w, k in notes.items()) + "."), small))
    story.append(Paragraph(t(render.RULE_TEXT), small))

    frame = render.add_thresholds(series.to_frame(), series)
    chosen = [m for m in timeline_metrics if m in set(frame["metric"])][:3]
    if chosen:
        w = 60 * mm
        charts = Table([[_timeline(frame, m, labels, w, 42 * mm, font, symbols) for m in chosen]],
                       colWidths=[w + 2 * mm] * len(chosen), style=TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        story.append(KeepTogether([Paragraph("Across sessions", h2), charts, Paragraph(
            t("Points: each session's value; bars: " + render.timeline_band(frame)[2] + "."), small)]))

    prov = [f"texturecmp {__version__}; settings SHA-256 {cmp.settings.hash}"]
    prov += [f"photo {i + 1} ({labels[i]}): {m.image.get('width')}×{m.image.get('height')} px, {m.image.get('format')}, "
             f"SHA-256 {m.image.get('sha256')}" for i, m in enumerate(series.measurements)]
    story.append(KeepTogether([Paragraph("Provenance", h2)] + [Paragraph(t(p), small) for p in prov]))
    story.append(Spacer(1, 2))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=11 * mm,
                            bottomMargin=11 * mm, title=f"texturecmp report: {b_lab} -> {a_lab}",
                            author="texturecmp", creator=f"texturecmp {__version__}", subject="", keywords="")
    doc.build(story)
    return buf.getvalue()
