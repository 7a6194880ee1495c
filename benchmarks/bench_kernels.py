#!/usr/bin/env python
"""Benchmark of the core kernels on phone-sized inputs (a script, not a test).

The test suite checks what these functions compute; this script times them and prints
the figures beside their targets, without failing when one is missed (a shared or busy
machine misses them without anything being wrong).

Timed, best of ``--repeats`` calls each (inputs built beforehand, not timed):

(a) ``texturecmp.color.delta_e00`` on 1,000,000 pairs of Lab colours (float64, and with
    ``dtype=np.float32``);
(b) ``texturecmp.color.srgb_to_linear`` and (c) ``texturecmp.color.rgb_to_lab`` of a
    4032 x 3024 float32 RGB image;
(d) ``texturecmp.glcm.glcm`` of a 4032 x 3024 image of 32 levels with a mask and
    100 tiles, 4 directions;
(e) ``texturecmp.align.register`` of the 12 MP grayscale pair of
    ``tests/test_align.py`` (``twelve_megapixel_pair``: the follow-up moved by
    (40, -30) px and exposed 10 % brighter).

Targets (2 idle cores): (a) < 0.5 s in float64, (b) < 0.3 s, (c) < 0.5 s, (d) < 0.4 s, (e) < 0.35 s.

Usage::

    PYTHONPATH=src:tests .venv/bin/python benchmarks/bench_kernels.py              # about 1 min on 2 cores
    PYTHONPATH=src:tests .venv/bin/python benchmarks/bench_kernels.py --repeats 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the 12 MP pair of test_align

from texturecmp import __version__  # noqa: E402
from texturecmp.align import register  # noqa: E402
from texturecmp.color import delta_e00, rgb_to_lab, srgb_to_linear  # noqa: E402
from texturecmp.glcm import glcm  # noqa: E402


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """The shortest wall time of ``repeats`` calls of ``fn``, in seconds."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def cases() -> list[tuple[str, float | None, Callable[[], object]]]:
    """(label, target in s or None, call) of every figure; the inputs are built here, untimed."""
    rng = np.random.default_rng(1)
    n = 1_000_000
    a = np.column_stack([rng.uniform(0, 100, n), rng.uniform(-100, 100, (n, 2))])
    b = a + rng.normal(0, 5, a.shape)
    rgb = np.random.default_rng(0).random((3024, 4032, 3), dtype=np.float32)
    h, w = 3024, 4032
    levels = np.random.default_rng(0).integers(0, 32, (h, w), dtype=np.uint8)
    mask = np.zeros((h, w), bool)
    mask[100:-100, 200:-200] = True
    tiles = ((np.arange(h) * 10 // h)[:, None] * 10 + (np.arange(w) * 10 // w)[None, :]).astype(np.int32)
    from test_align import twelve_megapixel_pair

    base, follow = twelve_megapixel_pair()
    return [
        ("(a) delta_e00, 1 M pairs, float64", 0.5, lambda: delta_e00(a, b)),
        ("(a) delta_e00, 1 M pairs, float32", None, lambda: delta_e00(a, b, dtype=np.float32)),
        ("(b) srgb_to_linear, 12 MP RGB", 0.3, lambda: srgb_to_linear(rgb)),
        ("(c) rgb_to_lab, 12 MP RGB", 0.5, lambda: rgb_to_lab(rgb)),
        ("(d) glcm, 12 MP, mask, 100 tiles, 4 directions", 0.4,
         lambda: glcm(levels, n_levels=32, mask=mask, tile_labels=tiles, n_tiles=100)),
        ("(e) register, 12 MP pair", 0.35, lambda: register(base, follow)),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="calls per figure; the best is reported (default 3)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    print(f"texturecmp {__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}; 1-minute load average {load0:.2f}")
    rows = []
    for label, target, fn in cases():
        fn()  # warm-up: first-call imports, tables and thread pools
        t = best_of(fn, args.repeats)
        met = None if target is None else t < target
        rows.append({"figure": label, "best_s": t, "target_s": target, "met": met})
        goal = "" if target is None else f"< {target:g} s: {'met' if met else 'not met'}"
        print(f"| {label} | {t:.3f} s | {goal} |", flush=True)
    load1 = os.getloadavg()[0]
    print(f"best of {args.repeats}; 1-minute load average {load1:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "repeats": args.repeats,
                                         "loadavg_start_end": [load0, load1]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
