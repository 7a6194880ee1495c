#!/usr/bin/env python
"""Validation of the colour-chart calibration (:mod:`texturecmp.chart`) on synthetic photos.

Photos of a ColorChecker Classic beside skin are rendered from spectra by
``tests/chart_render.py`` (chart: BabelColor Average reflectances; skin: skin2 patches
with skin-like spectra of known CIE L*a*b*; see that module). Reference data for the
fits: ``"BabelColor Average"`` (the same chart the renders show); the printed gap to the
library's D50 data sets says what choosing another data set costs.

Printed, each over the same seeded shots:

(a) accuracy per camera model and fitting method: patch ΔE00 after correction with
    leave-one-patch-out (the mean over shots of each shot's mean, and the largest patch
    error of any shot), skin colour after correction against its true Lab (ΔE00 of the
    mean skin colour; mean, 95th percentile, max), the uncorrected skin ΔE00, and the
    share of calibrations the default checks accept. Shots are drawn by
    ``chart_render.random_shot``: 2700-6500 K, exposure 0.6-1.4, blur 0-1.5 px, noise
    0.5-3 (8-bit), JPEG 75-95 (1 in 5 none), rotation +-20 deg, perspective up to 4 %
    of the card's diagonal, pitch 28-60 px, random place and skin tone; cameras
    "ideal" (colorimetric, half the shots with a random 3 x 3 crosstalk matrix: the
    issue's "other cameras") and two measured spectral sensitivities (Nikon D5100,
    Sigma SD Merrill, whose 3 x 3 correction cannot be exact);
(b) detection rate (corners within 0.25 pitch of the truth) on those shots and on a
    hard set (rotation exactly +-20 deg, perspective 4 %, blur 1.5 px, JPEG 75,
    noise 3, pitch 28 px);
(c) detection and calibration time on a 12 MP photo (4000 x 3000);
(d) the same skin under two lights and two cameras, and a diffuse redness change of
    a* -3, measured with ``texturecmp.measure`` on the calibrated photos (the chart
    masked out of the roi) and on the photos as taken;
(e) the issue's series targets through ``texturecmp.compare_series(..., calibration="auto")``:
    the same skin with a scar under 6500 K (colorimetric camera, the baseline), 3000 K
    (crosstalk camera), 4000 K (Nikon D5100) and 2700 K (Sigma SD Merrill): each
    follow-up's verdicts for color.L/a/b and scar.delta_e00, calibrated (colour truth
    "chart") and as taken with ``fixed_light`` (what an uncalibrated series would
    claim); then a diffuse redness change (a* -3 on all skin) under 3000 K and 4000 K,
    calibrated.

Usage::

    PYTHONPATH=src:tests python benchmarks/validate_chart.py            # ~3-4 min on 2 cores
    PYTHONPATH=src:tests python benchmarks/validate_chart.py --n 12     # quicker
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import chart_render as cr  # noqa: E402
import texturecmp as tc  # noqa: E402
from texturecmp import chart  # noqa: E402
from texturecmp._filters import linearize  # noqa: E402
from texturecmp.color import delta_e00, linear_to_srgb  # noqa: E402

REF = "BabelColor Average"
METHODS = ("Cheung 2004", "Finlayson 2015")
LOOSE = dict(max_loo_mean=np.inf, max_loo_max=np.inf, min_patches=8)  # fit every shot, to report its accuracy


def group_of(shot: cr.Shot) -> str:
    if shot.camera == "lab":
        return "Lab model + crosstalk" if shot.crosstalk is not None else "Lab model"
    if shot.camera == "ideal":
        return "colorimetric + crosstalk" if shot.crosstalk is not None else "colorimetric"
    return {"nikon": "Nikon D5100 (spectral)", "sigma": "Sigma SD Merrill (spectral)"}[shot.camera]


def skin_de(r: cr.Render, cal: chart.Calibration) -> tuple[float, float]:
    lin = linearize(r.rgb[r.skin_mask][None], 8)[0]
    before = float(delta_e00(chart.lin_to_lab(lin.astype(np.float64).mean(axis=0)), r.skin_lab))
    if cal.matrix is None:
        return float("nan"), before
    corr = chart.apply_calibration(lin, replace(cal, ok=True)).astype(np.float64).mean(axis=0)
    return float(delta_e00(chart.lin_to_lab(corr), r.skin_lab)), before


def corner_error(c: chart.ChartCorners | None, r: cr.Render) -> float:
    if c is None:
        return float("inf")
    return float(np.abs(np.array(c.points) - np.array(r.corners)).max() / r.shot.pitch_px)


def accuracy(n: int) -> list[dict]:
    rows = []
    for seed in range(n):
        shot = cr.random_shot(seed)
        r = cr.render(shot)
        t0 = time.perf_counter()
        found = chart.find_chart(r.rgb, reference=REF)
        dt = time.perf_counter() - t0
        row = {"seed": seed, "group": group_of(shot), "found": corner_error(found, r) < 0.25, "find_s": dt,
               "cct": shot.cct_k, "exposure": shot.exposure}
        corners = chart.ChartCorners(r.corners)  # accuracy on the true corners; detection is (b)
        for m in METHODS:
            strict = chart.calibrate(r.rgb, corners=corners, method=m, reference=REF)
            loose = chart.calibrate(r.rgb, corners=corners, method=m, reference=REF, **LOOSE)
            sde, before = skin_de(r, loose)
            row[m] = {"ok": strict.ok, "reasons": list(strict.reasons), "loo_mean": loose.loo_mean,
                      "loo_max": loose.loo_max, "de_mean": loose.de00_mean, "skin": sde, "skin_before": before,
                      "excluded": list(loose.excluded), "before": loose.de00_before_mean}
        rows.append(row)
        print(f"  shot {seed:3d} {row['group']:28s} {shot.cct_k:5.0f} K exp {shot.exposure:.2f}: found={row['found']} "
              + "  ".join(f"{m.split()[0]} loo {row[m]['loo_mean']:.2f}/{row[m]['loo_max']:.2f} skin {row[m]['skin']:.2f}"
                          for m in METHODS), flush=True)
    return rows


def table_a(rows: list[dict]) -> list[str]:
    out = ["| camera | method | shots | patch LOO ΔE00 mean | patch LOO ΔE00 max | skin ΔE00 mean / p95 / max | "
           "skin <= 1.0 | skin before | accepted |", "|---|---|---:|---:|---:|---|---:|---:|---:|"]
    groups = ["Lab model", "Lab model + crosstalk", "colorimetric", "colorimetric + crosstalk",
              "Nikon D5100 (spectral)", "Sigma SD Merrill (spectral)"]
    for g in groups + ["all"]:
        sel = [r for r in rows if g == "all" or r["group"] == g]
        if not sel:
            continue
        for m in METHODS:
            lm = np.array([r[m]["loo_mean"] for r in sel])
            lx = np.array([r[m]["loo_max"] for r in sel])
            sk = np.array([r[m]["skin"] for r in sel])
            sb = np.array([r[m]["skin_before"] for r in sel])
            ok = np.mean([r[m]["ok"] for r in sel])
            out.append(f"| {g} | {m} | {len(sel)} | {lm.mean():.2f} | {lx.max():.2f} | "
                       f"{sk.mean():.2f} / {np.percentile(sk, 95):.2f} / {sk.max():.2f} | {100 * np.mean(sk <= 1.0):.0f} % | "
                       f"{sb.mean():.1f} | {100 * ok:.0f} % |")
    return out


def hard_set(n: int) -> list[bool]:
    found = []
    for i in range(n):
        seed = 1000 + i
        shot = cr.random_shot(seed, rotation_deg=20.0 if i % 2 else -20.0, perspective=0.04, blur_px=1.5, jpeg=75,
                              noise=3.0, pitch_px=28.0, centre=None)
        r = cr.render(shot)
        found.append(corner_error(chart.find_chart(r.rgb, reference=REF), r) < 0.25)
    return found


def timing_12mp() -> dict:
    shot = cr.Shot(shape=(3000, 4000), pitch_px=90.0, rotation_deg=12.0, perspective=0.02, cct_k=3500.0,
                   camera="nikon", noise=2.0, jpeg=90, blur_px=1.0, centre=(2900.0, 1500.0))
    r = cr.render(shot)
    img = tc.load_image(r.rgb)
    chart.find_chart(img, reference=REF)  # warm-up (imports)
    ft, ct = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        c = chart.find_chart(img, reference=REF)
        ft.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        chart.calibrate(img, corners=c, reference=REF)
        ct.append(time.perf_counter() - t0)
    return {"found": corner_error(c, r) < 0.25, "find_best": min(ft), "find_median": float(np.median(ft)),
            "calibrate_corners_best": min(ct)}


def measure_pair() -> list[str]:
    """(d): one skin with a scar, four captures, measured calibrated and as taken."""
    skin = replace(cr.SKINS["fair_mottled"], scar_radii_px=(120.0, 80.0))
    base = dict(shape=(900, 1200), pitch_px=40.0, centre=(1000.0, 450.0), skin=skin, noise=1.5, jpeg=90, seed=7)
    shots = {
        "6500 K, colorimetric": cr.Shot(cct_k=6500.0, camera="ideal", **base),
        "3000 K, Lab model, crosstalk camera": cr.Shot(cct_k=3000.0, camera="lab", crosstalk=cr.crosstalk(3),
                                                       exposure=0.8, **base),
        "3000 K, Lab model, crosstalk camera, a* -3": cr.Shot(cct_k=3000.0, camera="lab", crosstalk=cr.crosstalk(3),
                                                              exposure=0.8, skin_lab_shift=(0.0, -3.0, 0.0), **base),
        "3000 K, crosstalk camera": cr.Shot(cct_k=3000.0, camera="ideal", crosstalk=cr.crosstalk(3), exposure=0.8, **base),
        "4000 K, Nikon D5100": cr.Shot(cct_k=4000.0, camera="nikon", exposure=1.2, **base),
        "2700 K, Sigma SD Merrill": cr.Shot(cct_k=2700.0, camera="sigma", exposure=0.9, **base),
        "3000 K, crosstalk camera, a* -3": cr.Shot(cct_k=3000.0, camera="ideal", crosstalk=cr.crosstalk(3), exposure=0.8,
                                                   skin_lab_shift=(0.0, -3.0, 0.0), **base),
    }
    from skin2 import render as render_skin  # noqa: PLC0415

    lesion = render_skin(skin, shape=base["shape"], seed=base["seed"]).lesion
    names = ("color.L", "color.a", "color.b", "scar.delta_e00")
    lines = ["| capture | calibrated: " + ", ".join(names) + " | as taken | calibration |", "|---|---|---|---|"]
    vals = {}
    for label, shot in shots.items():
        r = cr.render(shot)
        cal, mask = chart.prepare_calibration(r.rgb, "auto", reference=REF)
        roi = ~mask
        lin = linearize(r.rgb, 8)
        corr = np.clip(linear_to_srgb(chart.apply_calibration(lin, cal)), 0.0, 1.0) if cal.ok else None
        m_raw = tc.measure(r.rgb, roi=roi, lesion=lesion & roi)
        m_cal = tc.measure(corr, roi=roi, lesion=lesion & roi) if corr is not None else None
        vals[label] = (m_cal, m_raw)
        fmt = lambda m: ", ".join(f"{m.value(k):.2f}" for k in names) if m is not None else "refused"  # noqa: E731
        lines.append(f"| {label} | {fmt(m_cal)} | {fmt(m_raw)} | {cal.message} |")
    first = vals["6500 K, colorimetric"]
    lines.append("")
    lines.append("| capture vs 6500 K colorimetric | calibrated Δ (L, a, b, scar ΔE00) | as taken Δ |")
    lines.append("|---|---|---|")
    for label, (mc, mr) in list(vals.items())[1:]:
        dc = ", ".join(f"{mc.value(k) - first[0].value(k):+.2f}" for k in names) if mc is not None else "refused"
        dr = ", ".join(f"{mr.value(k) - first[1].value(k):+.2f}" for k in names)
        lines.append(f"| {label} | {dc} | {dr} |")
    return lines


def series_targets() -> list[str]:
    """(e): verdicts of calibrated series (compare_series with calibration="auto")."""
    skin = replace(cr.SKINS["fair_mottled"], scar_radii_px=(120.0, 80.0))
    base = dict(shape=(900, 1200), pitch_px=40.0, centre=(1000.0, 450.0), skin=skin, noise=1.5, jpeg=90, seed=7)
    from skin2 import render as render_skin  # noqa: PLC0415

    lesion = render_skin(skin, shape=base["shape"], seed=base["seed"]).lesion
    shots = {
        "6500 K, colorimetric (baseline)": cr.Shot(cct_k=6500.0, camera="ideal", **base),
        "3000 K, crosstalk camera": cr.Shot(cct_k=3000.0, camera="ideal", crosstalk=cr.crosstalk(3), exposure=0.8, **base),
        "4000 K, Nikon D5100": cr.Shot(cct_k=4000.0, camera="nikon", exposure=1.2, **base),
        "2700 K, Sigma SD Merrill": cr.Shot(cct_k=2700.0, camera="sigma", exposure=0.9, **base),
        "3000 K, crosstalk camera, a* -3": cr.Shot(cct_k=3000.0, camera="ideal", crosstalk=cr.crosstalk(3), exposure=0.8,
                                                   skin_lab_shift=(0.0, -3.0, 0.0), **base),
        "4000 K, Nikon D5100, a* -3": cr.Shot(cct_k=4000.0, camera="nikon", exposure=1.2,
                                              skin_lab_shift=(0.0, -3.0, 0.0), **base),
    }
    imgs = [cr.render(s).rgb for s in shots.values()]
    labels = list(shots)
    names = ("color.L", "color.a", "color.b", "scar.delta_e00")
    cal = tc.compare_series(imgs, labels=labels, lesion=lesion, calibration="auto", settings={"chart_reference": REF})
    raw = tc.compare_series(imgs, labels=labels, lesion=lesion, settings={"fixed_light": True})
    lines = ["| follow-up vs 6500 K baseline | calibrated: Δ / threshold, verdict | "
             "as taken (fixed light): Δ / threshold, verdict |", "|---|---|---|"]

    def cell(c, n):
        ch = c.changes[n]
        return f"{n} {ch.delta:+.2f}/{ch.threshold:.2f} {ch.verdict}"

    for cc, cu in zip(cal.vs_baseline, raw.vs_baseline):
        lines.append(f"| {cc.labels[1]} | (truth: {cc.colour_truth}) " + "; ".join(cell(cc, n) for n in names) + " | "
                     + "; ".join(cell(cu, n) for n in names) + " |")
    lines.append("")
    for m, lab in zip(cal.measurements, labels):
        lines.append(f"- {lab}: {m.calibration['message']}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="random shots for (a) and (b)")
    ap.add_argument("--hard", type=int, default=20, help="shots of the hard detection set")
    ap.add_argument("--json", type=Path, help="write the raw rows here")
    ap.add_argument("--parts", default="abcde", help="which parts to run (default abcde; b needs a)")
    args = ap.parse_args()
    print(f"texturecmp {tc.__version__}; reference {REF!r}")
    lin_b, lab_b = chart.reference_patches(REF)
    for other in chart.REFERENCES:
        if other != REF:
            d = delta_e00(chart.reference_patches(other)[1], lab_b)
            print(f"  reference gap {other!r} vs {REF!r}: ΔE00 {d.mean():.2f} mean, {d.max():.2f} max")
    rows, hard, t = [], [], {}
    if "a" in args.parts:
        print(f"\n(a) accuracy, {args.n} random shots")
        rows = accuracy(args.n)
        print("\n".join(table_a(rows)))
    if "b" in args.parts and rows:
        found = [r["found"] for r in rows]
        times = [r["find_s"] for r in rows]
        print(f"\n(b) detection: {sum(found)}/{len(found)} random shots ({100 * np.mean(found):.1f} %), "
              f"find_chart {np.median(times):.2f} s median on 900 x 1200 px photos")
        hard = hard_set(args.hard)
        print(f"    hard set (±20°, perspective 4 %, blur 1.5, JPEG 75, noise 3, pitch 28 px): "
              f"{sum(hard)}/{len(hard)} ({100 * np.mean(hard):.1f} %)")
    if "c" in args.parts:
        t = timing_12mp()
        print(f"\n(c) 12 MP (4000 x 3000): found={t['found']}, find_chart {t['find_best']:.2f} s best, "
              f"{t['find_median']:.2f} s median of 3; calibrate at given corners {t['calibrate_corners_best']:.2f} s")
    if "d" in args.parts:
        print("\n(d) the same skin under other lights and cameras (texturecmp.measure, chart masked out)")
        print("\n".join(measure_pair()))
    if "e" in args.parts:
        print("\n(e) calibrated series (texturecmp.compare_series, calibration='auto')")
        print("\n".join(series_targets()))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "hard": hard, "timing": t}, indent=1, default=float))


if __name__ == "__main__":
    main()
