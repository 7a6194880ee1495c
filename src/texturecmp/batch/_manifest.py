"""Batch manifests: read a CSV, a pandas DataFrame or a folder layout into subject series.

A manifest has one row per photo. The rows of one subject form a series: in date order
when the manifest has dates, else in file order; the first is the baseline unless a
``baseline`` column marks another row. Every check names the line (or row) and the column
at fault, so a study coordinator can fix a 10,000-line spreadsheet without guessing.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import io
import math
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from texturecmp.errors import TextureCmpError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "BadManifestError",
    "Photo",
    "SubjectSeries",
    "Manifest",
    "read_manifest",
    "MANIFEST_COLUMNS",
    "REQUIRED_COLUMNS",
    "MASK_KINDS",
    "IMAGE_SUFFIXES",
    "natural_key",
]

#: Columns a manifest must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("subject", "session", "image")
#: Every column a manifest may have (others are ignored unless they look like a typo of one of these).
MANIFEST_COLUMNS: tuple[str, ...] = ("subject", "session", "date", "image", "roi", "lesion", "reference",
                                     "pixel_size_mm", "baseline")
#: Region masks a row (or, in the folder layout, a file) may give; drawn on the baseline.
MASK_KINDS: tuple[str, ...] = ("roi", "lesion", "reference")
#: File suffixes taken as photos (and masks) in the folder layout.
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".bmp")

_TRUE = {"1", "true", "yes", "y", "x", "baseline"}
_FALSE = {"", "0", "false", "no", "n"}


class BadManifestError(TextureCmpError):
    """The batch manifest cannot be used: a missing column or file, a duplicate, a bad value.

    Attributes
    ----------
    line : int or None
        1-based line of the CSV file (the header is line 1), or 1-based row of a
        DataFrame manifest; None when the fault is not on one line (folder layout).
    column : str or None
        Name of the column at fault, or None.
    """

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Photo:
    """One photo of a series, as the manifest gives it (paths absolute).

    Attributes
    ----------
    session : str
        Session label, unique within the subject.
    image : str
        Absolute path of the photo.
    date : str
        ISO 8601 date (``YYYY-MM-DD``) or date-time, or "" when the manifest has none.
    roi, lesion, reference : str or None
        Absolute mask paths. Only the baseline's are used: regions are drawn on the
        baseline and carried into the follow-ups by the registration.
    pixel_size_mm : float or None
        Millimetres per pixel. The series is measured with the baseline's.
    line : int or None
        Where the row came from (for messages).
    """

    session: str
    image: str
    date: str = ""
    roi: str | None = None
    lesion: str | None = None
    reference: str | None = None
    pixel_size_mm: float | None = None
    line: int | None = None


@dataclass(frozen=True)
class SubjectSeries:
    """The photos of one subject, baseline first; the unit of work of a batch."""

    subject: str
    photos: tuple[Photo, ...]

    @property
    def baseline(self) -> Photo:
        return self.photos[0]


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: subject series in first-appearance order.

    Attributes
    ----------
    subjects : tuple of SubjectSeries
    source : str
        Where it was read from (file, folder or "DataFrame").
    """

    subjects: tuple[SubjectSeries, ...]
    source: str = ""

    @property
    def n_photos(self) -> int:
        return sum(len(s.photos) for s in self.subjects)


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value ("s2" before "s10")."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", str(text)) if p != "")


# ------------------------------------------------------------------------------------ helpers

class _Where:
    """Formats 'line N' (CSV) or 'row N' (DataFrame) for messages."""

    def __init__(self, source: str, kind: str):
        self.source = source
        self.kind = kind

    def __call__(self, line: int | None, column: str | None = None, columns: Sequence[str] = ()) -> str:
        parts = [self.source] if self.source else []
        if line is not None:
            parts.append(f"{self.kind} {line}")
        if column is not None:
            if column in columns:
                parts.append(f"column {list(columns).index(column) + 1} '{column}'")
            else:
                parts.append(f"column '{column}'")
        return ", ".join(parts)


