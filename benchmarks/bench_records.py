"""Benchmark of the record store on each back end: add 10,000 records, then query one subject's history.

A script, not a test: it prints the figures and does not fail when a target is missed.
Targets (issues 5 and 18): inserts under 10 s, history query under 50 ms, also with
100,000 records in the store.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_records.py                 # SQLite and PostgreSQL
    PYTHONPATH=src .venv/bin/python benchmarks/bench_records.py --backend sqlite --n 2000 --single 200
    PYTHONPATH=src .venv/bin/python benchmarks/bench_records.py --pg postgresql://me@localhost/bench
    PYTHONPATH=src .venv/bin/python benchmarks/bench_records.py --backend none        # (c) only: validators, canonical JSON

PostgreSQL: a throwaway local server (initdb + pg_ctl in a temporary folder, with the
server's default durability: fsync on) unless ``--pg`` names a database (it must be
empty; its tables are dropped afterwards).

The records are copies of one real comparison record (a 256 x 320 phantom pair), each
with its own subject (200 subjects), session, capture date and metric values, so every
record is schema-valid and distinct. Generating them is not timed. Timed:

(a) ``Store.add_many`` of all records in batches of ``--batch`` (one transaction each);
(b) ``Store.add`` of ``--single`` more records, one transaction each (per-record cost);
(c) per record (median of ``--repeat`` records): ``records.validate`` (jsonschema-rs and the
    checks beyond the schema), the schema check alone with jsonschema-rs and with the Python
    ``jsonschema`` package (the reference; for the choice between them), and the canonical
    JSON (``records.canonical_json``) and its SHA-256 (``records.record_id``);
(d) ``Store.history(subject)`` for one subject (median of 20): the query, and the query
    plus parsing every record of the history (``.record`` is parsed and checked on
    first access); ``Store.entries`` (index fields only);
(e) with ``--big`` records (default 100,000; 2,000 subjects of 50 records each) in a new
    store, added with ``add_many`` in batches of 5,000: the history of one subject (50
    records, median of 20), with and without parsing.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import tempfile
import time
from typing import Callable


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


def per_record(base: dict, n: int) -> dict[str, float]:
    """Median seconds per record of validation and canonical JSON, on ``n`` distinct records."""
    import jsonschema
    import jsonschema_rs

    from texturecmp import records

    sample = variants(base, n)
    rs = jsonschema_rs.Draft202012Validator(records.SCHEMA)
    py = jsonschema.Draft202012Validator(records.SCHEMA)
    rs.is_valid(sample[0])
    py.is_valid(sample[0])

    def median(fn: Callable[[dict], object], items: list[dict]) -> float:
        times = []
        for r in items:
            t = time.perf_counter()
            fn(r)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    return {
        "records.validate": median(records.validate, sample),
        "schema only, jsonschema-rs": median(rs.is_valid, sample),
        "schema only, jsonschema (Python)": median(py.is_valid, sample[:max(5, n // 10)]),
        "records.canonical_json": median(records.canonical_json, sample),
        "records.record_id (canonical JSON + SHA-256)": median(records.record_id, sample),
    }


def _history_times(store, subject: str) -> tuple[float, float, int]:
    times, parsed_times = [], []
    for _ in range(20):
        t = time.perf_counter()
        hist = store.history(subject)
        times.append(time.perf_counter() - t)
    for _ in range(20):
        t = time.perf_counter()
        parsed = [h.record for h in store.history(subject)]
        parsed_times.append(time.perf_counter() - t)
    assert len(parsed) == len(hist)
    return statistics.median(times), statistics.median(parsed_times), len(hist)


def _size(store, db: str) -> float:
    if store.backend == "sqlite":
        return os.path.getsize(db) + (os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0)
    return float(store.query("SELECT pg_database_size(current_database())")[0][0])


def run(backend: str, new_db, base: dict, args: argparse.Namespace) -> None:
    from texturecmp import records

    recs = variants(base, args.n)
    singles = variants(base, args.single, seed=1, offset=args.n)
    db = new_db("records")
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
        t_hist, t_parsed, n_hist = _history_times(store, subject)
        t = time.perf_counter()
        entries = store.entries(subject=subject)
        t_entries = time.perf_counter() - t
        size = _size(store, db)
    print(f"\n== {backend} ({store.path})")
    print(f"{'':4}{'figure':52} {'value':>12}  target")
    print(f"(a) add_many: {args.n} records, batches of {args.batch:<14}{t_many:>11.2f} s  < 10 s   "
          f"({1000 * t_many / args.n:.2f} ms/record)")
    print(f"(b) add: {args.single} records one by one{'':22}{t_single:>11.2f} s           "
          f"({1000 * t_single / max(1, args.single):.2f} ms/record)")
    print(f"(d) history('{subject}'): {n_hist} records (median of 20){'':6}{1000 * t_hist:>9.2f} ms  < 50 ms")
    print(f"    history('{subject}') and parse every record{'':6}{1000 * t_parsed:>9.2f} ms")
    print(f"    entries('{subject}') (index fields only){'':12}{1000 * t_entries:>9.2f} ms")
    assert n_hist == len(entries)
    print(f"store: {n_total} records, {size / 2**20:.0f} MiB")
    if args.big:
        big = new_db("big")
        subjects = max(1, args.big // 50)
        with records.Store(big) as store:
            t = time.perf_counter()
            for i in range(0, args.big, 5000):
                store.add_many(variants(base, min(5000, args.big - i), subjects=subjects, offset=i))
            t_fill = time.perf_counter() - t
            t_hist, t_parsed, n_hist = _history_times(store, f"P-{min(42, subjects - 1):04d}")
            n_big, size = len(store), _size(store, big)
        print(f"(e) {n_big} records ({subjects} subjects, {size / 2**20:.0f} MiB; added in {t_fill:.0f} s)")
        print(f"    history(one subject): {n_hist} records (median of 20){'':6}{1000 * t_hist:>9.2f} ms  < 50 ms")
        print(f"    history(one subject) and parse every record{'':6}{1000 * t_parsed:>9.2f} ms")
        if store.backend == "sqlite":
            os.remove(big)
    print(f"1-minute load average: {load0:.2f} before the inserts, {os.getloadavg()[0]:.2f} after")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both", "none"), default="both",
                    help="store back end(s) for (a), (b), (d), (e); none: only the per-record figures (c)")
    ap.add_argument("--repeat", type=int, default=300, help="records timed one by one for (c)")
    ap.add_argument("--n", type=int, default=10_000, help="records added with add_many")
    ap.add_argument("--single", type=int, default=500, help="records added one by one with add")
    ap.add_argument("--batch", type=int, default=1000, help="records per add_many transaction")
    ap.add_argument("--big", type=int, default=100_000, help="records of the store for (e) (0: skip)")
    ap.add_argument("--dir", default=None, help="folder for the SQLite databases (default: a temporary one)")
    ap.add_argument("--pg", default=None, help="an empty PostgreSQL database (default: a throwaway local server)")
    args = ap.parse_args()

    from texturecmp import records

    base = make_base()
    print(f"record size: {len(records.canonical_json(base)) / 1024:.1f} KiB of canonical JSON, "
          f"{len(base['metrics'])} metrics + {len(base['changes'])} changes + baseline block")
    print(f"(c) per record, median of {args.repeat} records")
    for name, t in per_record(base, args.repeat).items():
        print(f"    {name:50} {1000 * t:>9.3f} ms")

    if args.backend in ("sqlite", "both"):
        folder = args.dir or tempfile.mkdtemp(prefix="texturecmp_bench_records_")

        def new_sqlite(name: str) -> str:
            db = os.path.join(folder, f"{name}.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
            return db

        try:
            run("sqlite", new_sqlite, base, args)
        finally:
            if not args.dir:  # a temporary folder: its stores (tens of MiB to GiB) go with it
                import shutil

                shutil.rmtree(folder, ignore_errors=True)
    if args.backend in ("postgresql", "both"):
        cluster = None
        if args.pg:
            def new_pg(name: str) -> str:
                with records.Store(args.pg) as s:  # emptied: the store's tables only
                    s.query("DROP TABLE IF EXISTS comparisons, measurements, records, sessions, subjects, meta")
                return args.pg
        else:
            import sys

            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
            from pg_fixture import Cluster, server_bin

            if server_bin() is None:
                raise SystemExit("PostgreSQL server programs not found: apt-get install postgresql, or give --pg URL")
            cluster = Cluster(server_bin(), fast=False)

            def new_pg(name: str) -> str:
                return cluster.new_database()
        try:
            run("postgresql", new_pg, base, args)
        finally:
            if cluster is not None:
                cluster.remove()


if __name__ == "__main__":
    main()
