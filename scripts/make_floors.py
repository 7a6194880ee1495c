#!/usr/bin/env python
"""Generate the shipped capture floors, ``src/texturecmp/data/floors.json`` (METRICS.md 5).

The capture floor of a metric is the change that nuisances alone produce: the 95th
percentile of ``|delta|`` (catalogue ``floor="abs"``) or ``|delta| / |before|``
(``floor="rel"``) over many nuisance-only retakes of untreated synthetic skin
(:func:`texturecmp.phantoms.nuisance_retake`, level "typical": exposure, white balance,
shift, small rotation, JPEG on both photos, independent sensor noise), each compared with
``texturecmp.compare(base.rgb, retake.rgb, lesion=base.lesion, settings=Settings())``.

The deltas do not depend on the floors (only the verdicts do), so reading
``Change.delta`` / ``Change.before`` gives the same numbers whatever floors.json is
installed: the file does not feed back into itself. ``quality.exposure_shift`` is left
out (it *is* a nuisance); the pair metric ``change.lbp_chi2`` is included (kind "abs",
delta = its value for the pair).

A second, disjoint set of nuisance-only pairs (other scene seeds and nuisance variants)
then checks the new floors: the fraction of metrics a verdict would call "detectable"
(``|delta| > max(z * SE, floor)``, the rule of :mod:`texturecmp.compare`) is the
false-positive rate, ~5 % per metric or less by construction.

**Re-run after changing any metric** (its definition, its implementation, the defaults
in :class:`texturecmp.Settings` or the phantom renderer) and commit the new file::

    PYTHONPATH=src python scripts/make_floors.py            # 60 pairs + 20 held out, 2 processes
    PYTHONPATH=src python scripts/make_floors.py --quick    # smoke test: 8 + 4 pairs
    PYTHONPATH=src python scripts/make_floors.py --pairs 120 --out /tmp/floors.json

Floors of metrics whose unit depends on ``pixel_size_mm`` are in pixel units (the
phantoms are compared without a pixel size); each entry records its ``unit``.
"""

from __future__ import annotations

import os

# one thread per worker process for the BLAS / OpenMP pools (set before numpy loads)
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import datetime as _dt
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import texturecmp  # noqa: E402
from texturecmp import METRICS, Settings  # noqa: E402
from texturecmp.phantoms import NUISANCE_LEVELS, nuisance_retake  # noqa: E402

DEFAULT_OUT = ROOT / "src" / "texturecmp" / "data" / "floors.json"
SHAPE = (768, 1024)  # (height, width), like the sample images
LEVEL = "typical"
EXCLUDED = {"quality.exposure_shift": "a nuisance itself (exposure difference of the pair), not a change of the skin"}
HELDOUT_SEED0 = 1000  # held-out scene seeds start here ...
HELDOUT_VARIANT0 = 100  # ... and their nuisance variants here (calibration uses seeds/variants from 0)


def metric_names() -> list[str]:
    return [n for n in METRICS if n not in EXCLUDED]


