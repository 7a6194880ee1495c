#!/usr/bin/env python
"""Benchmark of batch scoring (:func:`texturecmp.batch.score_batch`; a script, not a test).

Inputs: a series of three 12-megapixel skin phantoms (4032 x 3024 JPEG, quality 90; the
follow-ups treated, shifted, rotated and exposed differently, with their own noise) and
the baseline's lesion mask. They are rendered once (about 4 s each) and cached in
``--cache-dir``; every subject of the batch reuses the same three files under its own
name, so the batch can grow without rendering more.

Reported:

(a) throughput in photos per minute (wall clock, pool or cluster start-up included) with
    1 local worker (``jobs=1``: in this process, as a Python user runs it; the batch pins
    OpenCV to one thread there too), 1 local worker set up as the worker processes are
    (``jobs=1`` again after ``keep_heap_memory()``, which worker processes, the CLI and
    the app call at start: freed arrays are kept instead of page-faulted in afresh; the
    stricter baseline for the speed-up), 2 local
    worker processes (``jobs=2``) and a 2-worker Dask LocalCluster (``scheduler="local"``),
    on the same manifest; the CPU seconds spent per photo (this process and its worker
    processes) and the mean number of busy cores (CPU time / wall time: on a machine
    shared with other jobs the workers get fewer cores than they ask for); whether the
    tables are identical to the first run's; the parent's peak RSS during each run;
(b) the parent's memory as the batch grows from 20 to 200 photos: ``jobs=2`` with the
    output written to CSV, in a fresh interpreter for each size, sampling the parent's
    RSS every 50 ms. To keep the run short these photos are small (``--rss-shape``,
    default 384 x 512): the parent never holds pixels, so its memory does not depend on
    the photo size (the 12 MP runs of (a) report the parent's RSS too).

Targets: 2 workers >= 1.7x one worker; Dask within 15 % of local processes; parent memory
flat from 20 to 200 photos.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_batch.py            # full run, ~10 min on 2 cores
    PYTHONPATH=src .venv/bin/python benchmarks/bench_batch.py --quick    # small photos, ~2 min
    PYTHONPATH=src .venv/bin/python benchmarks/bench_batch.py --json out.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

#: 12 MP, 4:3 like a phone camera
FULL_SHAPE = (3024, 4032)
QUICK_SHAPE = (768, 1024)
QUALITY = 90
#: follow-ups of the series: (treatment, shift (dx, dy) px, rotation deg, exposure)
FOLLOWUPS = ((0.3, (12.0, -8.0), 0.5, 1.06), (0.6, (-9.0, 6.0), -0.4, 0.96))
TARGET_SPEEDUP = 1.7
TARGET_DASK = 0.15


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and of its finished child processes."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover


class RssSampler:
    """Peak RSS of this process, sampled every ``interval`` seconds on a thread."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak = _rss_mb()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_mb())

    def __enter__(self) -> "RssSampler":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss_mb())


def make_series(shape: tuple[int, int], cache: Path) -> dict[str, Path]:
    """Baseline + 2 follow-up JPEGs and the lesion PNG of ``shape``, rendered once and cached."""
    from texturecmp import phantoms

    src = Path(phantoms.__file__).read_bytes()
    key = hashlib.sha256(src + repr((shape, QUALITY, FOLLOWUPS)).encode()).hexdigest()[:12]
    d = cache / f"series_{shape[1]}x{shape[0]}_{key}"
    files = {"visit0": d / "visit0.jpg", "visit1": d / "visit1.jpg", "visit2": d / "visit2.jpg",
             "lesion": d / "lesion.png"}
    if all(p.exists() for p in files.values()):
        return files
    d.mkdir(parents=True, exist_ok=True)
    print(f"  rendering the {shape[1]}x{shape[0]} series once (cached in {d}) ...", flush=True)
    base = phantoms.skin_phantom(shape, seed=7, noise_seed=1)
    phantoms.save_image(files["visit0"], base.rgb, quality=QUALITY)
    phantoms.save_mask(files["lesion"], base.lesion)
    del base
    for i, (k, shift, rot, exp) in enumerate(FOLLOWUPS, start=1):
        ph = phantoms.skin_phantom(shape, seed=7, treatment=k, shift_px=shift, rotation_deg=rot, exposure=exp,
                                   noise_seed=1 + i)
        phantoms.save_image(files[f"visit{i}"], ph.rgb, quality=QUALITY)
        del ph
    return files


