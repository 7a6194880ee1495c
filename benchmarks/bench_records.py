"""Benchmark of the record store: add 10,000 records, then query one subject's history.

A script, not a test: it prints the figures and does not fail when a target is missed.
Targets (issue 5): inserts under 10 s, history query under 50 ms.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_records.py            # 10,000 records
    PYTHONPATH=src .venv/bin/python benchmarks/bench_records.py --n 2000 --single 200

The records are copies of one real comparison record (a 256 x 320 phantom pair), each
with its own subject (200 subjects), session, capture date and metric values, so every
record is schema-valid and distinct. Generating them is not timed. Timed:

(a) ``Store.add_many`` of all records in batches of ``--batch`` (one transaction each);
(b) ``Store.add`` of ``--single`` more records, one transaction each (per-record cost);
(c) validation alone (``records.validate``) and canonical JSON alone, per record: the
    public ``records.canonical_json`` (which first scans the record for NaN) and the
    store's path for a validated record (no scan, UTF-8 bytes);
(d) ``Store.history(subject)`` for one subject (median of 20): the query, and the query
    plus parsing every record of the history (``.record`` is parsed on first access);
    ``Store.entries`` (index fields only).
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import tempfile
import time


def make_base() -> dict:
    import texturecmp as tc
    from texturecmp import records
    from texturecmp.phantoms import skin_phantom

    base = skin_phantom(shape=(256, 320), seed=1)
    fol = skin_phantom(shape=(256, 320), seed=1, treatment=0.4)
    c = tc.compare(base.rgb, fol.rgb, lesion=base.lesion)
    return records.comparison_record(c, subject="P-0000", session="v01", date="2024-01-15", baseline_session="v00",
                                     baseline_date="2024-01-01")


def variants(base: dict, n: int, *, subjects: int = 200, seed: int = 0, offset: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(offset, offset + n):
        r = copy.deepcopy(base)
        subj, visit = i % subjects, i // subjects + 1
        r["subject"] = f"P-{subj:04d}"
        r["session"] = f"v{visit:02d}"
        r["date"] = f"{2020 + visit // 12:04d}-{visit % 12 + 1:02d}-{rng.randint(1, 28):02d}"
        r["baseline"]["date"] = "2020-01-01"
        for name, mv in r["metrics"].items():
            if mv["value"] is not None:
                mv["value"] = mv["value"] * (1 + rng.uniform(-0.1, 0.1))
        out.append(r)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="records added with add_many")
    ap.add_argument("--single", type=int, default=500, help="records added one by one with add")
    ap.add_argument("--batch", type=int, default=1000, help="records per add_many transaction")
    ap.add_argument("--dir", default=None, help="folder for the database (default: a temporary one)")
    args = ap.parse_args()

    from texturecmp import records

    base = make_base()
    recs = variants(base, args.n)
    singles = variants(base, args.single, seed=1, offset=args.n)
    folder = args.dir or tempfile.mkdtemp(prefix="texturecmp_bench_records_")
    db = os.path.join(folder, "records.db")
    if os.path.exists(db):
        os.remove(db)
    print(f"record size: {len(records.canonical_json(base)) / 1024:.1f} KiB of canonical JSON, "
          f"{len(base['metrics'])} metrics + {len(base['changes'])} changes + baseline block")

    k = min(300, len(recs))
    t = time.perf_counter()
    for r in recs[:k]:
        records.validate(r)
    t_val = (time.perf_counter() - t) / k
    t = time.perf_counter()
    for r in recs[:k]:
        records.canonical_json(r)
    t_json = (time.perf_counter() - t) / k
    from texturecmp.records._record import canonical_bytes

    t = time.perf_counter()
    for r in recs[:k]:
        canonical_bytes(r, checked=True)
    t_bytes = (time.perf_counter() - t) / k
    load0 = os.getloadavg()[0]

    with records.Store(db) as store:
        t = time.perf_counter()
        for i in range(0, len(recs), args.batch):
            store.add_many(recs[i:i + args.batch])
        t_many = time.perf_counter() - t
        t = time.perf_counter()
        for r in singles:
            store.add(r)
        t_single = time.perf_counter() - t
        n_total = len(store)
        subject = "P-0042"
        times = []
        for _ in range(20):
            t = time.perf_counter()
            hist = store.history(subject)
            times.append(time.perf_counter() - t)
        t_hist = statistics.median(times)
        times = []
        for _ in range(20):
            t = time.perf_counter()
            parsed = [h.record for h in store.history(subject)]
            times.append(time.perf_counter() - t)
        t_parsed = statistics.median(times)
        t = time.perf_counter()
        entries = store.entries(subject=subject)
        t_entries = time.perf_counter() - t
        size = os.path.getsize(db) + (os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0)

    print(f"{'':4}{'figure':52} {'value':>12}  target")
    print(f"(a) add_many: {args.n} records, batches of {args.batch:<14}{t_many:>11.2f} s  < 10 s   "
          f"({1000 * t_many / args.n:.2f} ms/record)")
    print(f"(b) add: {args.single} records one by one{'':22}{t_single:>11.2f} s           "
          f"({1000 * t_single / max(1, args.single):.2f} ms/record)")
    print(f"(c) validate one record{'':30}{1000 * t_val:>9.2f} ms")
    print(f"    canonical JSON of one record{'':21}{1000 * t_json:>9.2f} ms")
    print(f"    canonical bytes of a validated record (store){'':4}{1000 * t_bytes:>9.2f} ms")
    print(f"(d) history('{subject}'): {len(hist)} records (median of 20){'':6}{1000 * t_hist:>9.2f} ms  < 50 ms")
    print(f"    history('{subject}') and parse every record{'':6}{1000 * t_parsed:>9.2f} ms")
    print(f"    entries('{subject}') (index fields only){'':12}{1000 * t_entries:>9.2f} ms")
    assert len(parsed) == len(hist) == len(entries)
    print(f"store: {n_total} records, {size / 2**20:.0f} MiB ({db})")
    print(f"1-minute load average: {load0:.2f} before the inserts, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