def design(n_pairs: int, seed0: int, variant0: int, per_seed: int = 5) -> list[tuple[int, int]]:
    """(scene seed, nuisance variant) pairs: ceil(n / per_seed) scenes, interleaved."""
    n_scenes = max(2, math.ceil(n_pairs / per_seed))
    return [(seed0 + i % n_scenes, variant0 + i // n_scenes) for i in range(n_pairs)]


def _init_worker() -> None:
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # pragma: no cover
        pass


def run_pair(task: tuple[int, int, tuple[int, int], str]) -> dict:
    """Render one nuisance-only pair, compare it, return before / delta / SE per metric."""
    seed, variant, shape, level = task
    t0 = time.perf_counter()
    base, retake = nuisance_retake(seed, shape=shape, level=level, variant=variant)
    t1 = time.perf_counter()
    last = None
    for attempt in range(3):  # internals may be mid-edit by other engineers: retry once or twice
        try:
            c = texturecmp.compare(base.rgb, retake.rgb, lesion=base.lesion, settings=Settings())
            break
        except Exception as exc:  # noqa: BLE001
            last = exc
            time.sleep(30)
    else:
        return {"seed": seed, "variant": variant, "error": f"{type(last).__name__}: {last}"}
    t2 = time.perf_counter()
    out = {}
    for name, ch in c.changes.items():
        out[name] = (float(ch.before), float(ch.delta), float(ch.uncertainty))
    return {"seed": seed, "variant": variant, "changes": out, "render_s": t1 - t0, "compare_s": t2 - t1,
            "aligned": bool(c.alignment.ok), "warnings": list(c.warnings)}


def run_all(tasks: list, processes: int, label: str) -> list[dict]:
    results: list[dict] = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=processes, initializer=_init_worker) as ex:
        futs = [ex.submit(run_pair, t) for t in tasks]
        for i, f in enumerate(as_completed(futs), 1):
            r = f.result()
            results.append(r)
            el = time.perf_counter() - t0
            eta = el / i * (len(tasks) - i)
            state = r.get("error") or f"compare {r['compare_s']:.1f} s"
            print(f"  [{label} {i:3d}/{len(tasks)}] seed {r['seed']:4d} variant {r['variant']:3d}: {state}"
                  f"   ({el:5.0f} s elapsed, ~{eta:4.0f} s left)", flush=True)
    results.sort(key=lambda r: (r["seed"], r["variant"]))
    return results


def statistic(kind: str, before: float, delta: float) -> float:
    """The quantity whose 95th percentile is the floor: |delta| or |delta| / |before|."""
    if not math.isfinite(delta):
        return math.nan
    if kind == "rel":
        return abs(delta) / abs(before) if math.isfinite(before) and before != 0 else math.nan
    return abs(delta)


def compute_floors(results: list[dict], min_pairs: int = 5) -> tuple[dict, list[str]]:
    floors, skipped = {}, []
    for name in metric_names():
        info = METRICS[name]
        kind = info.floor
        vals = []
        for r in results:
            if "changes" not in r or name not in r["changes"]:
                continue
            b, d, _ = r["changes"][name]
            if info.scope == "pair":
                b = 1.0  # compare() scales a pair metric's floor by 1
            v = statistic(kind, b, d)
            if math.isfinite(v):
                vals.append(v)
        if len(vals) < min_pairs:
            skipped.append(f"{name} ({len(vals)} finite deltas)")
            continue
        a = np.asarray(vals)
        floors[name] = {"kind": kind, "value": float(np.percentile(a, 95)), "n_pairs": int(a.size),
                        "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "max": float(a.max()),
                        "unit": "fraction of the baseline value" if kind == "rel" else info.unit_for(None)}
    return floors, skipped


def threshold(name: str, before: float, se: float, floors: dict, s: Settings) -> float:
    """The detection threshold compare() would use with these floors (texturecmp.compare._changes)."""
    info = METRICS[name]
    f = floors.get(name)
    fl = 0.0
    if f:
        v = float(f["value"]) * s.floor_multiplier
        b = 1.0 if info.scope == "pair" else before
        fl = v * abs(b) if f["kind"] == "rel" else v
        if not math.isfinite(fl):
            fl = 0.0
    zse = s.z * se if math.isfinite(se) else 0.0
    return max(zse, fl)


def false_positives(results: list[dict], floors: dict, s: Settings) -> dict:
    """Per metric: pairs flagged detectable with the floors, and with the SE rule alone."""
    per = {}
    for name in metric_names():
        n = hit = hit_se = 0
        for r in results:
            if "changes" not in r or name not in r["changes"]:
                continue
            b, d, se = r["changes"][name]
            if not math.isfinite(d):
                continue
            n += 1
            hit += abs(d) > threshold(name, b, se, floors, s)
            hit_se += abs(d) > threshold(name, b, se, {}, s)
        per[name] = {"n": n, "flagged": hit, "flagged_se_only": hit_se}
    tot = sum(v["n"] for v in per.values())
    return {"per_metric": per, "decisions": tot,
            "rate": sum(v["flagged"] for v in per.values()) / tot if tot else math.nan,
            "rate_se_only": sum(v["flagged_se_only"] for v in per.values()) / tot if tot else math.nan}


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # atomic: concurrent readers never see half a file


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=60, help="nuisance-only pairs for the floors (default 60)")
    ap.add_argument("--heldout", type=int, default=None, help="held-out pairs for the false-positive check (default 20)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default {DEFAULT_OUT.relative_to(ROOT)})")
    ap.add_argument("--quick", action="store_true", help="smoke test: 8 pairs + 4 held out")
    ap.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    args = ap.parse_args(argv)
    n = 8 if args.quick else args.pairs
    n_held = args.heldout if args.heldout is not None else (4 if args.quick else 20)
    if n < 2:
        ap.error("--pairs must be at least 2")
    s = Settings()
    calib = design(n, 0, 0)
    held = design(n_held, HELDOUT_SEED0, HELDOUT_VARIANT0) if n_held > 0 else []
    print(f"texturecmp {texturecmp.__version__}: {n} calibration + {len(held)} held-out nuisance-only pairs, "
          f"{SHAPE[1]}x{SHAPE[0]}, level '{LEVEL}', {args.processes} processes", flush=True)
    t0 = time.perf_counter()
    res = run_all([(sd, v, SHAPE, LEVEL) for sd, v in calib], args.processes, "floors")
    errors = [r for r in res if "error" in r]
    for r in errors:
        print(f"  ! seed {r['seed']} variant {r['variant']}: {r['error']}", file=sys.stderr)
    ok = [r for r in res if "error" not in r]
    if len(ok) < max(2, n // 2):
        print(f"too many failed pairs ({len(errors)} of {n}); nothing written", file=sys.stderr)
        return 1
    floors, skipped = compute_floors(ok)
    held_res = run_all([(sd, v, SHAPE, LEVEL) for sd, v in held], args.processes, "held-out") if held else []
    held_ok = [r for r in held_res if "error" not in r]
    fp = false_positives(held_ok, floors, s) if held_ok else None
    elapsed = time.perf_counter() - t0

    payload = {
        "floors": floors,
        "generated_by": "scripts/make_floors.py",
        "generated_on": _dt.date.today().isoformat(),
        "texturecmp_version": texturecmp.__version__,
        "settings_sha256": s.hash,
        "n_pairs": len(ok),
        "statistic": "95th percentile of |delta| (kind abs) or |delta|/|before| (kind rel) over nuisance-only pairs",
        "shape": list(SHAPE),
        "nuisances": {"level": LEVEL, **{k: list(v) if isinstance(v, tuple) else v for k, v in NUISANCE_LEVELS[LEVEL].items()},
                      "note": "half-widths around the identity (jpeg_quality: inclusive range, both photos); "
                              "independent sensor noise per photo"},
        "seeds": {"scene": sorted({sd for sd, _ in calib}), "variants": sorted({v for _, v in calib}),
                  "pairs": [[sd, v] for sd, v in calib]},
        "excluded": EXCLUDED,
        "heldout_check": None if fp is None else {
            "n_pairs": len(held_ok), "pairs": [[sd, v] for sd, v in held],
            "false_positive_rate": fp["rate"], "false_positive_rate_se_rule_only": fp["rate_se_only"],
            "decisions": fp["decisions"]},
    }
    if skipped:
        payload["no_floor"] = skipped
    write_json(args.out, payload)

    # ---- report
    print(f"\n{'metric':28s} {'kind':4s} {'floor (p95)':>12s} {'p50':>11s} {'max':>11s} {'n':>4s}  "
          f"{'held-out flagged':>16s}  unit")
    for name in metric_names():
        f = floors.get(name)
        hv = fp["per_metric"][name] if fp else None
        hs = f"{hv['flagged']}/{hv['n']} (SE {hv['flagged_se_only']})" if hv else "-"
        if f is None:
            print(f"{name:28s} {'-':4s} {'no floor':>12s} {'':>11s} {'':>11s} {'':>4s}  {hs:>16s}")
            continue
        print(f"{name:28s} {f['kind']:4s} {f['value']:12.4g} {f['p50']:11.4g} {f['max']:11.4g} {f['n_pairs']:4d}  "
              f"{hs:>16s}  {f['unit']}")
    print(f"\n{len(ok)} pairs used ({len(errors)} failed); {len(floors)} floors written to {args.out}")
    if skipped:
        print("no floor (too few finite deltas): " + ", ".join(skipped))
    al = sum(r["aligned"] for r in ok)
    print(f"aligned {al}/{len(ok)}; mean compare {np.mean([r['compare_s'] for r in ok]):.2f} s, "
          f"render {np.mean([r['render_s'] for r in ok]):.2f} s per pair (in a worker); total {elapsed:.0f} s")
    if fp:
        per_m = [v["flagged"] / v["n"] for v in fp["per_metric"].values() if v["n"]]
        print(f"held-out false-positive rate ({len(held_ok)} pairs x {len(per_m)} metrics = {fp['decisions']} decisions): "
              f"{100 * fp['rate']:.1f} % with the new floors (expected <= ~5 % per metric; worst metric "
              f"{100 * max(per_m):.0f} %), {100 * fp['rate_se_only']:.1f} % with the 1.96·SE rule alone")
    if args.out.resolve() == DEFAULT_OUT.resolve():
        from texturecmp import uncertainty

        uncertainty.load_floors.cache_clear()
        back = uncertainty.load_floors()
        assert set(back) == set(floors) and all(back[k]["value"] == floors[k]["value"] for k in floors), \
            "the package does not read back the floors just written (is texturecmp imported from another tree?)"
        print("read back through texturecmp.uncertainty.load_floors(): OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
