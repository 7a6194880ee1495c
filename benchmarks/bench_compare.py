#!/usr/bin/env python
"""Benchmark of :func:`texturecmp.compare` on a phone-sized photo pair (a script, not a test).

Builds a 12-megapixel pair (4032 x 3024 JPEG, quality 90, with a lesion mask) from
:func:`texturecmp.phantoms.skin_phantom`: the follow-up is the same skin shifted by 12 px,
rotated by 0.5 deg and exposed 6 % brighter, with its own sensor noise. Rendering is not
benchmarked; the JPEGs are cached in a temporary folder (``--cache-dir``) keyed by the
phantom source, so a re-run starts measuring at once.

Reported on the same run:

(a) decode: Pillow decode of the two JPEGs (``Image.open(...).load()``), best of 3;
(b) ``texturecmp.load_image`` of both photos, best of 3;
(c) ``texturecmp.compare(bytes_before, bytes_after, lesion=mask)`` wall time, best and median;
(c2) the same after ``texturecmp._runtime.keep_heap_memory()`` (as in the CLI, the app and batch workers:
     freed arrays are kept instead of page-faulted in afresh), measured last;
(d) a per-stage breakdown, each stage timed on its own through the public API: load (both),
    registration (``texturecmp.align.register`` on the grayscale), measure of one photo
    (``texturecmp.measure`` with the lesion) and the pixel maps; plus the same stages
    *inside* one compare call (the names compare() calls are wrapped with timers; the
    two photos are measured one after the other);
(e) peak memory of the compare: ``tracemalloc`` (Python and numpy allocations) and the
    peak RSS (``ru_maxrss``) of a fresh subprocess that only loads the modules and runs
    one compare (OpenCV allocations bypass tracemalloc);
(f) scaling: compare time at 1, 3, 6 and 12 MP;
(g) compare time / decode time.

Targets printed beside the figures (for the 12 MP pair): compare < 3 s wall, <= 20x the
decode time, peak memory < 1.5 GB.

Usage::

    PYTHONPATH=src python benchmarks/bench_compare.py            # full run (~5-10 min on 2 cores today)
    PYTHONPATH=src python benchmarks/bench_compare.py --quick    # 3 MP only, one repeat
    PYTHONPATH=src python benchmarks/bench_compare.py --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import texturecmp  # noqa: E402
from texturecmp import phantoms  # noqa: E402
from texturecmp._runtime import keep_heap_memory  # noqa: E402

#: (height, width) of each size, 4:3 like a phone camera
SIZES = {1: (864, 1152), 3: (1500, 2000), 6: (2121, 2828), 12: (3024, 4032)}
QUALITY = 90
SHIFT_PX = (12.0, 0.0)
ROTATION_DEG = 0.5
EXPOSURE = 1.06
TARGET_S = 3.0
TARGET_RATIO = 20.0
TARGET_MEM_GB = 1.5


# ----------------------------------------------------------------------------- inputs

def _phantom_key() -> str:
    src = Path(phantoms.__file__).read_bytes()
    return hashlib.sha256(src).hexdigest()[:12]


def make_pair(shape: tuple[int, int], cache: Path) -> tuple[Path, Path, Path]:
    """Baseline JPEG, follow-up JPEG and lesion PNG of ``shape``, rendered once and cached."""
    h, w = shape
    d = cache / f"{w}x{h}_q{QUALITY}_{_phantom_key()}"
    files = (d / "before.jpg", d / "after.jpg", d / "lesion.png")
    if all(f.exists() for f in files):
        return files
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"  rendering the {w}x{h} pair (once, cached in {d}) ...", flush=True)
    base = phantoms.skin_phantom(shape, seed=7, noise_seed=1)
    phantoms.save_image(files[0], base.rgb, quality=QUALITY)
    phantoms.save_mask(files[2], base.lesion)
    del base
    fol = phantoms.skin_phantom(shape, seed=7, exposure=EXPOSURE, shift_px=SHIFT_PX, rotation_deg=ROTATION_DEG,
                                noise_seed=2)
    phantoms.save_image(files[1], fol.rgb, quality=QUALITY)
    del fol
    print(f"  ... {time.perf_counter() - t0:.0f} s", flush=True)
    return files


def read_inputs(files) -> tuple[bytes, bytes, np.ndarray]:
    b, a = files[0].read_bytes(), files[1].read_bytes()
    with PILImage.open(files[2]) as im:
        mask = np.asarray(im.convert("L")) > 127
    return b, a, mask


# ----------------------------------------------------------------------------- timing

def timeit(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def with_retry(fn, tries: int = 3, wait: float = 60.0):
    """The internals are being optimised concurrently: retry a failing call after a pause."""
    for i in range(tries):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001
            if i == tries - 1:
                raise
            print(f"  ! {type(exc).__name__}: {exc}; retrying in {wait:.0f} s", flush=True)
            time.sleep(wait)


def decode(b: bytes, a: bytes) -> None:
    for data in (b, a):
        with PILImage.open(io.BytesIO(data)) as im:
            im.load()


def load_both(b: bytes, a: bytes) -> None:
    texturecmp.load_image(b)
    texturecmp.load_image(a)


@contextlib.contextmanager
def instrument(module, names):
    """Wrap ``module.<name>`` for each name with a timer; yields name -> list of durations."""
    log: dict[str, list[float]] = {n: [] for n in names}
    lock = threading.Lock()
    saved = {}
    for n in names:
        f = getattr(module, n, None)
        if f is None:
            continue
        saved[n] = f

        def wrap(f=f, n=n):
            @functools.wraps(f)
            def inner(*args, **kw):
                t0 = time.perf_counter()
                try:
                    return f(*args, **kw)
                finally:
                    with lock:
                        log[n].append(time.perf_counter() - t0)
            return inner

        setattr(module, n, wrap())
    try:
        yield log
    finally:
        for n, f in saved.items():
            setattr(module, n, f)


def stage_breakdown(b: bytes, a: bytes, mask: np.ndarray, repeats: int) -> tuple[dict, dict]:
    """Stages timed separately (public API) and inside one compare call (wrapped names)."""
    import cv2

    from texturecmp.align import register

    s = texturecmp.Settings()
    sep: dict[str, float] = {}
    sep["load (both)"] = min(timeit(lambda: load_both(b, a), repeats))
    ib, ia = texturecmp.load_image(b), texturecmp.load_image(a)
    gray = lambda im: cv2.cvtColor(np.asarray(im.rgb), cv2.COLOR_RGB2GRAY)  # noqa: E731
    sep["grayscale (both)"] = min(timeit(lambda: (gray(ib), gray(ia)), repeats))
    gb, ga = gray(ib), gray(ia)
    sep["registration"] = min(timeit(lambda: register(gb, ga, max_side=s.align_max_side, min_correlation=s.min_correlation,
                                                      min_overlap=s.min_overlap), repeats))
    sep["measure (one photo)"] = min(timeit(lambda: texturecmp.measure(ib, lesion=mask), repeats))
    # in situ: wrap what compare() calls
    cm = importlib.import_module("texturecmp.compare")
    names = ["load_image", "resolve_regions", "register", "warp_mask", "measure_photo", "_maps", "_changes"]
    with instrument(cm, names) as log:
        t0 = time.perf_counter()
        c = texturecmp.compare(b, a, lesion=mask)
        total = time.perf_counter() - t0
    insitu = {n: v for n, v in log.items() if v}
    insitu["(total)"] = [total]
    if "_maps" in log and log["_maps"]:
        sep["maps"] = min(log["_maps"])  # no public entry point: taken from the wrapped call
    return sep, {"log": insitu, "aligned": bool(c.alignment.ok), "warnings": list(c.warnings)}


def tracemalloc_peak(b: bytes, a: bytes, mask: np.ndarray) -> float:
    tracemalloc.start()
    try:
        texturecmp.compare(b, a, lesion=mask)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**30


_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {src!r})
import numpy as np
from PIL import Image
import texturecmp

def hwm_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None

b = open({b!r}, "rb").read(); a = open({a!r}, "rb").read()
mask = np.asarray(Image.open({m!r}).convert("L")) > 127
idle, idle_hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm_kb()
t0 = time.perf_counter()
texturecmp.compare(b, a, lesion=mask)
dt = time.perf_counter() - t0
peak, peak_hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm_kb()
print(json.dumps({{"idle_kb": idle, "peak_kb": peak, "idle_hwm_kb": idle_hwm, "peak_hwm_kb": peak_hwm, "compare_s": dt}}))
"""


