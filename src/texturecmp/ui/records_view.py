"""The app's record-store parts: "Save to records" under the results and the "Subject history" tab.

Thin on purpose: records are built by the core (``Measurement.to_record``,
``Comparison.to_record``) from the cached :class:`texturecmp.Series`, stored and read with
:class:`texturecmp.records.Store`; this module lays out the fields, checks that they are
filled in, and shows the store's tables. Nothing is written until the user presses
**Save to records**; the history tab never creates a store file (it only opens one that
exists). Photos are never written: records hold their SHA-256 hashes.

Store files are kept inside one folder: ``TEXTURECMP_RECORDS_DIR`` when it is set (when the
app is started), else the user's data folder (``platformdirs.user_data_dir``, e.g.
``~/.local/share/texturecmp/records`` on Linux). The store field takes a file name in that
folder; a path that leads out of it is refused, so a page driving the app cannot open or
create a file elsewhere. The folder is shown beside the field.

The field also takes a PostgreSQL URL (``postgresql://user@host/dbname``) for a store
shared by several workstations; ``TEXTURECMP_DB`` (a URL or a file) sets the default. A
URL typed in the field must not hold a password (it would stay on the page): the password
comes from ``PGPASSWORD``, ``~/.pgpass`` or a service file, or from the URL in
``TEXTURECMP_DB``, which the page shows without it.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

import streamlit as st

import texturecmp as tc
from texturecmp import records
from texturecmp.errors import TextureCmpError

__all__ = ["DEFAULT_DB", "RECORDS_DIR_ENV", "records_dir", "default_db_path", "default_store", "store_path",
           "store_target", "save_section", "history_view"]

#: File name of the default store, in the records folder.
DEFAULT_DB = "texturecmp_records.db"
#: Environment variable naming the records folder (read when the page runs).
RECORDS_DIR_ENV = "TEXTURECMP_RECORDS_DIR"

_STORE_HELP = ("A file name (an SQLite store) or a postgresql:// URL (a store shared by several workstations; its "
               "password comes from PGPASSWORD, ~/.pgpass or a service file, never typed here). A file is kept in "
               "the records folder shown below. It is created when you press **Save to records** "
               "if it does not exist yet, and the same file can be saved to again (a record already in it is stored "
               "once). To keep stores in another folder, start the app with TEXTURECMP_RECORDS_DIR set to it.")
_SUBJECT_HELP = ("Your own identifier for the patient or study subject, e.g. P-0012. No names, initials or birth "
                 "dates: records travel with exports.")
_ERRORS = (records.BadRecordError, records.StoreError, TextureCmpError, OSError, sqlite3.Error)


def records_dir() -> Path:
    """The folder record stores are kept in: ``$TEXTURECMP_RECORDS_DIR``, else the user's data folder."""
    configured = os.environ.get(RECORDS_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("texturecmp", appauthor=False)).resolve() / "records"


def default_db_path() -> str:
    """The default store: :data:`DEFAULT_DB` in :func:`records_dir`."""
    return str(records_dir() / DEFAULT_DB)


def _env_store() -> str:
    return os.environ.get(records.DB_ENV, "").strip()


def default_store() -> str:
    """What the store field starts with: ``$TEXTURECMP_DB`` (a URL without its password) or :data:`DEFAULT_DB`."""
    env = _env_store()
    return records.shown(env) if env else DEFAULT_DB


def store_target(text: str, *, must_exist: bool = False) -> tuple[str | None, str | None]:
    """The store named in the field: a PostgreSQL URL, or an SQLite file inside the records folder.

    Returns ``(target, None)`` or ``(None, message)``; ``(None, None)`` when ``must_exist``
    and there is no SQLite file yet. The URL of ``$TEXTURECMP_DB``, shown without its
    password, opens with it.
    """
    text = (text or "").strip()
    if records.is_url(text):
        env = _env_store()
        if env and records.is_url(env) and records.shown(env) == text:
            return env, None
        if records.has_password(text):
            return None, ("The URL holds a password, which would stay on the page: remove it, and give the password "
                          "in PGPASSWORD, ~/.pgpass or a service file, or start the app with the URL in "
                          f"{records.DB_ENV}.")
        return text, None
    path, msg = store_path(text, must_exist=must_exist)
    return (str(path) if path is not None else None), msg


