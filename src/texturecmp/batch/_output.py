"""Batch output: the tidy table's schema, crash-safe writers and readers for csv, jsonl and parquet.

Writing rule: the output is never half-written.

* csv and jsonl: the file is created atomically (temporary file + rename) with its header,
  then each subject's rows are appended in **one** ``write`` followed by ``fsync``. A crash
  can at most leave an incomplete last line, which :func:`read_results` and resume drop.
* parquet: each subject is written to its own part file (temporary + rename) in
  ``OUT.parts/``; at the end (or on Ctrl-C) the parts are combined into ``OUT`` through a
  temporary file and a rename, and the parts folder is removed.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import math
import os
import shutil
import uuid
from typing import TYPE_CHECKING, Any, Sequence

from texturecmp.batch._manifest import natural_key
from texturecmp.batch._score import BOOL_COLUMNS, COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, STRING_COLUMNS
from texturecmp.catalogue import METRICS
from texturecmp.errors import TextureCmpError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["FORMATS", "infer_format", "make_frame", "sort_frame", "read_results", "open_sink", "Sink"]

#: Output formats and the file suffixes that select them.
FORMATS: dict[str, tuple[str, ...]] = {"csv": (".csv",), "jsonl": (".jsonl", ".ndjson"), "parquet": (".parquet", ".pq")}

_METRIC_ORDER = {m: i for i, m in enumerate(METRICS)}


def infer_format(path: str, fmt: str | None) -> str:
    """The output format: ``fmt`` when given, else from the file suffix."""
    if fmt is not None:
        f = str(fmt).lower()
        if f not in FORMATS:
            raise TextureCmpError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        return f
    suffix = os.path.splitext(path)[1].lower()
    for f, sufs in FORMATS.items():
        if suffix in sufs:
            return f
    raise TextureCmpError(f"output {path}: cannot tell the format from the suffix {suffix!r}; use .csv, .jsonl or "
                          ".parquet, or give the format (--format csv|parquet|jsonl)")


def make_frame(rows: Sequence[dict[str, Any]] | None = None, frame: "pd.DataFrame | None" = None) -> "pd.DataFrame":
    """The tidy table with its fixed columns and dtypes (float64, int64, nullable boolean, str)."""
    import pandas as pd

    df = pd.DataFrame(list(rows or []), columns=list(COLUMNS)) if frame is None else frame.reindex(columns=list(COLUMNS))
    for c in FLOAT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64") if df[c].dtype != "float64" else df[c]
    for c in INT_COLUMNS:
        df[c] = df[c].astype("int64")
    for c in BOOL_COLUMNS:
        col = df[c].map(lambda v: pd.NA if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v == ""
                        else (v if isinstance(v, bool) else str(v).strip().lower() in ("true", "1")))
        df[c] = col.astype("boolean")
    for c in STRING_COLUMNS:
        memo: dict[str, str] = {}  # one object per distinct string: the table repeats each one ~40 times
        df[c] = pd.Series([memo.setdefault(t, t) for t in (
            "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v) for v in df[c])],
            index=df.index, dtype=object)
    return df


def sort_frame(df: "pd.DataFrame") -> "pd.DataFrame":
    """Canonical row order: subject (natural order), session index, metric (catalogue order)."""
    if df.empty:
        return df.reset_index(drop=True)
    keys = df["subject"].map(natural_key)
    order = sorted(range(len(df)), key=lambda i: (keys.iat[i], df["subject"].iat[i], int(df["index"].iat[i]),
                                                   _METRIC_ORDER.get(df["metric"].iat[i], 1 << 30), df["metric"].iat[i]))
    return df.iloc[order].reset_index(drop=True)


# ------------------------------------------------------------------------------------ readers

def _complete_size(path: str) -> int:
    """Bytes of the file up to and including its last newline (a crash may leave half a line after it)."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        pos = size
        while pos > 0:
            step = min(65536, pos)
            fh.seek(pos - step)
            chunk = fh.read(step)
            i = chunk.rfind(b"\n")
            if i >= 0:
                return pos - step + i + 1
            pos -= step
    return 0