def write_manifest(path: Path, files: dict[str, Path], n_subjects: int, sessions: int = 3) -> Path:
    """``n_subjects`` subjects, each the same series of ``sessions`` photos (absolute paths)."""
    lines = ["subject,session,date,image,lesion"]
    for s in range(n_subjects):
        for k in range(sessions):
            v = f"visit{k % 3}"
            lines.append(f"S{s:04d},{v}_{k},2024-{k // 28 + 1:02d}-{k % 28 + 1:02d},{files[v]},"
                         f"{files['lesion'] if k == 0 else ''}")
    path.write_text("\n".join(lines) + "\n")
    return path


def throughput(manifest: Path, n_photos: int, out_dir: Path) -> dict:
    import pandas as pd

    from texturecmp.batch import score_batch

    import cv2

    from texturecmp._runtime import keep_heap_memory

    runs = {"1 local worker": dict(jobs=1), "1 local worker, set up as a worker process": dict(jobs=1),
            "2 local workers": dict(jobs=2), "Dask LocalCluster, 2 workers": dict(jobs=2, scheduler="local")}
    res, tables = {}, {}
    for i, (name, kw) in enumerate(runs.items()):
        print(f"  {name} ...", flush=True)
        threads = cv2.getNumThreads()
        if "worker process" in name:  # what each worker process of the parallel runs does at start
            cv2.setNumThreads(1)
            keep_heap_memory()  # stays for the rest of this process (the later runs use other processes)
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        try:
            with RssSampler() as rss:
                df = score_batch(manifest, progress=False, output=out_dir / f"run{i}.csv", **kw)
        finally:
            cv2.setNumThreads(threads)
        dt = time.perf_counter() - t0
        cpu = _cpu_s() - cpu0
        tables[name] = df
        res[name] = {"seconds": dt, "photos_per_min": 60 * n_photos / dt, "parent_peak_rss_mb": rss.peak,
                     "cpu_s_per_photo": cpu / n_photos, "cpu_utilisation": cpu / dt,
                     "failed": int(df.attrs["summary"]["failed"])}
        print(f"    {dt:.1f} s, {60 * n_photos / dt:.2f} photos/min, {cpu / n_photos:.2f} CPU s/photo, "
              f"{cpu / dt:.2f} cores busy, parent peak RSS {rss.peak:.0f} MB, load {_loadavg()}", flush=True)
    ref = tables["1 local worker"]
    identical = {}
    for name, df in tables.items():
        try:
            pd.testing.assert_frame_equal(df, ref)
            identical[name] = True
        except AssertionError:
            identical[name] = False
    return {"runs": res, "identical_to_1_worker": identical}


