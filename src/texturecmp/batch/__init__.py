"""Batch scoring: every subject's series, each session against its baseline, in one table.

Public API::

    from texturecmp.batch import score_batch, to_wide
    df = score_batch("study/manifest.csv", jobs=4, output="scores.parquet")   # tidy table
    wide = to_wide(df)                                                        # one row per subject x session

A manifest (CSV, DataFrame or folder ``SUBJECT/SESSION.jpg``) lists one photo per row;
the rows of one subject form a series, which is the unit of work: its baseline is
measured once, and each follow-up is registered to it, measured and compared. Work runs
in this process (``jobs=1``), on local worker processes (default: one per core) or on a
Dask cluster (``scheduler="local"`` or an address); the numbers are the same everywhere.
Results are written to ``output`` as each subject finishes, never half-written, and
``resume=True`` skips the subjects already there. With ``db``, each scored follow-up's
comparison record also goes into a :class:`texturecmp.records.Store`. See ``docs/batch.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Sequence

from texturecmp._checks import check_int
from texturecmp.batch._manifest import (IMAGE_SUFFIXES, MANIFEST_COLUMNS, MASK_KINDS, REQUIRED_COLUMNS,
                                        BadManifestError, Manifest, Photo, SubjectSeries, read_manifest)
from texturecmp.batch._output import FORMATS, infer_format, make_frame, open_sink, read_results, sort_frame
from texturecmp.batch._run import run_tasks
from texturecmp.batch._score import COLUMNS, SESSION_COLUMNS, SubjectResult, Task
from texturecmp.catalogue import METRICS
from texturecmp.errors import TextureCmpError
from texturecmp.settings import Settings, coerce_settings

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from texturecmp.records import Store

__all__ = [
    "score_batch",
    "to_wide",
    "read_manifest",
    "read_results",
    "BadManifestError",
    "Manifest",
    "SubjectSeries",
    "Photo",
    "COLUMNS",
    "SESSION_COLUMNS",
    "MANIFEST_COLUMNS",
    "REQUIRED_COLUMNS",
    "MASK_KINDS",
    "IMAGE_SUFFIXES",
    "FORMATS",
    "add_cli",
    "run_cli",
    "main",
]


# ------------------------------------------------------------------------------------- resume

def _resumable(existing: "pd.DataFrame", man: Manifest, settings: Settings) -> tuple["pd.DataFrame", set[str]]:
    """Rows of OUT that are complete results of this manifest, and the subjects they cover.

    A subject is complete when OUT has exactly one row per (session, metric) for exactly the
    manifest's sessions, with the same baseline. Anything else (an incomplete or changed
    subject, a subject no longer in the manifest) is dropped and re-scored.
    """
    n_metrics = len(METRICS)
    expected = {ser.subject: ser for ser in man.subjects}
    wrong = sorted(set(existing.loc[existing["subject"].isin(list(expected)), "settings_sha256"]) - {settings.hash})
    if wrong:
        raise TextureCmpError(f"resume: the output was scored with other settings (settings sha256 {wrong[0][:12]}..., "
                              f"now {settings.hash[:12]}...); resume with the same --settings or write to a new output")
    done: set[str] = set()
    for subject, g in existing.groupby("subject", sort=False):
        ser = expected.get(subject)
        if ser is None:
            continue
        sessions = [p.session for p in ser.photos]
        counts = g.groupby("session").size()
        if (len(g) == len(sessions) * n_metrics and sorted(counts.index) == sorted(sessions)
                and bool((counts == n_metrics).all()) and not g.duplicated(["session", "metric"]).any()
                and set(g["baseline_session"]) == {ser.baseline.session}):
            done.add(subject)
    keep = existing[existing["subject"].isin(list(done))].reset_index(drop=True)
    return keep, done


# ----------------------------------------------------------------------------------- records

def _check_for_records(man: Manifest) -> None:
    """Every subject, session and date of the manifest can go into a record (else BadManifestError, before scoring)."""
    from texturecmp.records import BadRecordError, normalize_date
    from texturecmp.records._record import _identifier

    for ser in man.subjects:
        for ph in ser.photos:
            where = f"{man.source}, line {ph.line}" if ph.line is not None else man.source
            for column, check in (("subject", lambda: _identifier(ser.subject, "subject")),
                                  ("session", lambda: _identifier(ph.session, "session")),
                                  ("date", lambda: normalize_date(ph.date or None))):
                try:
                    check()
                except BadRecordError as exc:
                    raise BadManifestError(f"{where}, column '{column}': cannot go into a record (--db): {exc}",
                                           line=ph.line, column=column) from None


def _not_in_store(keep: "pd.DataFrame", done: set[str], store: Any) -> set[str]:
    """Subjects complete in OUT whose scored follow-ups do not all have a comparison record in the store.

    A follow-up has a record when it was scored against its baseline: its rows have no
    error and neither have the baseline's (a follow-up of a failed baseline has none).
    """
    if not done:
        return set()
    stored = {(e.subject, e.session, e.baseline_session) for e in store.entries(kind="comparison")}
    photos = keep.drop_duplicates(["subject", "session"])
    base_ok = set(photos.loc[(photos["index"] == 0) & (photos["error"] == ""), "subject"])
    want = photos[(photos["index"] > 0) & (photos["error"] == "") & photos["subject"].isin(list(base_ok))]
    return {subj for subj, sess, base in zip(want["subject"], want["session"], want["baseline_session"])
            if subj in done and (subj, sess, base) not in stored}


# ----------------------------------------------------------------------------------- scoring

def _photo_failures(df: "pd.DataFrame") -> int:
    if df.empty:
        return 0
    return int(df.loc[df["error"] != "", ["subject", "session"]].drop_duplicates().shape[0])


def score_batch(manifest: Any, *, jobs: int | None = None, scheduler: str | None = None, settings: Any = None,
                progress: bool = True, output: str | os.PathLike | None = None, resume: bool = False,
                fmt: str | None = None, db: "str | os.PathLike | Store | None" = None) -> "pd.DataFrame":
    """Score every subject's series of a manifest.

    Parameters
    ----------
    manifest : path, pandas.DataFrame or Manifest
        A CSV manifest (one row per photo: ``subject, session, [date], image, [roi,
        lesion, reference], [pixel_size_mm], [baseline]``; relative paths resolve against
        the CSV's folder), a DataFrame with those columns (relative paths against the
        current directory), or a folder ``ROOT/SUBJECT/SESSION.jpg`` (see
        :func:`read_manifest` and ``docs/batch.md``).
    jobs : int, optional
        Local worker processes (default: the number of cores; 1 runs in this process).
        With ``scheduler="local"``: the number of Dask workers (default 2). Ignored for a
        scheduler address (the cluster's size decides).
    scheduler : str, optional
        None (local processes), ``"local"`` (start a Dask ``LocalCluster`` of
        single-thread worker processes) or the address of a Dask scheduler
        (``"tcp://host:8786"``), whose workers must be able to read the photos at the
        same paths and run the same texturecmp version.
    settings : Settings, mapping or settings file, optional
        One settings object for the whole batch; its hash is in every row.
    progress : bool
        Show a progress bar and a summary line on stderr.
    output : path, optional
        Write the table there as subjects finish (csv, jsonl or parquet, by suffix or
        ``fmt``). It is never half-written; after a crash or Ctrl-C it holds every
        finished subject.
    resume : bool
        Keep the complete subjects already in ``output`` (same sessions, same settings)
        and score only the rest. Needs ``output``.
    fmt : {"csv", "jsonl", "parquet"}, optional
        Output format (default: from the suffix of ``output``).
    db : path or texturecmp.records.Store, optional
        Also store the comparison record of every follow-up scored against its baseline
        (:func:`texturecmp.records.comparison_record`, with the manifest's subject,
        session, date and baseline session and date), one transaction per subject, as
        subjects finish. Failed photos are not stored. The store ignores a record it
        already holds, so ``resume`` adds no duplicates; with ``resume``, a subject
        complete in ``output`` but missing from the store is scored again. The
        manifest's subjects, sessions and dates must be valid record identifiers and
        dates (checked before scoring). A path is opened and closed by the batch.

    Returns
    -------
    pandas.DataFrame
        Tidy table, one row per subject x session x metric (catalogue order), sorted by
        subject (natural order), session order in the series (``index``, 0 = baseline)
        and metric. Columns :data:`COLUMNS`: ``value`` (of this photo; for pair metrics
        its value against the baseline), ``unit``, ``uncertainty`` (standard error of the
        value), ``baseline_value``, ``delta``, ``percent``, ``delta_uncertainty``,
        ``threshold``, ``verdict`` ("baseline" on baseline rows; "not computable" when a
        value or the baseline is missing), ``rule``, ``note``, ``error`` ("Type: message"
        when this photo failed, else ""), alignment and quality flags (``aligned``,
        ``shift_dx``, ``shift_dy`` (px), ``rotation_deg``, ``scale``, ``overlap``,
        ``exposure_shift_L``, ``warnings`` joined by " | ") and provenance
        (``image_sha256``, ``settings_sha256``). ``df.attrs["summary"]`` holds the counts
        (with ``db``: ``stored``, the records added) and the elapsed time. With ``output`` the table is read back from the file, so
        it includes the subjects kept by ``resume``.

    Raises
    ------
    BadManifestError
        The manifest is unusable (with ``db``: also a subject, session or date that a
        record cannot hold, such as a date-time without time zone); the message names
        the line and column.
    TextureCmpError
        Bad ``jobs``, ``scheduler``, ``fmt`` or settings; ``resume`` without ``output``;
        ``resume`` on an output scored with other settings.

    Notes
    -----
    A photo or mask that cannot be read fails only its own rows. A follow-up whose
    baseline failed is still measured on its own, with its changes marked "not
    computable" and the reason in ``note``. Call this from a script guarded by
    ``if __name__ == "__main__":`` when ``jobs`` > 1 or a Dask LocalCluster is used
    (worker processes are started with "spawn").
    """
    t0 = time.perf_counter()
    if jobs is not None:
        jobs = check_int(jobs, "jobs", ge=1, expected="a whole number >= 1 or None", error=TextureCmpError)
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise TextureCmpError(f"scheduler: expected 'local' or a Dask scheduler address, got {scheduler!r}")
    s = coerce_settings(settings)
    man = read_manifest(manifest)
    out = None if output is None else os.path.abspath(os.fspath(output))
    if resume and out is None:
        raise TextureCmpError("resume: needs an output file to resume from (output=...)")
    out_fmt = infer_format(out, fmt) if out is not None else None
    store = None
    if db is not None:
        from texturecmp.records import Store

        _check_for_records(man)
        store = db if isinstance(db, Store) else Store(db)
    try:
        return _score(man, s, jobs=jobs, scheduler=scheduler, progress=progress, out=out, out_fmt=out_fmt,
                      resume=resume, store=store, t0=t0)
    finally:
        if store is not None and store is not db:
            store.close()


def _score(man: Manifest, s: Settings, *, jobs: int | None, scheduler: str | None, progress: bool, out: str | None,
           out_fmt: str | None, resume: bool, store: Any, t0: float) -> "pd.DataFrame":
    """score_batch once its arguments are checked and the store (if any) is open."""
    import pandas as pd
    from tqdm.auto import tqdm

    keep, done, rewrite = None, set(), True
    if resume and out is not None:
        has_parts = out_fmt == "parquet" and os.path.isdir(out + ".parts")
        if os.path.exists(out) or has_parts:
            existing = read_results(out, fmt=out_fmt)
            keep, done = _resumable(existing, man, s)
            if store is not None:
                done -= _not_in_store(keep, done, store)
                keep = keep[keep["subject"].isin(list(done))].reset_index(drop=True)
            rewrite = len(keep) != len(existing)
    tasks = [Task(ser, s, single_thread=scheduler is not None, records=store is not None)
             for ser in man.subjects if ser.subject not in done]
    n_todo = sum(len(t.series.photos) for t in tasks)
    n_skipped = man.n_photos - n_todo

    frames: list[pd.DataFrame] = []
    counts = {"scored": 0, "failed": 0, "stored": 0}
    sink = open_sink(out, out_fmt, keep=keep, rewrite=rewrite) if out is not None else None
    bar = tqdm(total=n_todo, unit="photo", desc="texturecmp batch", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, leave=True)

    def on_result(task: Task, result: SubjectResult) -> None:
        rows = result.rows
        if store is not None and result.records:
            # the records before the rows: after a crash between the two, --resume scores the
            # subject again and the store ignores the records it already holds
            counts["stored"] += store._add_counted(result.records)[1]  # this batch's new records only
        if sink is not None:
            sink.write(task.series.subject, rows)
        else:
            frames.append(make_frame(rows))
        bad = {r["session"] for r in rows if r["error"]}
        counts["failed"] += len(bad)
        counts["scored"] += len(task.series.photos) - len(bad)
        bar.update(len(task.series.photos))
        if counts["failed"]:
            bar.set_postfix(failed=counts["failed"], refresh=False)

    interrupted = False
    try:
        run_tasks(tasks, jobs=jobs, scheduler=scheduler, on_result=on_result)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        bar.close()
        if sink is not None:
            sink.close()
        if interrupted and progress:
            print(f"texturecmp batch: interrupted after {counts['scored'] + counts['failed']} of {n_todo} photos"
                  + (f"; the finished subjects are in {out}; run again with --resume to continue" if out else ""),
                  file=sys.stderr)

    if out is not None:
        df = read_results(out, fmt=out_fmt)
    else:
        df = sort_frame(pd.concat(frames, ignore_index=True)) if frames else make_frame([])
    elapsed = time.perf_counter() - t0
    n_failed = _photo_failures(df)
    summary = {"subjects": len(man.subjects), "photos": man.n_photos, "scored": counts["scored"],
               "failed": n_failed, "failed_this_run": counts["failed"], "skipped": n_skipped,
               "elapsed_s": elapsed, "output": out}
    if store is not None:
        summary.update(stored=counts["stored"], db=store.path)
    df.attrs["summary"] = summary
    if progress:
        done_now = counts["scored"] + counts["failed"]
        rate = f", {60 * done_now / elapsed:.1f} photos/min" if done_now and elapsed > 0 else ""
        print(f"texturecmp batch: {man.n_photos} photos of {len(man.subjects)} subjects: {counts['scored']} scored, "
              f"{n_failed} failed, {n_skipped} already in the output; {elapsed:.1f} s{rate}"
              + (f"; results in {out}" if out else "")
              + (f"; {counts['stored']} new records in {store.path}" if store is not None else ""), file=sys.stderr)
    return df


def to_wide(df: "pd.DataFrame", *, values: Sequence[str] = ("value", "uncertainty", "delta", "percent", "verdict")
            ) -> "pd.DataFrame":
    """One row per subject x session: the photo's columns, then ``<metric>.<field>`` for each metric.

    Parameters
    ----------
    df : pandas.DataFrame
        A tidy table from :func:`score_batch` or :func:`read_results`.
    values : sequence of str
        Per-metric columns to spread, in this order for each metric.

    Returns
    -------
    pandas.DataFrame
        Columns: the per-photo columns of :data:`SESSION_COLUMNS` present in ``df``, then
        ``f"{metric}.{field}"`` for every metric (catalogue order) and field. Rows in the
        order of ``df``.
    """
    import pandas as pd

    values = list(values)
    bad = [v for v in values if v not in df.columns or v in ("subject", "session", "metric")]
    if bad:
        raise TextureCmpError(f"values: not per-metric columns of the table: {', '.join(bad)}")
    key = ["subject", "session"]
    head = df.drop_duplicates(key)[[c for c in SESSION_COLUMNS if c in df.columns]].reset_index(drop=True)
    metrics = [m for m in METRICS if m in set(df["metric"])] + sorted(set(df["metric"]) - set(METRICS))
    wide = df.pivot(index=key, columns="metric", values=values)
    cols = [(v, m) for m in metrics for v in values]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(cols))
    wide.columns = [f"{m}.{v}" for v, m in cols]
    return head.merge(wide.reset_index(), on=key, how="left", validate="one_to_one")


# --------------------------------------------------------------------------------------- CLI

def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return v


def run_cli(args: argparse.Namespace) -> int:
    """Handler of ``texturecmp batch``: 0 when every photo scored, 1 when some failed.

    Errors that make the batch impossible (:class:`BadManifestError`, bad settings, an
    unusable output) are raised for the caller to report with exit status 2.
    """
    if args.db:  # a password typed on the command line is refused before any work
        from texturecmp.records import typed_target

        typed_target(args.db, env=False)
    settings = Settings.from_file(args.settings) if args.settings else None
    if getattr(args, "fixed_light", False):  # a setting: in every row's settings hash
        settings = (settings or Settings()).replace(fixed_light=True)
    df = score_batch(args.manifest, jobs=args.jobs, scheduler=args.scheduler, settings=settings,
                     progress=not args.no_progress, output=args.output, resume=args.resume, fmt=args.format,
                     db=args.db)
    return 1 if df.attrs["summary"]["failed"] else 0


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``batch`` subcommand to an argparse subparsers object.

    Parameters
    ----------
    subparsers
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``batch`` parser; its handler is set as ``func`` (``args.func(args)`` returns
        the exit status 0 or 1 and raises :class:`TextureCmpError` for status 2).
    """
    p = subparsers.add_parser(
        "batch", help="score every subject's series of a manifest into one table",
        description="Score every subject's series listed in a manifest (CSV: subject, session, [date], image, "
                    "[roi, lesion, reference], [pixel_size_mm], [baseline]; or a folder SUBJECT/SESSION.jpg). "
                    "Exit status: 0 all photos scored, 1 some photos failed (errors in the output), "
                    "2 unusable manifest or options.")
    p.add_argument("manifest", help="manifest CSV, or a folder in the layout SUBJECT/SESSION.jpg")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output table (.csv, .jsonl or .parquet), written as subjects finish")
    p.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                   help="local worker processes (default: number of cores), or Dask workers with --scheduler local")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS|local",
                   help="run on a Dask cluster: 'local' starts a LocalCluster, else a scheduler address")
    p.add_argument("--format", choices=tuple(FORMATS), default=None, help="output format (default: from the suffix)")
    p.add_argument("--resume", action="store_true", help="keep the subjects already complete in OUT, score the rest")
    p.add_argument("--settings", metavar="FILE", help="settings file (JSON or TOML)")
    p.add_argument("--db", metavar="STORE",
                   help="also store each scored follow-up's comparison record in this records store (SQLite file or "
                        "postgresql:// URL; see 'texturecmp records')")
    p.add_argument("--no-progress", action="store_true", help="no progress bar and summary on stderr")
    p.add_argument("--fixed-light", action="store_true", dest="fixed_light",
                   help="light, exposure and camera were the same for every photo: colour metrics are judged as "
                        "taken (Settings.fixed_light; without it, or a chart, they are not comparable)")
    p.set_defaults(func=run_cli)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m texturecmp.batch MANIFEST -o OUT [...]``: the ``texturecmp batch`` command on its own
    (the same errors, exit statuses and quiet stderr as :func:`texturecmp.cli.main`)."""
    from texturecmp.cli import main as cli_main

    return cli_main(["batch", *(sys.argv[1:] if argv is None else argv)])