def rss_peak(files) -> dict:
    """Peak resident memory of a fresh interpreter that loads the inputs and runs one compare.

    ``ru_maxrss`` (KiB on Linux) is what was asked for, but on Linux a child started from a
    large parent inherits the parent's high-water mark through fork/exec, so the child
    also reads ``VmHWM`` from /proc/self/status (its own address space only). The larger
    of the two that is not inherited is reported as ``peak_gb``; run this benchmark from
    a small parent (as here: the child is started before the parent loads the inputs)
    and the two agree.
    """
    code = _CHILD.format(src=str(ROOT / "src"), b=str(files[0]), a=str(files[1]), m=str(files[2]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"RSS subprocess failed: {r.stderr.strip()[-500:]}")
    d = json.loads(r.stdout.strip().splitlines()[-1])
    kib = 1 / 1024 if sys.platform == "darwin" else 1  # macOS reports ru_maxrss in bytes
    gb = lambda v: None if v is None else v * kib / 2**20  # noqa: E731
    out = {"maxrss_idle_gb": gb(d["idle_kb"]), "maxrss_peak_gb": gb(d["peak_kb"]), "compare_s": d["compare_s"],
           "hwm_idle_gb": None if d["idle_hwm_kb"] is None else d["idle_hwm_kb"] / 2**20,
           "hwm_peak_gb": None if d["peak_hwm_kb"] is None else d["peak_hwm_kb"] / 2**20}
    if out["hwm_peak_gb"] is not None:
        out["idle_gb"], out["peak_gb"] = out["hwm_idle_gb"], out["hwm_peak_gb"]
    else:
        out["idle_gb"], out["peak_gb"] = out["maxrss_idle_gb"], out["maxrss_peak_gb"]
    return out


# ----------------------------------------------------------------------------- report

def ok(flag: bool) -> str:
    return "OK  " if flag else "MISS"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark texturecmp.compare on a 12 MP phantom pair.")
    ap.add_argument("--quick", action="store_true", help="3 MP only, one repeat (smoke run)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of each timing (default 3)")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "texturecmp_bench",
                    help="where the rendered JPEGs are kept")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    rep = 1 if args.quick else max(1, args.repeats)
    main_mp = 3 if args.quick else 12
    scale_mps = [3] if args.quick else [1, 3, 6, 12]
    s = texturecmp.Settings()
    h, w = SIZES[main_mp]
    print(f"texturecmp {texturecmp.__version__} | Python {platform.python_version()} | numpy {np.__version__} | "
          f"{os.cpu_count()} CPUs | {platform.machine()} | {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"pair: {w}x{h} ({w * h / 1e6:.1f} MP) JPEG q{QUALITY}, shift {SHIFT_PX} px, rotation {ROTATION_DEG} deg, "
          f"exposure x{EXPOSURE}; {rep} repeat(s)", flush=True)
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load0:
        print(f"load average at start: {load0[0]:.2f} (other processes on this machine slow every figure)\n", flush=True)
    files = {mp: make_pair(SIZES[mp], args.cache_dir) for mp in sorted(set(scale_mps) | {main_mp})}
    res: dict = {"version": texturecmp.__version__, "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
                 "shape": [h, w], "megapixels": w * h / 1e6, "repeats": rep}
    # (e) peak RSS first, while this parent process is still small (see rss_peak)
    print("(e) peak RSS in a fresh process ...", flush=True)
    res.update({f"rss_{k}": v for k, v in with_retry(lambda: rss_peak(files[main_mp])).items()})
    b, a, mask = read_inputs(files[main_mp])

    # warm-up (imports, OpenCV / numpy first-call costs) on the small pair
    bw, aw, mw = read_inputs(files[min(files)])
    with_retry(lambda: texturecmp.compare(bw, aw, lesion=mw))

    print("(a) decode ...", flush=True)
    res["decode_s"] = min(timeit(lambda: decode(b, a), max(3, rep)))
    print("(b) load_image ...", flush=True)
    res["load_s"] = min(timeit(lambda: load_both(b, a), max(3, rep)))
    print("(c) compare ...", flush=True)
    tc = with_retry(lambda: timeit(lambda: texturecmp.compare(b, a, lesion=mask), rep))
    res["compare_best_s"], res["compare_median_s"], res["compare_all_s"] = min(tc), statistics.median(tc), tc
    print("(d) stages ...", flush=True)
    sep, insitu = with_retry(lambda: stage_breakdown(b, a, mask, rep))
    res["stages_s"], res["in_compare_s"] = sep, insitu["log"]
    print("(e) tracemalloc ...", flush=True)
    res["tracemalloc_peak_gb"] = tracemalloc_peak(b, a, mask)
    print("(f) scaling ...", flush=True)
    scaling = []
    for mp in scale_mps:
        if mp == main_mp:
            t, n = res["compare_best_s"], w * h
        else:
            bb, aa, mm = read_inputs(files[mp])
            t = min(with_retry(lambda: timeit(lambda: texturecmp.compare(bb, aa, lesion=mm), max(1, rep - 1))))
            n = SIZES[mp][0] * SIZES[mp][1]
        scaling.append({"megapixels": n / 1e6, "compare_s": t, "s_per_mp": t / (n / 1e6)})
    res["scaling"] = scaling
    res["ratio_compare_decode"] = res["compare_best_s"] / res["decode_s"]
    # (c2) last, as it changes this process for good: as texturecmp's own processes (the CLI, the
    # app's server, batch workers) run it, with freed arrays kept for the next photo
    print("(c2) compare after texturecmp._runtime.keep_heap_memory() ...", flush=True)
    keep_heap_memory()
    tk = with_retry(lambda: timeit(lambda: texturecmp.compare(b, a, lesion=mask), rep + 1))[1:]  # the first refills the heap
    res["compare_kept_best_s"], res["compare_kept_median_s"], res["compare_kept_all_s"] = min(tk), statistics.median(tk), tk

    load1 = os.getloadavg() if hasattr(os, "getloadavg") else None
    res["loadavg_start_end"] = [load0[0] if load0 else None, load1[0] if load1 else None]

    # ---- table
    mp_txt = f"{w * h / 1e6:.1f} MP"
    print(f"\n=== texturecmp.compare benchmark, {mp_txt} pair ({w}x{h}) ===")
    if load0 and load1:
        print(f"  (1-min load average {load0[0]:.2f} at start, {load1[0]:.2f} at end, on {os.cpu_count()} CPUs)")
    rows = [
        ("(a) decode both JPEGs (Pillow), best", f"{res['decode_s']:.3f} s", ""),
        ("(b) load_image both, best", f"{res['load_s']:.3f} s", f"{res['load_s'] / res['decode_s']:.1f}x decode"),
        ("(c) compare, best", f"{res['compare_best_s']:.2f} s", f"target < {TARGET_S:g} s  {ok(res['compare_best_s'] < TARGET_S)}"),
        ("(c) compare, median", f"{res['compare_median_s']:.2f} s", f"of {rep}"),
        ("(c2) compare, heap kept, best", f"{res['compare_kept_best_s']:.2f} s",
         f"target < {TARGET_S:g} s  {ok(res['compare_kept_best_s'] < TARGET_S)}  (CLI, app, batch workers)"),
        ("(c2) compare, heap kept, median", f"{res['compare_kept_median_s']:.2f} s", f"of {len(res['compare_kept_all_s'])}"),
        ("(e) peak RSS (VmHWM), fresh process", f"{res['rss_peak_gb']:.2f} GB",
         f"target < {TARGET_MEM_GB:g} GB  {ok(res['rss_peak_gb'] < TARGET_MEM_GB)}  (after imports+inputs {res['rss_idle_gb']:.2f} GB)"),
        ("(e) ru_maxrss of that process", f"{res['rss_maxrss_peak_gb']:.2f} GB",
         f"(after imports+inputs {res['rss_maxrss_idle_gb']:.2f} GB; may include the parent's, see docs)"),
        ("(e) peak tracemalloc (Python+numpy)", f"{res['tracemalloc_peak_gb']:.2f} GB", "OpenCV buffers not counted"),
        ("(g) compare / decode", f"{res['ratio_compare_decode']:.1f}x",
         f"target <= {TARGET_RATIO:g}x  {ok(res['ratio_compare_decode'] <= TARGET_RATIO)}"),
    ]
    for k, v, note in rows:
        print(f"  {k:44s} {v:>10s}   {note}")
    if main_mp != 12:
        print("  (targets are for the 12 MP pair; this is a smoke run)")
    print("\n(d) stages timed separately (best of {}):".format(rep))
    for k, v in sep.items():
        print(f"  {k:44s} {v:8.3f} s   {100 * v / res['compare_best_s']:5.1f} % of compare")
    print("    inside one compare() call (the photos are measured one after the other):")
    for k, v in insitu["log"].items():
        print(f"  {'  ' + k:44s} {sum(v):8.3f} s   ({len(v)} call{'s' if len(v) != 1 else ''}: "
              f"{', '.join(f'{x:.2f}' for x in v[:4])}{' ...' if len(v) > 4 else ''})")
    print("\n(f) scaling:")
    print(f"  {'MP':>6s} {'compare s':>10s} {'s per MP':>9s}")
    for r in scaling:
        print(f"  {r['megapixels']:6.2f} {r['compare_s']:10.2f} {r['s_per_mp']:9.3f}")
    if len(scaling) > 1:
        x = np.array([r["megapixels"] for r in scaling])
        y = np.array([r["compare_s"] for r in scaling])
        slope, icept = np.polyfit(x, y, 1)
        print(f"  linear fit: {slope:.3f} s/MP + {icept:.2f} s")
        res["scaling_fit"] = {"s_per_mp": float(slope), "intercept_s": float(icept)}
    if insitu["warnings"]:
        print("\ncompare warnings: " + " | ".join(insitu["warnings"]))
    if not insitu["aligned"]:
        print("\n!! the pair was NOT aligned: figures do not represent the normal path")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