def _complete_lines(path: str):
    """The file's complete lines, as bytes (streamed: the file is never held whole)."""
    left = _complete_size(path)
    with open(path, "rb") as fh:
        for line in fh:
            if left <= 0:
                return
            left -= len(line)
            if left >= 0:
                yield line


def _read_csv(path: str) -> "pd.DataFrame":
    import pandas as pd

    n = _complete_size(path)
    if n == 0:
        return make_frame([])
    dtypes = {**{c: str for c in STRING_COLUMNS}, **{c: "float64" for c in FLOAT_COLUMNS}, "index": "int64",
              "aligned": object}
    na = {c: [""] for c in FLOAT_COLUMNS + BOOL_COLUMNS}
    # exact float round trip: pandas >= 3 parses floats exactly by default, older versions need "round_trip"
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    try:
        if n == os.path.getsize(path):
            df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=na, encoding="utf-8", **exact)
        else:  # an incomplete last line: read the complete part only
            with open(path, "rb") as fh:
                df = pd.read_csv(io.BytesIO(fh.read(n)), dtype=dtypes, keep_default_na=False, na_values=na,
                                 encoding="utf-8", **exact)
    except (ValueError, pd.errors.ParserError) as exc:
        raise TextureCmpError(f"output {path}: not a texturecmp batch table ({exc})") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise TextureCmpError(f"output {path}: not a texturecmp batch table (missing columns {', '.join(missing)})")
    return make_frame(frame=df)


