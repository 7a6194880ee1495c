"""Row-strip parallelism for the full-resolution passes (private).

A 12 MP float32 field is 48 MB: a chain of elementwise operations on whole fields runs
at memory speed and page-faults a fresh array per step. The families instead run their
full-resolution work on horizontal strips of :data:`STRIP_ROWS` rows (plus a halo for
filters), where every intermediate fits in the CPU cache, and spread the strips over a
small thread pool (NumPy ufuncs and OpenCV release the GIL).

The strips are fixed by the image size alone, never by the number of threads, and
per-strip results are combined in strip order: results are bit-identical whatever the
number of threads (the batch's numbers must not depend on its worker count).

The pool size follows ``cv2.getNumThreads()`` (and the CPU affinity), so a caller that sets
OpenCV to one thread also runs the strips in its own thread; inside
:func:`texturecmp._runtime.one_thread` (a batch worker) they run serially too.

While the strips run, measure and compare switch OpenCV's own thread pool off
(:func:`texturecmp._runtime.opencv_serial`): each strip is already one core's work.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Sequence

import cv2
import numpy as np

from texturecmp._runtime import strip_threads

__all__ = ["STRIP_ROWS", "n_threads", "pool_map", "row_spans", "map_rows", "enlarge_rows", "down_rows", "sum_parts"]

STRIP_ROWS = 64

_POOL: ThreadPoolExecutor | None = None
_POOL_N = 0
_LOCK = threading.Lock()
_LOCAL = threading.local()


def _reset_after_fork() -> None:  # a pool inherited through fork has no threads
    global _POOL, _POOL_N
    _POOL, _POOL_N = None, 0


os.register_at_fork(after_in_child=_reset_after_fork)


def n_threads() -> int:
    """Threads for strip work: :func:`texturecmp._runtime.strip_threads` (OpenCV's thread setting
    outside the serial blocks), capped by the CPUs this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, strip_threads()))


def _pool(n: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_N
    with _LOCK:
        if _POOL is None or _POOL_N != n:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL, _POOL_N = ThreadPoolExecutor(max_workers=n, thread_name_prefix="texturecmp"), n
        return _POOL


def _run_marked(fn: Callable[[Any], Any], item: Any) -> Any:
    _LOCAL.inside = True
    try:
        return fn(item)
    finally:
        _LOCAL.inside = False


def pool_map(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """``[fn(x) for x in items]`` on the strip pool (in order); serial inside a pool task or with one thread."""
    items = list(items)
    n = n_threads()
    if n <= 1 or len(items) <= 1 or getattr(_LOCAL, "inside", False):
        return [fn(x) for x in items]
    return list(_pool(n).map(lambda x: _run_marked(fn, x), items))


def row_spans(h: int, rows: int = STRIP_ROWS) -> list[tuple[int, int]]:
    """Consecutive (y0, y1) strips of ``rows`` rows covering 0..h (the last may be shorter)."""
    return [(y, min(h, y + rows)) for y in range(0, h, rows)]


def map_rows(fn: Callable[[int, int], Any], h: int, rows: int = STRIP_ROWS) -> list[Any]:
    """``fn(y0, y1)`` over the strips of an image of height h, in threads; results in strip order."""
    return pool_map(lambda s: fn(*s), row_spans(h, rows))


def sum_parts(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Add per-strip dicts of arrays key by key, in strip order (deterministic)."""
    out: dict[str, np.ndarray] = {}
    for p in parts:
        for k, v in p.items():
            out[k] = v.copy() if k not in out else out[k] + v
    return out


def enlarge_rows(small: np.ndarray, k: int, y0: int, y1: int, w: int) -> np.ndarray:
    """Rows y0..y1 (all w columns) of the bilinear k-fold enlargement of ``small``.

    ``small`` is a field area-downsampled by the integer k (pixel i covers full-resolution
    pixels k*i .. k*i+k-1), so full-resolution pixel y sits at (y + 0.5) / k - 0.5 in it;
    beyond its last pixel the value is held (clamped), as at the first. Equal to the
    matching rows of ``cv2.resize(small, (sw * k, sh * k), interpolation=INTER_LINEAR)``,
    extended by the last row or column, but computed only for the strip.
    """
    if k == 1:
        out = small[y0:y1]
    else:
        sh, sw = small.shape[:2]
        H = sh * k
        lo = max(0, int((y0 + 0.5) / k - 0.5))
        top = min(y1, H)
        if top > y0:
            hi = min(sh, int((top - 0.5) / k - 0.5) + 2)
            up = cv2.resize(small[lo:hi], (sw * k, (hi - lo) * k), interpolation=cv2.INTER_LINEAR)
            out = up[y0 - lo * k: top - lo * k]
            if y1 > top:  # rows below the downsampled area hold the last row
                out = np.concatenate([out, np.repeat(up[-1:], y1 - top, axis=0)], axis=0)
        else:
            last = cv2.resize(small[sh - 1:sh], (sw * k, 1), interpolation=cv2.INTER_LINEAR)
            out = np.repeat(last, y1 - y0, axis=0)
    if out.shape[1] < w:
        out = cv2.copyMakeBorder(np.ascontiguousarray(out), 0, 0, 0, w - out.shape[1], cv2.BORDER_REPLICATE)
    elif out.shape[1] > w:
        out = out[:, :w]
    return out


def down_rows(block: np.ndarray, y0: int, k: int, out: np.ndarray) -> None:
    """Write the exact k x k box means of a strip into ``out``, a field area-downsampled by k.

    ``block`` holds image rows y0 .. y0 + len(block) (y0 a multiple of k, as the strips of
    :func:`map_rows` with a multiple of k rows are); ``out`` row i is the mean of image rows
    k*i .. k*i+k-1 and of columns likewise. Rows and columns beyond the last full box
    are dropped, as in :func:`texturecmp._filters.down_exact`.
    """
    a, b = y0 // k, min(out.shape[0], (y0 + len(block)) // k)
    if b <= a:
        return
    sub = block[a * k - y0:b * k - y0, : out.shape[1] * k]
    out[a:b] = sub if k == 1 else cv2.resize(sub, (out.shape[1], b - a), interpolation=cv2.INTER_AREA)
