"""The ``texturecmp records`` subcommands, and the helper ``compare --db`` calls (private)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from texturecmp.records._backend import DB_ENV, has_password
from texturecmp.records._export import export
from texturecmp.records._record import BadRecordError, comparison_record, loads, read_records
from texturecmp.records._store import Store, StoreError, copy_records

__all__ = ["add_cli", "store_comparison", "db_target", "typed_target"]


def store_comparison(c: Any, db: str | os.PathLike | Store, *, subject: str, session: str, date: Any = None,
                     baseline_session: str = "baseline", baseline_date: Any = None) -> str:
    """Build the comparison's record and add it to a store; return the record id.

    Parameters
    ----------
    c : Comparison
    db : path or Store
        The store (a path is opened, used and closed).
    subject, session, date, baseline_session, baseline_date
        As :func:`texturecmp.records.comparison_record`.
    """
    rec = comparison_record(c, subject=subject, session=session, date=date, baseline_session=baseline_session,
                            baseline_date=baseline_date)
    if isinstance(db, Store):
        return db.add(rec)
    with Store(db) as store:
        return store.add(rec)


def typed_target(target: str, what: str = "--db", *, env: bool = True) -> str:
    """A store typed on the command line, refused when it is a URL holding a password.

    The command line shows in the process list and the shell history (also when it was
    typed as ``--db "$TEXTURECMP_DB"``). ``env``: the command can take the store from
    ``TEXTURECMP_DB`` instead, so the message says so.
    """
    if has_password(target):
        raise StoreError(f"{what}: the URL holds a password, which would show in the process list and the shell "
                         "history; put it in PGPASSWORD, ~/.pgpass or a service file"
                         + (f", or give the URL in {DB_ENV}" if env else ""))
    return target


def db_target(db: str | None, what: str = "--db") -> str:
    """The store named by ``--db`` (or the argument ``what``), else by the environment variable ``TEXTURECMP_DB``."""
    if db:
        return typed_target(db, what)
    env = os.environ.get(DB_ENV, "").strip()
    if not env:
        raise StoreError(f"{what}: give the record store (an SQLite file or a postgresql:// URL), or set {DB_ENV}")
    return env


def _open(args: argparse.Namespace, *, create: bool = False) -> Store:
    """The store of ``--db``; only ``records add`` creates one (``list``, ``show``, ``export`` never do)."""
    return Store(db_target(args.db), create=create)


def _cmd_add(args: argparse.Namespace) -> int:
    records = []
    for path in args.files:
        try:
            text = Path(path).read_bytes() if path != "-" else sys.stdin.buffer.read()
        except OSError as exc:
            raise BadRecordError(f"{path}: cannot be read ({exc.strerror})") from None
        try:
            records.extend(read_records(loads(text)))
        except BadRecordError as exc:
            raise BadRecordError(f"{path}: {exc}") from None
    with _open(args, create=True) as store:
        ids, added = store._add_counted(records)  # counted in its transaction: other writers' records are not
    for rid in ids:
        print(rid)
    print(f"{added} record(s) added, {len(ids) - added} already stored", file=sys.stderr)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        entries = store.entries(subject=args.subject)
    if not entries:
        print("no records" + (f" for subject {args.subject!r}" if args.subject else ""), file=sys.stderr)
        return 0
    print(f"{'id':12}  {'kind':11}  {'subject':16}  {'session':16}  {'date':25}  baseline")
    for e in entries:
        print(f"{e.id[:12]}  {e.kind:11}  {e.subject:16}  {e.session:16}  {(e.date or '-'):25}  {e.baseline_session or '-'}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from texturecmp.records._record import dumps

    with _open(args) as store:
        rec = store.get(args.id)
    sys.stdout.write(dumps(rec) + "\n")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    damaged: list = []
    with _open(args) as store:
        records = store.records(subject=args.subject, errors=damaged)
    text = export(records, args.format, wide_form=args.wide)
    if args.output and args.output != "-":
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{len(records)} record(s) written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    for exc in damaged:  # the others are exported; each damaged one is named on its own line
        print(f"texturecmp: error: {exc}; not exported", file=sys.stderr)
    return 2 if damaged else 0


def _cmd_check(args: argparse.Namespace) -> int:
    with _open(args) as store:
        damaged = store.check()
        n = len(store)
    for exc in damaged:
        print(f"texturecmp: error: {exc}", file=sys.stderr)
    print(f"{n - len(damaged)} of {n} record(s) pass their checks", file=sys.stderr)
    return 2 if damaged else 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    src = typed_target(args.source, "SRC")
    dst = db_target(args.target, "DST")  # without DST: the store of TEXTURECMP_DB
    done = copy_records(src, dst)
    print(f"{done.read} record(s) read from {done.source}, {done.added} added to {done.target} "
          f"({done.read - done.added} already there); {done.target} holds {done.target_count}; "
          "every record id checked", file=sys.stderr)
    return 0


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``records`` command and its subcommands to an argparse subparsers object.

    Each subcommand sets ``func`` (``args.func(args) -> int``); errors are
    :class:`texturecmp.errors.TextureCmpError` (the CLI prints them on one line, exit 2).
    Returns the ``records`` parser.
    """
    rp = subparsers.add_parser("records", help="store, list, show and export measurement records",
                               description="Records of measurements and comparisons in a store: an SQLite file or a "
                                           f"PostgreSQL database (--db, or the environment variable {DB_ENV}).")
    sub = rp.add_subparsers(dest="records_command", required=True)

    def db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="the record store: an SQLite file or a postgresql:// URL (default: $"
                                    f"{DB_ENV}); only 'records add' creates one")

    p = sub.add_parser("add", help="add records from JSON files (a record, a list, or an export)")
    p.add_argument("files", nargs="+", metavar="RECORD.json", help="JSON file(s); '-' reads standard input")
    db(p)
    p.set_defaults(func=_cmd_add)

    p = sub.add_parser("list", help="list the stored records")
    db(p)
    p.add_argument("--subject", help="only this subject's records")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", help="print one record as JSON")
    p.add_argument("id", help="record id (or its first 6+ characters)")
    db(p)
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("export", help="export records as CSV, JSON or a FHIR R4 Bundle")
    db(p)
    p.add_argument("--format", required=True, choices=("csv", "json", "fhir"))
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--subject", help="only this subject's records")
    p.add_argument("--wide", action="store_true", help="CSV: one row per subject x session, one column per metric")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("check", help="check the store's file and every record's id and schema")
    db(p)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("migrate", help="copy every record from one store to another (SQLite <-> PostgreSQL) and verify",
                       description="Copy every record of SRC into DST (created when missing), then check that DST "
                                   "holds every record id of SRC once and that the copy added no more records than DST lacked.")
    p.add_argument("source", metavar="SRC", help="the store to copy from (SQLite file or postgresql:// URL)")
    p.add_argument("target", metavar="DST", nargs="?",
                   help=f"the store to copy into (default: ${DB_ENV}, which may hold the URL with its password)")
    p.set_defaults(func=_cmd_migrate)
    return rp