def _read_jsonl(path: str) -> "pd.DataFrame":
    rows = []
    for n, line in enumerate(_complete_lines(path), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise TextureCmpError(f"output {path}: line {n} is not JSON ({exc})") from None
    return make_frame(rows)


def _read_parquet_files(paths: Sequence[str]) -> "pd.DataFrame":
    import pandas as pd

    frames = [pd.read_parquet(p) for p in paths]
    frames = [f for f in frames if len(f)]
    return make_frame(frame=pd.concat(frames, ignore_index=True)) if frames else make_frame([])


def _parts_dir(path: str) -> str:
    return path + ".parts"


def read_results(path: str | os.PathLike, *, fmt: str | None = None) -> "pd.DataFrame":
    """Read a batch output file back into the tidy table (canonical order, fixed dtypes).

    Parameters
    ----------
    path : path
        A csv, jsonl or parquet file written by :func:`texturecmp.batch.score_batch`.
        For parquet, unfinished part files (``OUT.parts/``, left by an interrupted run)
        are read too. An incomplete last line of csv/jsonl (a crash mid-write) is ignored.
    fmt : {"csv", "jsonl", "parquet"}, optional
        Default: from the suffix.

    Returns
    -------
    pandas.DataFrame
    """
    p = os.fspath(path)
    f = infer_format(p, fmt)
    if f == "parquet":
        files = ([p] if os.path.exists(p) else []) + sorted(glob.glob(os.path.join(_parts_dir(p), "part-*.parquet")))
        df = _read_parquet_files(files)
    elif not os.path.exists(p):
        raise TextureCmpError(f"output {p}: no such file")
    else:
        df = _read_csv(p) if f == "csv" else _read_jsonl(p)
    return sort_frame(df)


# ------------------------------------------------------------------------------------ writers

def _temp_beside(path: str, suffix: str = "") -> tuple[int, str]:
    """Create a new temporary file next to ``path`` (same file system, permissions from the umask)."""
    d, base = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(d, f".{base}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # pragma: no cover
            continue


@contextlib.contextmanager
def _replacing(path: str, suffix: str = ""):
    """Yield ``(fd, tmp)``, a new temporary file beside ``path`` that replaces ``path`` when the
    block succeeds and is removed when it fails (any exception, Ctrl-C included)."""
    fd, tmp = _temp_beside(path, suffix)
    try:
        yield fd, tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _atomic_write(path: str, data: bytes) -> None:
    with _replacing(path) as (fd, _):
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def _csv_text(df: "pd.DataFrame", header: bool) -> str:
    return df.to_csv(index=False, header=header, lineterminator="\n")


def _json_default(v: Any) -> Any:
    if v is None:
        return None
    try:
        import pandas as pd

        if v is pd.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def _jsonl_text(rows: Sequence[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        rec = {c: (None if isinstance(r.get(c), float) and not math.isfinite(r[c]) else r.get(c)) for c in COLUMNS}
        out.append(json.dumps(rec, ensure_ascii=False, allow_nan=False, default=_json_default))
    return "\n".join(out) + "\n" if out else ""


class Sink:
    """Appends each finished subject to the output; see the module docstring for the rules.

    Parameters
    ----------
    path : str
    fmt : {"csv", "jsonl", "parquet"}
    keep : pandas.DataFrame or None
        Rows kept from a previous run (resume). When given and different from the file's
        content, the file is rewritten atomically with exactly these rows first.
    rewrite : bool
        Rewrite the file with ``keep`` (resume found rows to drop) or start it fresh.
    """

    def __init__(self, path: str, fmt: str, keep: "pd.DataFrame | None", rewrite: bool):
        self.path = os.path.abspath(path)
        self.fmt = fmt
        self._fd: int | None = None
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if fmt == "parquet":
            parts = _parts_dir(self.path)
            if rewrite:
                if keep is not None and len(keep):
                    self._write_parquet_atomic(keep, self.path)
                elif os.path.exists(self.path):
                    os.unlink(self.path)
                shutil.rmtree(parts, ignore_errors=True)
            os.makedirs(parts, exist_ok=True)
            return
        if rewrite or not os.path.exists(self.path):
            if fmt == "csv":
                text = _csv_text(keep if keep is not None else make_frame([]), header=True)
            else:
                text = _jsonl_text(keep.to_dict("records")) if keep is not None and len(keep) else ""
            _atomic_write(self.path, text.encode("utf-8"))
        else:
            self._truncate_partial_line()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def _truncate_partial_line(self) -> None:
        size = os.path.getsize(self.path)
        keep = _complete_size(self.path)
        if keep != size:
            with open(self.path, "r+b") as fh:
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())

    @staticmethod
    def _write_parquet_atomic(df: "pd.DataFrame", path: str) -> None:
        with _replacing(path, ".parquet") as (fd, tmp):
            os.close(fd)
            make_frame(frame=df).to_parquet(tmp, index=False)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())

    def write(self, subject: str, rows: Sequence[dict[str, Any]]) -> None:
        """Append one subject's rows as one whole record (one write + fsync, or one part file)."""
        if not rows:
            return
        if self.fmt == "parquet":
            key = hashlib.sha1(subject.encode("utf-8")).hexdigest()[:20]
            self._write_parquet_atomic(make_frame(rows), os.path.join(_parts_dir(self.path), f"part-{key}.parquet"))
            return
        text = _csv_text(make_frame(rows), header=False) if self.fmt == "csv" else _jsonl_text(rows)
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)

    def close(self) -> None:
        """Finish: close the file, or combine the parquet parts into OUT atomically."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.fmt == "parquet":
            parts = _parts_dir(self.path)
            files = sorted(glob.glob(os.path.join(parts, "part-*.parquet")))
            if not files and os.path.exists(self.path):
                shutil.rmtree(parts, ignore_errors=True)
                return
            existing = [self.path] if os.path.exists(self.path) else []
            df = sort_frame(_read_parquet_files(existing + files))
            self._write_parquet_atomic(df, self.path)
            shutil.rmtree(parts, ignore_errors=True)


def open_sink(path: str, fmt: str, *, keep: "pd.DataFrame | None" = None, rewrite: bool = True) -> Sink:
    """Open the output for a batch (see :class:`Sink`)."""
    return Sink(path, fmt, keep, rewrite)