def store_path(text: str, *, folder: Path | None = None, must_exist: bool = False) -> tuple[Path | None, str | None]:
    """The store file named in a text field, kept inside ``folder``, or a message saying what is wrong.

    A relative name is taken inside the folder; an absolute path must lead into it (after
    resolving ``..`` and links). Returns ``(None, None)`` when ``must_exist`` and there is
    no file yet.
    """
    folder = records_dir() if folder is None else folder
    text = (text or "").strip()
    if not text:
        return None, f"Give the file name of the record store (for example {DEFAULT_DB}) in the records folder {folder}."
    p = (folder / Path(text).expanduser()).resolve()
    if p != folder and folder not in p.parents:
        return None, (f"**{text}** is outside the records folder **{folder}**: give a file name inside it. To keep "
                      f"stores in another folder, start the app with {RECORDS_DIR_ENV} set to that folder.")
    if p.is_dir():
        return None, f"**{p}** is a folder: give a file name inside it, for example {p / DEFAULT_DB}."
    if must_exist and not p.exists():
        return None, None
    if not p.parent.is_dir() and p.parent != folder:
        return None, f"The folder **{p.parent}** does not exist: create it first or choose another name."
    return p, None


def _prefill(key: str, label: str) -> None:
    """Prefill a session field from the session label, and follow the label while the user has not edited it."""
    src = f"{key}__src"
    if key not in st.session_state or st.session_state[key] == st.session_state.get(src):
        st.session_state[key] = label
    st.session_state[src] = label


def _failure(exc: BaseException) -> str:
    if isinstance(exc, records.BadRecordError):
        return f"Nothing was saved: {exc}"
    if isinstance(exc, records.StoreError):
        return f"Nothing was saved: the record store cannot be used ({exc}). Choose another file."
    if isinstance(exc, (OSError, sqlite3.Error)):
        return f"Nothing was saved: the file cannot be written ({exc}). Choose a file in a folder you can write to."
    return f"Nothing was saved: {exc}"


# ----------------------------------------------------------------------------------------- saving

def save_section(series: tc.Series, shas: Sequence[str], labels: Sequence[str]) -> None:
    """Fields and the button that store the baseline's measurement and each follow-up's comparison with the baseline."""
    st.markdown("##### Save to records")
    st.caption("Stores the baseline's measurement and each follow-up's comparison with the baseline as records "
               "(numbers, units, verdicts, settings and the photos' SHA-256 hashes; never the photos, file names "
               "or EXIF) in a record store on this computer. Nothing is written until you press the button.")
    st.session_state.setdefault("records_db", default_store())
    c1, c2 = st.columns([3, 2])
    c1.text_input("Record store (file name or postgresql:// URL)", key="records_db", help=_STORE_HELP)
    c1.caption(f"In the records folder `{records_dir()}`.")
    c2.text_input("Subject identifier (required)", key="records_subject", placeholder="e.g. P-0012",
                  help=_SUBJECT_HELP)
    cols = st.columns(min(len(labels), 4))
    for i, (sha, lab) in enumerate(zip(shas, labels)):
        _prefill(f"rec_session_{sha}", lab)
        with cols[i % len(cols)]:
            st.markdown(f"**Photo {i + 1}**" + (" (baseline)" if i == 0 else ""))
            st.text_input("Session identifier", key=f"rec_session_{sha}",
                          help="Your identifier of this visit (e.g. week4); prefilled from the session label.")
            st.text_input("Capture date (optional)", key=f"rec_date_{sha}", placeholder="YYYY-MM-DD")
    if st.button("Save to records", key="records_save"):
        _save(series, shas)


