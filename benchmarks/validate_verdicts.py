#!/usr/bin/env python
"""False-verdict rates and smallest detectable treatments on held-out data (prints Markdown tables).

Nothing here was used to calibrate the capture model (``scripts/calibrate_capture.py``):

* **skin2**: ``tests/skin2.py``, a generator that shares no code with
  ``texturecmp.phantoms``, its five presets (two with flat chroma), scene seeds 0-999, each
  photographed twice by its own :func:`skin2.random_capture` ("typical": exposure 0.9-1.1,
  white balance +-3 %, shift up to 8 px, rotation up to 1 deg, scale 0.99-1.01, JPEG
  75-95, sensor noise), each passed as its JPEG file (so that its quantization step is
  read, as for a photo from a camera), one pair in four as PNG files instead;
* **real (held out)**: London set subjects 107, 136 and 140 (neutral), ``lisa/lisa1-4``
  and ``zoom/30cm``, ``zoom/45cm`` from ``../shared/data/real/``, cheek and forehead skin
  (:func:`skin2.face_skin_mask`) with a cheek patch as the "lesion", captured twice by
  :func:`skin2.random_capture`;
* **distance**: the same skin2 scenes and held-out real photos, their second capture taken
  from another distance (:func:`far_scale`: 0.86-0.97 or 1.03-1.16 times the size), for
  the capture model's camera-distance part.

Tables:

1. per metric, the fraction of nuisance-only retakes with a verdict other than "no
   detectable change" (with its 95 % Clopper-Pearson upper bound); "not comparable"
   retakes are counted apart;
   then the same for the distance retakes;
2. the headline (:attr:`texturecmp.Comparison.headline`, Holm): the fraction of retakes
   whose summary says "improved" or "worsened"; the same with a third capture given as
   ``baseline_repeat`` (skin2 retakes);
3. sensitivity: on a clean capture (sensor noise only, no JPEG), the smallest treatment
   strength k of each headline metric's generator that the metric calls "improved", and
   that the headline calls "improved", per generator (texturecmp.phantoms at held-out
   seeds 9000+, skin2), median over seeds;
4. real photos: Gaussian smoothing (sigma 1.5 px) of the cheek and forehead skin.

Run::

    PYTHONPATH=src python benchmarks/validate_verdicts.py            # 150 retakes + sensitivity
    PYTHONPATH=src python benchmarks/validate_verdicts.py --quick
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "src", ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import skin2  # noqa: E402
import texturecmp as tc  # noqa: E402
from texturecmp.catalogue import HEADLINE, METRICS  # noqa: E402
from texturecmp.compare import QUALITY_LIMITS  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"
#: Held-out real photos (the calibration uses London 021, 024, 061 and two ISIC photos).
REAL_HELDOUT = ("london_neutral_smiling/107_03_neutral", "london_neutral_smiling/136_03_neutral",
                "london_neutral_smiling/140_03_neutral", "webmorph_same_person/lisa/lisa1",
                "webmorph_same_person/lisa/lisa2", "webmorph_same_person/lisa/lisa3",
                "webmorph_same_person/lisa/lisa4", "webmorph_same_person/zoom/30cm",
                "webmorph_same_person/zoom/45cm")
#: Verdicts that are not a claim of change.
QUIET = ("no detectable change", "not comparable", "not computable")
#: Metrics that measure the capture itself (a flagged exposure shift in a retake is true).
CAPTURE_MEASURES = (*QUALITY_LIMITS, "quality.sharpness")
#: Treatment strengths tried for the smallest detectable treatment.
STRENGTHS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)


# ----------------------------------------------------------------------------- real photos

def real_photo(key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb, roi: cheek and forehead skin, lesion: a disc in the roi's widest part) of a held-out photo."""
    path = REAL / f"{key}.jpg"
    rgb = tc.load_image(path).pixels()
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    roi = skin2.face_skin_mask(skin2.read_tem(path.with_suffix(".tem")), rgb.shape[:2])
    dist = cv2.distanceTransform(roi.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    lesion = np.zeros(roi.shape, np.uint8)
    cv2.circle(lesion, (int(x), int(y)), max(6, int(dist[y, x] * 0.45)), 1, -1)
    return rgb, roi, lesion.astype(bool)


# ---------------------------------------------------------------------------------- retakes

def retake_jobs(n_skin2: int, n_real: int) -> list[tuple[str, str, int]]:
    """(generator, item, variant) of the held-out nuisance-only retakes."""
    presets = sorted(skin2.SKINS)
    out = [("skin2", presets[i % len(presets)], i) for i in range(n_skin2)]
    out += [("real", REAL_HELDOUT[i % len(REAL_HELDOUT)], i) for i in range(n_real)]
    return out


def far_scale(variant: int) -> float:
    """The second photo's scale of a distance retake: |ln s| uniform in [0.03, 0.15], either sign."""
    rng = np.random.default_rng([variant, 0xD15])
    return float(math.exp(rng.choice((-1.0, 1.0)) * rng.uniform(0.03, 0.15)))


def retake_pair(gen: str, item: str, variant: int, *, far: bool = False):
    """(baseline, retake, roi, lesion) of one held-out retake (``far``: the retake from
    another distance, :func:`far_scale`)."""
    if gen == "skin2":
        sk = skin2.render(skin2.SKINS[item], seed=variant)
        rgb, roi, lesion = sk.rgb, None, sk.lesion
    else:
        rgb, roi, lesion = real_photo(item)
    lossless = variant % 4 == 3  # one pair in four saved as PNG files
    b, _ = skin2.random_capture(rgb, 2 * variant + 1, encoded=True, lossless=lossless)
    r, drawn = skin2.random_capture(rgb, 2 * variant + 2, encoded=True, lossless=lossless)
    if far:
        drawn["scale"] = far_scale(variant)
        r = skin2.capture(rgb, seed=2 * variant + 2, encoded=True, **drawn)
    return b, r, roi, lesion


def held_out_colour_reference(shape: tuple[int, int], roi: np.ndarray | None, lesion: np.ndarray) -> np.ndarray:
    """Untreated skin for the colour: the top third of the roi (the forehead of a face), or
    without a roi the photo's top sixth; away from the lesion."""
    h, w = shape
    away = ~cv2.dilate(lesion.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
    if roi is None:
        ref = np.zeros(shape, bool)
        ref[: h // 6] = True
    else:
        ys = np.nonzero(roi.any(axis=1))[0]
        ref = roi.copy()
        ref[int(ys[0] + (ys[-1] - ys[0]) / 3):] = False
    return ref & away


def uses_colour_reference(variant: int) -> bool:
    """Half the retakes (four in eight, lossless ones among them) mark a colour reference."""
    return (variant // 4) % 2 == 0


def run_retake(job: tuple[str, str, int], *, repeat: bool = False, far: bool = False) -> dict:
    """Compare a held-out retake pair (``repeat``: with a third capture as ``baseline_repeat``;
    ``far``: the retake from another distance); half of them with a colour reference
    (:func:`uses_colour_reference`), so that the whole-region colour metrics are judged too."""
    b, r, roi, lesion = retake_pair(*job, far=far)
    extra = {}
    if uses_colour_reference(job[2]):
        shape = lesion.shape
        extra["colour_reference"] = held_out_colour_reference(shape, roi, lesion)
    if repeat:
        rgb = skin2.render(skin2.SKINS[job[1]], seed=job[2]).rgb if job[0] == "skin2" else real_photo(job[1])[0]
        extra["baseline_repeat"] = skin2.random_capture(rgb, 2 * job[2] + 1001, encoded=True,
                                                        lossless=job[2] % 4 == 3)[0]
    try:
        cmp = tc.compare(b, r, roi=roi, lesion=lesion, **extra)
    except tc.errors.TextureCmpError as exc:
        return {"job": job, "error": str(exc)}
    return {"job": job, "comparable": cmp.comparable, "verdicts": {n: c.verdict for n, c in cmp.changes.items()},
            "headline": {h.metric: h.verdict for h in cmp.headline},
            "rows": [{"generator": job[0], "item": job[1], "variant": job[2], "colour_truth": cmp.colour_truth,
                      "metric": n, "before": c.before,
                      "after": c.after, "delta": c.delta, "se": c.se, "verdict": c.verdict}
                     for n, c in cmp.changes.items()]}


def clopper_pearson_upper(k: int, n: int, conf: float = 0.95) -> float:
    """One-sided upper confidence bound of a binomial proportion k / n."""
    from scipy.stats import beta

    return 1.0 if k >= n else float(beta.ppf(conf, k + 1, n - k))


def false_rates(results: list[dict]) -> tuple[dict[str, tuple[int, int]], tuple[int, int], int, int]:
    """Per metric (false, comparable retakes); headline (false, n); not comparable; errors."""
    ok = [r for r in results if "error" not in r]
    comp = [r for r in ok if r["comparable"]]
    per = {}
    for name in METRICS:  # among the retakes that judge it (colour metrics: those with a colour truth)
        judged = [r for r in comp if r["verdicts"][name] != "not comparable"]
        per[name] = (sum(r["verdicts"][name] not in QUIET for r in judged), len(judged))
    head = sum(any(v in ("improved", "worsened") for v in r["headline"].values()) for r in comp)
    return per, (head, len(comp)), len(ok) - len(comp), len(results) - len(ok)


def run_retake_with_repeat(job: tuple[str, str, int]) -> dict:
    return run_retake(job, repeat=True)


def run_far_retake(job: tuple[str, str, int]) -> dict:
    return run_retake(job, far=True)


# ------------------------------------------------------------------------------ sensitivity

def clean_pair(gen: str, seed: int, k: float):
    """A clean capture (sensor noise only) of untreated skin and of skin treated with strength k."""
    if gen == "skin2":
        spec = skin2.SKINS["fair_lined"]
        b = skin2.render(spec, seed=seed)
        a = skin2.render(spec, seed=seed, treatment=k)
        noisy = [skin2.capture(x.rgb, seed=seed * 10 + i, noise=1.0) for i, x in enumerate((b, a))]
        return noisy[0], noisy[1], b.lesion
    from texturecmp.phantoms import skin_phantom, to_uint8

    b = skin_phantom((768, 1024), seed=seed, noise_seed=2 * seed)
    a = skin_phantom((768, 1024), seed=seed, treatment=k, noise_seed=2 * seed + 1)
    return to_uint8(b.rgb), to_uint8(a.rgb), b.lesion


def run_sensitivity(job: tuple[str, int, float]) -> dict:
    gen, seed, k = job
    b, a, lesion = clean_pair(gen, seed, k)
    cmp = tc.compare(b, a, lesion=lesion)
    return {"job": job, "verdicts": {n: cmp.changes[n].verdict for n in HEADLINE},
            "headline": {h.metric: h.verdict for h in cmp.headline}}


def smallest(results: list[dict], gen: str, key: str) -> dict[str, float]:
    """Median over seeds of the smallest k with an "improved" verdict (inf when none)."""
    seeds = sorted({r["job"][1] for r in results if r["job"][0] == gen})
    out = {}
    for name in HEADLINE:
        per_seed = []
        for s in seeds:
            ks = sorted(r["job"][2] for r in results if r["job"][0] == gen and r["job"][1] == s
                        and r[key].get(name) == "improved")
            per_seed.append(ks[0] if ks else math.inf)
        out[name] = float(np.median(per_seed)) if per_seed else math.nan
    return out


def run_smoothing(key: str) -> dict:
    """A real photo against itself with its cheek and forehead skin smoothed (sigma 1.5 px),
    each captured with its own nuisances ("mild")."""
    rgb, roi, lesion = real_photo(key)
    b, _ = skin2.random_capture(rgb, 11, level="mild", encoded=True)
    a, _ = skin2.random_capture(skin2.smooth_region(rgb, roi, sigma=1.5), 12, level="mild", encoded=True)
    cmp = tc.compare(b, a, roi=roi, lesion=lesion)
    ch = cmp.changes["texture.band_fine"]
    return {"key": key, "verdict": ch.verdict, "percent": ch.percent,
            "headline": {h.metric: h.verdict for h in cmp.headline}}


# ------------------------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skin2", type=int, default=100, help="skin2 retakes (default 100)")
    ap.add_argument("--real", type=int, default=54, help="real-photo retakes (default 54: 6 per held-out photo)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per generator for sensitivity (default 3)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rows", type=Path, help="also write every retake's changes (CSV)")
    ap.add_argument("--no-sensitivity", action="store_true", help="only the false-verdict tables")
    ap.add_argument("--repeats", type=int, default=50, help="skin2 retakes also run with a baseline repeat (default 50)")
    ap.add_argument("--far-skin2", type=int, default=60, help="skin2 retakes from another distance (default 60)")
    ap.add_argument("--far-real", type=int, default=36, help="real-photo retakes from another distance (default 36)")
    a = ap.parse_args(argv)
    if a.quick:
        a.skin2, a.real, a.seeds, a.repeats, a.far_skin2, a.far_real = 10, 9, 1, 5, 5, 9
    t0 = time.time()
    with ProcessPoolExecutor(a.jobs) as ex:
        res = list(ex.map(run_retake, retake_jobs(a.skin2, a.real)))
        res_rep = list(ex.map(run_retake_with_repeat, retake_jobs(a.repeats, 0)))
        res_far = list(ex.map(run_far_retake, retake_jobs(a.far_skin2, a.far_real)))
        sens_jobs = [(g, s, k) for g, base in (("phantoms", 9000), ("skin2", 500)) for s in range(base, base + a.seeds)
                     for k in STRENGTHS]
        sens = [] if a.no_sensitivity else list(ex.map(run_sensitivity, sens_jobs))
        smooth = [] if a.no_sensitivity else list(ex.map(run_smoothing, REAL_HELDOUT))
    if a.rows:
        import pandas as pd

        pd.DataFrame([row for r in res for row in r.get("rows", ())]).to_csv(a.rows, index=False)
    per, head, n_nc, n_err = false_rates(res)
    print(f"Held-out nuisance-only retakes: {len(res)} ({a.skin2} skin2, {a.real} real); "
          f"{n_nc} not comparable, {n_err} refused; {time.time() - t0:.0f} s\n")
    print("| metric | false verdicts | 95 % upper bound |\n|---|---|---|")
    for name, (k, n) in per.items():
        if name in CAPTURE_MEASURES or n == 0:
            continue
        print(f"| `{name}` | {100 * k / n:.1f} % ({k}/{n}) | {100 * clopper_pearson_upper(k, n):.1f} % |")
    for gen in ("skin2", "real"):
        sub = [r for r in res if r["job"][0] == gen]
        per_g, (kg, ng), _, _ = false_rates(sub)
        worst = sorted(((k / max(n, 1), m) for m, (k, n) in per_g.items() if m not in CAPTURE_MEASURES), reverse=True)[:5]
        print(f"\n{gen}: {len(sub)} retakes; headline {100 * kg / max(ng, 1):.1f} %; highest: "
              + ", ".join(f"{m} {100 * r:.1f} %" for r, m in worst))
    per_f, (kf, nf), n_ncf, n_errf = false_rates(res_far)
    print(f"\nFrom another distance (scale 0.86-0.97 or 1.03-1.16): {len(res_far)} retakes ({a.far_skin2} skin2, "
          f"{a.far_real} real); {n_ncf} not comparable, {n_errf} refused; headline {100 * kf / max(nf, 1):.1f} % "
          f"({kf}/{nf})\n")
    print("| metric | false verdicts, other distance | 95 % upper bound | not comparable |\n|---|---|---|---|")
    for name, (k, n) in per_f.items():
        if name in CAPTURE_MEASURES or n == 0:
            continue
        nc = sum(r["verdicts"][name] == "not comparable" for r in res_far if "error" not in r and r["comparable"])
        print(f"| `{name}` | {100 * k / n:.1f} % ({k}/{n}) | {100 * clopper_pearson_upper(k, n):.1f} % | {nc} |")
    per_r, (kr, nr), _, _ = false_rates(res_rep)
    worst_r = sorted(((k / max(n, 1), m) for m, (k, n) in per_r.items() if m not in CAPTURE_MEASURES), reverse=True)[:3]
    print(f"\nwith a baseline repeat (pooled, {len(res_rep)} skin2 retakes): headline {100 * kr / max(nr, 1):.1f} %; "
          "highest: " + ", ".join(f"{m} {100 * r:.1f} %" for r, m in worst_r))
    k, n = head
    print(f"\nHeadline (Holm over {len(HEADLINE)} metrics) says improved or worsened: {100 * k / max(n, 1):.1f} % "
          f"({k}/{n}; 95 % upper bound {100 * clopper_pearson_upper(k, n):.1f} %)\n")
    if a.no_sensitivity:
        return 0
    print("| headline metric | smallest k, per metric: phantoms / skin2 | smallest k, headline: phantoms / skin2 |")
    print("|---|---|---|")
    sm = {(g, key): smallest(sens, g, key) for g in ("phantoms", "skin2") for key in ("verdicts", "headline")}
    for name in HEADLINE:
        f = lambda v: "none" if not math.isfinite(v) else f"{v:g}"  # noqa: E731
        print(f"| `{name}` | {f(sm['phantoms', 'verdicts'][name])} / {f(sm['skin2', 'verdicts'][name])} | "
              f"{f(sm['phantoms', 'headline'][name])} / {f(sm['skin2', 'headline'][name])} |")
    print("\n| held-out real photo, skin smoothed (sigma 1.5 px) | texture.band_fine | headline texture.band_fine |")
    print("|---|---|---|")
    for r in smooth:
        print(f"| {r['key'].split('/')[-1]} | {r['verdict']} ({r['percent']:+.0f} %) | "
              f"{r['headline'].get('texture.band_fine', '—')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