def rss_child(n_photos: int, shape: tuple[int, int], cache: Path) -> None:
    """In a fresh interpreter: score ``n_photos`` (series of 4) with jobs=2 to CSV; print the parent's RSS as JSON."""
    import texturecmp.batch as batch

    files = make_series(shape, cache)
    scoring_peak = {}
    real_read = batch.read_results

    def read_results(*a, **kw):  # score_batch reads the finished table back: note the peak before that
        scoring_peak["mb"] = rss.peak
        return real_read(*a, **kw)

    batch.read_results = read_results
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_manifest(Path(tmp) / "m.csv", files, n_photos // 4, sessions=4)
        before = _rss_mb()
        t0 = time.perf_counter()
        with RssSampler(interval=0.01) as rss:
            df = batch.score_batch(manifest, jobs=2, progress=False, output=Path(tmp) / "out.csv")
        dt = time.perf_counter() - t0
        print(json.dumps({"photos": n_photos, "rows": len(df), "rss_before_mb": before, "rss_peak_mb": rss.peak,
                          "rss_peak_scoring_mb": scoring_peak.get("mb", float("nan")), "rss_after_mb": _rss_mb(),
                          "seconds": dt, "table_mb": df.memory_usage(deep=True).sum() / 2**20}))


def memory_growth(sizes: list[int], shape: tuple[int, int], cache: Path) -> list[dict]:
    out = []
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for n in sizes:
        print(f"  {n} photos ({shape[1]}x{shape[0]}), jobs=2, fresh interpreter ...", flush=True)
        cmd = [sys.executable, __file__, "--_rss-child", str(n), "--rss-shape", f"{shape[0]}x{shape[1]}",
               "--cache-dir", str(cache)]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        out.append(r)
        print(f"    parent RSS before {r['rss_before_mb']:.0f} MB, peak while scoring {r['rss_peak_scoring_mb']:.0f} MB, "
              f"peak {r['rss_peak_mb']:.0f} MB, "
              f"after {r['rss_after_mb']:.0f} MB; the returned table ({r['rows']} rows) {r['table_mb']:.1f} MB "
              f"(pandas deep size, counts shared strings once per cell); {r['seconds']:.1f} s", flush=True)
    return out


def _print_memory(mem: list[dict]) -> None:
    a, b = mem[0], mem[-1]
    for key, what in (("rss_peak_scoring_mb", "while scoring"), ("rss_peak_mb", "overall, with the returned table")):
        print(f"parent peak RSS {what}, {a['photos']} -> {b['photos']} photos: {a[key]:.0f} -> {b[key]:.0f} MB "
              f"({b[key] - a[key]:+.0f} MB)")


def _shape(text: str) -> tuple[int, int]:
    h, w = text.lower().split("x")
    return int(h), int(w)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_SHAPE[1]}x{QUICK_SHAPE[0]} photos, fewer subjects")
    ap.add_argument("--subjects", type=int, default=None, help="subjects of 3 photos in the throughput runs "
                                                               "(default 6, quick 6)")
    ap.add_argument("--rss-shape", type=_shape, default=(384, 512), help="HxW of the photos of the memory runs")
    ap.add_argument("--rss-sizes", default="20,200", help="batch sizes (photos) of the memory runs")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "texturecmp_bench")
    ap.add_argument("--json", type=Path, help="also save the figures as JSON")
    ap.add_argument("--memory-only", action="store_true", help="only (b), the parent-memory runs")
    ap.add_argument("--throughput-only", action="store_true", help="only (a), the throughput runs")
    ap.add_argument("--_rss-child", type=int, default=None, dest="rss_child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rss_child is not None:
        rss_child(args.rss_child, args.rss_shape, args.cache_dir)
        return 0

    import numpy as np

    import texturecmp

    shape = QUICK_SHAPE if args.quick else FULL_SHAPE
    n_subjects = args.subjects or 6
    n_photos = 3 * n_subjects
    print(f"texturecmp {texturecmp.__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}; load average {_loadavg()}")
    report: dict = {"shape": shape, "subjects": n_subjects, "photos": n_photos, "load_start": _loadavg()}
    sizes = [int(x) for x in args.rss_sizes.split(",")]
    if args.memory_only:
        print(f"\n(b) parent memory as the batch grows: {', '.join(map(str, sizes))} photos")
        mem = memory_growth(sizes, args.rss_shape, args.cache_dir)
        _print_memory(mem)
        if args.json:
            args.json.write_text(json.dumps({"memory": mem}, indent=2))
        return 0
    files = make_series(shape, args.cache_dir)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_manifest(Path(tmp) / "manifest.csv", files, n_subjects)
        print(f"\n(a) throughput: {n_subjects} subjects x 3 photos of {shape[1]}x{shape[0]} "
              f"({shape[0] * shape[1] / 1e6:.1f} MP)")
        report["throughput"] = throughput(manifest, n_photos, Path(tmp))
    if not args.throughput_only:
        print(f"\n(b) parent memory as the batch grows: {', '.join(map(str, sizes))} photos")
        report["memory"] = memory_growth(sizes, args.rss_shape, args.cache_dir)
    report["load_end"] = _loadavg()

    runs = report["throughput"]["runs"]
    one, one_t1, two, dask = (runs[k]["photos_per_min"] for k in (
        "1 local worker", "1 local worker, set up as a worker process", "2 local workers", "Dask LocalCluster, 2 workers"))
    speedup, speedup_t1, dask_gap = two / one, two / one_t1, dask / two - 1
    mem = report.get("memory")
    report.update(speedup_2_workers=speedup, speedup_2_workers_vs_worker_setup=speedup_t1, dask_vs_local=dask_gap)
    print(f"\nsummary ({shape[1]}x{shape[0]}, {n_photos} photos; load average {report['load_start']} -> "
          f"{report['load_end']})")
    print("| run | photos/min | wall | CPU s/photo | cores busy | parent peak RSS | identical to 1 worker |\n"
          "|---|---:|---:|---:|---:|---:|---|")
    for name, r in runs.items():
        print(f"| {name} | {r['photos_per_min']:.2f} | {r['seconds']:.0f} s | {r['cpu_s_per_photo']:.2f} | "
              f"{r['cpu_utilisation']:.2f} | {r['parent_peak_rss_mb']:.0f} MB | "
              f"{report['throughput']['identical_to_1_worker'][name]} |")
    print(f"2 workers / 1 worker: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x: "
          f"{'met' if speedup >= TARGET_SPEEDUP else 'missed'}); "
          f"/ 1 worker set up as a worker process: {speedup_t1:.2f}x")
    print(f"Dask vs local processes: {100 * dask_gap:+.1f} % (target within {100 * TARGET_DASK:.0f} %: "
          f"{'met' if abs(dask_gap) <= TARGET_DASK else 'missed'})")
    if mem:
        _print_memory(mem)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