def _save(series: tc.Series, shas: Sequence[str]) -> None:
    ss = st.session_state
    problems: list[str] = []
    subject = str(ss.get("records_subject") or "").strip()
    if not subject:
        problems.append("Enter a **subject identifier** (your own code for the patient or study subject; no names).")
    sessions = [str(ss.get(f"rec_session_{sha}") or "").strip() for sha in shas]
    for i, s in enumerate(sessions):
        if not s:
            problems.append(f"Enter a **session identifier** for photo {i + 1}.")
    repeated = sorted(s for s, n in Counter(sessions).items() if s and n > 1)
    if repeated:
        problems.append("Each photo needs its own session identifier: " + ", ".join(f"**{s}**" for s in repeated)
                        + " is used more than once.")
    dates: list[str | None] = []
    for i, sha in enumerate(shas):
        text = str(ss.get(f"rec_date_{sha}") or "").strip()
        try:
            dates.append(records.normalize_date(text or None, name=f"Capture date of photo {i + 1}"))
        except records.BadRecordError as exc:
            problems.append(f"{exc}. Use YYYY-MM-DD, e.g. 2024-03-01, or leave it empty.")
            dates.append(None)
    target, msg = store_target(str(ss.get("records_db") or ""))
    if msg:
        problems.append(msg)
    if problems:
        st.error("Nothing was saved.\n\n" + "\n".join(f"- {p}" for p in problems))
        return
    try:
        recs = [series.measurements[0].to_record(subject=subject, session=sessions[0], date=dates[0])]
        for i, cmp in enumerate(series.vs_baseline, start=1):
            recs.append(cmp.to_record(subject=subject, session=sessions[i], date=dates[i],
                                      baseline_session=sessions[0], baseline_date=dates[0]))
        ids = list(dict.fromkeys(records.record_id(r) for r in recs))
        if not records.is_url(target):
            Path(target).parent.mkdir(parents=True, exist_ok=True)  # the records folder (its parent is checked above)
        with records.Store(target) as store:
            new = [rid for rid in ids if rid not in store]
            store.add_many(recs)
            total = len(store)
            shown = store.path
    except _ERRORS as exc:
        st.error(_failure(exc))
        return
    except Exception as exc:  # never a traceback in the page
        st.error(f"Nothing was saved ({type(exc).__name__}: {exc}).")
        return
    ss["history_db"] = ss.get("records_db")  # the history tab (drawn after this one) reads the store just used
    kept = len(ids) - len(new)
    text = (f"Saved **{len(new)}** new record{'s' if len(new) != 1 else ''} for subject **{subject}** "
            f"(1 measurement of the baseline, {len(recs) - 1} comparison{'s' if len(recs) != 2 else ''} with it) "
            f"to `{shown}`")
    if kept:
        text += f"; {kept} {'were' if kept != 1 else 'was'} already in the store and {'are' if kept != 1 else 'is'} stored once"
    st.success(text + f". The store holds {total} record{'s' if total != 1 else ''}. See them in the "
               "**Subject history** tab.")


# ----------------------------------------------------------------------------------------- history

def _not_comparable(changes: dict[str, Any]) -> str:
    """A comparison record's not-comparable verdicts in words: each reason (the change's rule)
    with how many metrics it applies to ("all metrics: ..." when it applies to every one)."""
    why = Counter(str(ch.get("rule") or "no reason recorded") for ch in changes.values()
                  if ch.get("verdict") == "not comparable")
    if len(why) == 1 and sum(why.values()) == len(changes):
        return f"all metrics: {next(iter(why))}"
    return "; ".join(f"{n} metric{'s' if n != 1 else ''}: {w}" for w, n in why.items())


def _colour_truth(rec: dict[str, Any], kind: str) -> str:
    """A comparison's colour truth ("chart", "colour reference", "fixed light", "none"); for a
    measurement, the calibration applied to its photo ("chart", "grey card") or ""."""
    if kind == "comparison":
        return str(rec.get("colour_truth") or "none")
    cal = rec.get("calibration") or {}
    return str(cal.get("kind") or "chart") if cal.get("applied") else ""