def _cell(value: Any) -> str:
    """A manifest cell as stripped text ("" for empty / NaN / None)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    try:
        import pandas as pd

        if value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if isinstance(value, pd.Timestamp):
            return _iso(value.to_pydatetime())
    except (TypeError, ValueError, ImportError):
        pass
    if isinstance(value, (_dt.datetime, _dt.date)):
        return _iso(value)
    return str(value).strip()


def _iso(d: _dt.date | _dt.datetime) -> str:
    if isinstance(d, _dt.datetime):
        if d.time() == _dt.time(0) and d.tzinfo is None:
            return d.date().isoformat()
        return d.isoformat()
    return d.isoformat()


def _parse_date(text: str) -> _dt.datetime | None:
    """ISO 8601 date or date-time -> naive datetime (UTC for aware values); None when unparsable."""
    try:
        if len(text) == 10:
            d = _dt.date.fromisoformat(text)
            return _dt.datetime(d.year, d.month, d.day)
        v = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if v.tzinfo is not None:
        v = v.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return v


def _resolve(path: str, root: str) -> str:
    p = os.path.expanduser(path)
    if not os.path.isabs(p):
        p = os.path.join(root, p)
    return os.path.abspath(p)


# ---------------------------------------------------------------------------- table manifests

def _table_rows(header: Sequence[str], records: Iterable[tuple[int, Sequence[Any]]], *, root: str,
                where: _Where) -> Manifest:
    cols = [str(h).strip().lower() for h in header]
    for i, c in enumerate(cols):
        if c == "":
            raise BadManifestError(f"{where(1)}: column {i + 1} has no name; name it or delete it", line=1,
                                   column=f"#{i + 1}")
        if cols.index(c) != i:
            raise BadManifestError(f"{where(1, c, cols)}: the column '{c}' appears twice", line=1, column=c)
    for c in cols:
        if c not in MANIFEST_COLUMNS:
            close = difflib.get_close_matches(c, MANIFEST_COLUMNS, n=1, cutoff=0.75)
            if close and close[0] not in cols:
                raise BadManifestError(f"{where(1, c, cols)}: unknown column '{c}'; did you mean '{close[0]}'?",
                                       line=1, column=c)
    for req in REQUIRED_COLUMNS:
        if req not in cols:
            raise BadManifestError(f"{where(1)}: missing column '{req}' (a manifest needs the columns "
                                   f"{', '.join(REQUIRED_COLUMNS)}; it has {', '.join(cols) or 'none'})",
                                   line=1, column=req)
    idx = {c: cols.index(c) for c in cols}

    by_subject: dict[str, list[tuple[Photo, int, bool, _dt.datetime | None]]] = {}
    seen: dict[tuple[str, str], int] = {}
    for line, rec in records:
        rec = list(rec)
        if len(rec) != len(cols):
            raise BadManifestError(f"{where(line)}: {len(rec)} fields but the header has {len(cols)}", line=line)
        val = {c: _cell(rec[i]) for c, i in idx.items()}
        for req in REQUIRED_COLUMNS:
            if not val[req]:
                raise BadManifestError(f"{where(line, req, cols)}: empty {req}", line=line, column=req)
        subject, session = val["subject"], val["session"]
        key = (subject, session)
        if key in seen:
            raise BadManifestError(f"{where(line, 'session', cols)}: duplicate subject/session: subject "
                                   f"'{subject}' session '{session}' is already on {where.kind} {seen[key]}",
                                   line=line, column="session")
        seen[key] = line
        paths: dict[str, str | None] = {}
        for c in ("image",) + MASK_KINDS:
            if not val.get(c):
                paths[c] = None
                continue
            p = _resolve(val[c], root)
            if not os.path.isfile(p):
                what = "photo" if c == "image" else f"{c} mask"
                raise BadManifestError(f"{where(line, c, cols)}: {what} file not found: {p}", line=line, column=c)
            paths[c] = p
        date_txt, date_val = val.get("date", ""), None
        if date_txt:
            date_val = _parse_date(date_txt)
            if date_val is None:
                raise BadManifestError(f"{where(line, 'date', cols)}: cannot read the date {date_txt!r}; "
                                       "expected ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:MM)", line=line, column="date")
            date_txt = _iso(date_val) if len(date_txt) != 10 else date_txt
        px = None
        if val.get("pixel_size_mm"):
            try:
                px = float(val["pixel_size_mm"])
            except ValueError:
                px = math.nan
            if not (math.isfinite(px) and 0 < px < 10):
                raise BadManifestError(f"{where(line, 'pixel_size_mm', cols)}: pixel_size_mm must be a number of "
                                       f"millimetres per pixel in (0, 10), got {val['pixel_size_mm']!r}",
                                       line=line, column="pixel_size_mm")
        flag = val.get("baseline", "").lower()
        if flag not in _TRUE and flag not in _FALSE:
            raise BadManifestError(f"{where(line, 'baseline', cols)}: baseline must be empty, 1/0, true/false or "
                                   f"yes/no, got {val['baseline']!r}", line=line, column="baseline")
        photo = Photo(session=session, image=paths["image"], date=date_txt, roi=paths["roi"], lesion=paths["lesion"],
                      reference=paths["reference"], pixel_size_mm=px, line=line)
        by_subject.setdefault(subject, []).append((photo, line, flag in _TRUE, date_val))
    if not by_subject:
        raise BadManifestError(f"{where(None) or 'manifest'}: no photos (the manifest has a header but no rows)",
                               line=None)

    subjects = []
    for subject, items in by_subject.items():
        dated = [it for it in items if it[3] is not None]
        if dated and len(dated) != len(items):
            line = next(it[1] for it in items if it[3] is None)
            raise BadManifestError(f"{where(line, 'date', cols)}: subject '{subject}' has dates on other rows but none "
                                   "here; give every photo of a subject a date, or none", line=line, column="date")
        flagged = [it for it in items if it[2]]
        if len(flagged) > 1:
            raise BadManifestError(f"{where(flagged[1][1], 'baseline', cols)}: subject '{subject}' has a second "
                                   f"baseline (the first is on {where.kind} {flagged[0][1]})",
                                   line=flagged[1][1], column="baseline")
        ordered = sorted(items, key=lambda it: it[3]) if dated else list(items)  # stable: ties keep file order
        if flagged:
            ordered.remove(flagged[0])
            ordered.insert(0, flagged[0])
        subjects.append(SubjectSeries(subject, tuple(it[0] for it in ordered)))
    return Manifest(tuple(subjects), where.source)


def _read_csv(path: str) -> Manifest:
    try:
        with open(path, "r", encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise BadManifestError(f"{path}: not a UTF-8 text file; save the manifest as CSV (UTF-8)") from None
    except OSError as exc:
        raise BadManifestError(f"{path}: cannot read the manifest ({exc.strerror or exc})") from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    where = _Where(path, "line")
    try:
        header = next(reader)
    except StopIteration:
        raise BadManifestError(f"{path}: the manifest is empty (expected a header line with "
                               f"{', '.join(REQUIRED_COLUMNS)})", line=1) from None
    except csv.Error as exc:
        raise BadManifestError(f"{where(1)}: {exc}", line=1) from None

    def records():
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise BadManifestError(f"{where(reader.line_num)}: {exc}", line=reader.line_num) from None
            if not rec or all(not f.strip() for f in rec):
                continue
            yield reader.line_num, rec

    return _table_rows(header, records(), root=os.path.dirname(os.path.abspath(path)), where=where)


def _read_frame(df: "pd.DataFrame", root: str | None) -> Manifest:
    where = _Where("manifest DataFrame", "row")
    recs = ((i + 1, list(row)) for i, row in enumerate(df.itertuples(index=False, name=None)))
    return _table_rows([str(c) for c in df.columns], recs, root=os.path.abspath(root or os.getcwd()), where=where)


# ------------------------------------------------------------------------------- folder layout

def _read_folder(root: str) -> Manifest:
    """``ROOT/SUBJECT/SESSION.jpg`` with masks ``SESSION.lesion.png`` or ``lesion.png`` beside them."""
    root = os.path.abspath(root)
    subjects = []
    for name in sorted(os.listdir(root), key=natural_key):
        d = os.path.join(root, name)
        if name.startswith((".", "_")) or not os.path.isdir(d):
            continue
        sessions: dict[str, str] = {}
        session_masks: dict[str, dict[str, str]] = {}
        subject_masks: dict[str, str] = {}
        for fn in sorted(os.listdir(d), key=natural_key):
            full = os.path.join(d, fn)
            stem, suffix = os.path.splitext(fn)
            if fn.startswith(".") or suffix.lower() not in IMAGE_SUFFIXES or not os.path.isfile(full):
                continue
            head, _, kind = stem.rpartition(".")
            if stem.lower() in MASK_KINDS:
                kind = stem.lower()
                if kind in subject_masks:
                    raise BadManifestError(f"{d}: two {kind} masks: {subject_masks[kind]} and {full}")
                subject_masks[kind] = full
            elif head and kind.lower() in MASK_KINDS:
                m = session_masks.setdefault(head, {})
                if kind.lower() in m:
                    raise BadManifestError(f"{d}: two {kind.lower()} masks for session '{head}': {m[kind.lower()]} and {full}")
                m[kind.lower()] = full
            else:
                if stem in sessions:
                    raise BadManifestError(f"{d}: duplicate subject/session: session '{stem}' of subject '{name}' "
                                           f"has two photos: {sessions[stem]} and {full}")
                sessions[stem] = full
        if not sessions:
            raise BadManifestError(f"{d}: subject folder '{name}' has no photo ({', '.join(IMAGE_SUFFIXES)})")
        for head in session_masks:
            if head not in sessions:
                raise BadManifestError(f"{d}: mask for session '{head}' but no photo {head}.jpg (or another image suffix)")
        labels = list(sessions)
        dates = {lab: _parse_date(lab) for lab in labels}
        use_dates = all(v is not None for v in dates.values())
        if use_dates:
            labels.sort(key=lambda lab: dates[lab])
        base = labels[0]
        masks = {**subject_masks, **session_masks.get(base, {})}
        photos = []
        for lab in labels:
            m = masks if lab == base else {}
            photos.append(Photo(session=lab, image=sessions[lab], date=_iso(dates[lab]) if use_dates else "",
                                roi=m.get("roi"), lesion=m.get("lesion"), reference=m.get("reference")))
        subjects.append(SubjectSeries(name, tuple(photos)))
    if not subjects:
        raise BadManifestError(f"{root}: no subject folders (expected ROOT/SUBJECT/SESSION.jpg)")
    return Manifest(tuple(subjects), root)


# -------------------------------------------------------------------------------------- public

def read_manifest(manifest: Any, *, root: str | os.PathLike | None = None) -> Manifest:
    """Read and validate a batch manifest.

    Parameters
    ----------
    manifest : path, pandas.DataFrame or Manifest
        A CSV file (comma, semicolon or tab separated, UTF-8) with the columns
        ``subject, session, [date], image, [roi, lesion, reference], [pixel_size_mm],
        [baseline]``; a DataFrame with the same columns; or a folder in the layout
        ``ROOT/SUBJECT/SESSION.jpg`` (masks ``SESSION.lesion.png`` or ``lesion.png``
        beside the photos; see ``docs/batch.md``).
    root : path, optional
        Folder that relative paths of a DataFrame manifest resolve against (default:
        the current directory). Relative paths of a CSV resolve against the CSV's folder.

    Returns
    -------
    Manifest
        Subjects in first-appearance order; each series in date order (file order
        without dates), baseline first.

    Raises
    ------
    BadManifestError
        Missing column, empty required value, missing file, duplicate subject/session,
        unparsable date, non-numeric pixel size, bad baseline flag, two baselines. The
        message names the line (CSV; the header is line 1) or row (DataFrame) and the
        column; :attr:`BadManifestError.line` and ``.column`` hold them.
    """
    if isinstance(manifest, Manifest):
        return manifest
    try:
        import pandas as pd

        if isinstance(manifest, pd.DataFrame):
            return _read_frame(manifest, None if root is None else os.fspath(root))
    except ImportError:  # pragma: no cover
        pass
    if isinstance(manifest, (str, os.PathLike)):
        p = os.fspath(manifest)
        if os.path.isdir(p):
            return _read_folder(p)
        if not os.path.exists(p):
            raise BadManifestError(f"{p}: manifest not found (expected a CSV file or a folder SUBJECT/SESSION.jpg)")
        return _read_csv(p)
    raise BadManifestError(f"manifest: expected a CSV path, a folder or a pandas DataFrame, got {type(manifest).__name__}")