def _history_table(hist: Sequence[Any]):
    import pandas as pd

    rows = []
    for h in hist:
        rec = h.record
        changes = rec.get("changes", {})
        verdicts = Counter(ch.get("verdict") for ch in changes.values())
        rows.append({"date": h.date or "", "session": h.session, "kind": h.kind,
                     "baseline": h.baseline_session or "",
                     "improved": verdicts.get("improved", 0) if h.kind == "comparison" else None,
                     "worsened": verdicts.get("worsened", 0) if h.kind == "comparison" else None,
                     "not comparable": _not_comparable(changes) if h.kind == "comparison" else "",
                     "colour truth": _colour_truth(rec, h.kind),
                     "quality flags": ", ".join(rec.get("quality_flags", [])),
                     "texturecmp": h.texturecmp_version, "record id": h.id[:12]})
    return pd.DataFrame(rows)


def history_view(timeline: Callable[..., list[str]]) -> None:
    """Pick a store and a subject; show that subject's records in date order and a timeline read from the store.

    ``timeline(frame, order, key=...)`` draws the chart (the page's timeline).
    """
    st.subheader("Subject history")
    st.caption("Records saved with **Save to records** (or the `texturecmp records` command), read from the store.")
    st.session_state.setdefault("history_db", st.session_state.get("records_db") or default_store())
    st.text_input("Record store (file name or postgresql:// URL)", key="history_db",
                  help="The store the records were saved to: a file in the records folder, or a postgresql:// URL. "
                       "It is only read here; nothing is created.")
    st.caption(f"Files are in the records folder `{records_dir()}`.")
    target, msg = store_target(str(st.session_state.get("history_db") or ""), must_exist=True)
    if msg:
        st.error(msg)
        return
    if target is None:
        st.info("There is no record store at this path yet. Save results with **Save to records** under the "
                "results, or give the path of an existing store.")
        return
    try:
        with records.Store(target, create=False) as store:
            subjects = store.subjects()
            if not subjects:
                st.info("This store holds no records yet.")
                return
            wanted = str(st.session_state.get("records_subject") or "").strip()
            subject = st.selectbox("Subject", subjects, index=subjects.index(wanted) if wanted in subjects else None,
                                   placeholder="Choose a subject", key="history_subject")
            if subject is None:
                st.caption(f"{len(subjects)} subject{'s' if len(subjects) != 1 else ''} in this store.")
                return
            damaged: list = []
            hist = []
            for h in store.history(subject):  # one query; each record checked once against its id and the schema
                try:
                    h.record
                except records.DamagedRecordError as exc:
                    damaged.append(exc)
                else:
                    hist.append(h)
            frame = records.records_frame([h.record for h in hist])
    except _ERRORS as exc:
        st.error(f"The record store cannot be read: {exc}. Choose another file.")
        return
    except Exception as exc:  # never a traceback in the page
        st.error(f"The record store cannot be read ({type(exc).__name__}: {exc}).")
        return

    for exc in damaged:
        st.warning(f"Left out: {exc}.")
    st.markdown(f"##### {subject}: {len(hist)} record{'s' if len(hist) != 1 else ''}, in date order")
    st.dataframe(_history_table(hist), hide_index=True, width="stretch", key="history_table")
    order = list(dict.fromkeys(h.baseline_session for h in hist if h.baseline_session)) if hist else []
    order = list(dict.fromkeys([*order, *(h.session for h in hist)]))
    st.caption("Sessions: " + " → ".join(f"**{s}**" for s in order))
    if frame is None or not len(frame):
        return
    vals = frame.dropna(subset=["value"])
    dup = vals.duplicated(["session", "metric"])
    if dup.any():
        st.caption("Some sessions have several records (other marks, settings or photos); the chart shows the "
                   "first record of each session, the table lists them all.")
    st.markdown("##### Across sessions (from the store)")
    timeline(vals[~dup], order, key="history_metrics")
