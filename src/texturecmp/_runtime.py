"""Process-wide settings: OpenCV's and BLAS's thread counts, glibc's heap (private).

These settings belong to the whole process, not to one call, so every place that touches
them is here:

- **Library code** holds a setting only for the length of a ``with`` block:
  :func:`opencv_serial` (``measure`` and ``compare``, while the strips run),
  :func:`one_thread` (the batch scoring in the caller's process) and
  :func:`single_thread_blas`. Blocks are counted across threads: the first block to start,
  in any thread, saves the setting and changes it; the last one to end restores it, also
  when a block ends by an exception. Overlapping calls from several threads (two app
  sessions, a caller's own threads) are safe; code elsewhere in the process sees the
  held setting meanwhile.
- **Launchers**, the processes texturecmp owns, set them for good at start:
  :func:`tune_launcher` (the CLI and the app's server) and :func:`tune_worker` (batch
  worker processes, Dask tasks).

A process forked inside a block keeps the block's settings (the threads that would end
the block are not in the child).

glibc's thresholds are set with ``mallopt`` through ctypes: no well-kept library wraps it
(threadpoolctl and psutil do not; the PyPI ``glibc`` bindings, ctypes too, are unmaintained
since 2014; Dask sets malloc variables only in the environment of the workers it spawns,
``distributed.nanny.pre-spawn-environ``, which the running process cannot change).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from typing import Any, Callable, Iterator

import cv2

__all__ = ["opencv_serial", "one_thread", "single_thread_blas", "strip_threads", "keep_heap_memory",
           "tune_launcher", "tune_worker"]


class _Held:
    """A process-wide setting held while any block of any thread asks for it.

    ``apply()`` changes the setting and returns what ``restore`` needs to undo it; it runs
    when the first block starts, ``restore`` when the last block ends.
    """

    def __init__(self, apply: Callable[[], Any], restore: Callable[[Any], None]):
        self._apply, self._restore = apply, restore
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: Any = None

    def acquire(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._saved = self._apply()
            self._depth += 1

    def release(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                saved, self._saved = self._saved, None
                self._restore(saved)

    def saved(self) -> tuple[bool, Any]:
        """(held, what ``apply`` returned): the setting as it was before the first block."""
        with self._lock:
            return self._depth > 0, self._saved

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a thread of the parent may have held it


def _opencv_one() -> int:
    n = cv2.getNumThreads()
    if n != 1:
        cv2.setNumThreads(1)
    return n


def _opencv_back(n: int) -> None:
    if n != 1:
        cv2.setNumThreads(n)


def _blas_one() -> Any:
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


_OPENCV = _Held(_opencv_one, _opencv_back)
_STRIPS = _Held(lambda: None, lambda _: None)  # no library setting: read by strip_threads()
_BLAS = _Held(_blas_one, lambda limiter: limiter.restore_original_limits())
os.register_at_fork(after_in_child=lambda: [h._after_fork() for h in (_OPENCV, _STRIPS, _BLAS)])


@contextlib.contextmanager
def _holding(*holds: _Held) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for h in holds:
            h.acquire()
            stack.callback(h.release)
        yield


def opencv_serial() -> contextlib.AbstractContextManager[None]:
    """Run the block with OpenCV on one thread; the strip pool keeps its size (:func:`strip_threads`).

    Each strip is already one core's work: OpenCV splitting it again only adds dispatch and
    spin-waiting.
    """
    return _holding(_OPENCV)


def single_thread_blas() -> contextlib.AbstractContextManager[None]:
    """Run the block with every loaded BLAS library on one thread (threadpoolctl).

    BLAS sums long vectors in an order that depends on its thread count; a batch's numbers
    must not.
    """
    return _holding(_BLAS)


def one_thread() -> contextlib.AbstractContextManager[None]:
    """Run the block on one thread: OpenCV, BLAS and the strip pool, as in a batch worker process."""
    return _holding(_OPENCV, _BLAS, _STRIPS)


def strip_threads() -> int:
    """The thread count the strip pool may use: 1 inside :func:`one_thread`, else OpenCV's setting
    as it is outside :func:`opencv_serial` blocks (``cv2.setNumThreads`` is the caller's knob)."""
    if _STRIPS.saved()[0]:
        return 1
    held, n = _OPENCV.saved()
    return int(n) if held else cv2.getNumThreads()


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def keep_heap_memory(limit_bytes: int = 256 << 20) -> bool:
    """Let glibc reuse freed heap memory for arrays up to ``limit_bytes`` (Linux; else a no-op).

    By default glibc serves every array over 32 MB (a 12 MP float32 field is 48 MB) from a
    fresh ``mmap`` whose pages fault in on first touch, and hands it back when freed: each
    photo pays 0.2-0.5 s of kernel time for page faults (more in a virtual machine). Dask's
    nanny makes it worse (``MALLOC_TRIM_THRESHOLD_=65536`` freezes the mmap threshold at
    128 KB, so even the 1 MB strip temporaries fault in: twice the CPU per photo). Raising
    both thresholds keeps freed memory, up to ``limit_bytes``, for the next photo.

    Process-wide and for good: only launchers call it. Returns whether the setting was applied.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, ctypes.c_int(min(limit_bytes, 1 << 30)))
                    and libc.mallopt(_M_TRIM_THRESHOLD, ctypes.c_int(limit_bytes)))
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False


def tune_launcher() -> None:
    """At the start of a process texturecmp owns (the CLI, the app's server): freed arrays stay
    for the next photo (:func:`keep_heap_memory`). Idempotent."""
    keep_heap_memory()


_WORKER_LOCK = threading.Lock()
_WORKER_TUNED = False


def tune_worker() -> None:
    """At the start of a batch worker process or Dask task, for good: OpenCV, BLAS and the strip
    pool on one thread (the processes share the cores, and a batch's numbers must not depend on
    threads), and freed arrays kept for the next photo. Idempotent.

    The thread settings are held like a block that never ends, so no library block that ends
    meanwhile in another thread of the worker can undo them.
    """
    global _WORKER_TUNED
    with _WORKER_LOCK:
        if not _WORKER_TUNED:
            for h in (_OPENCV, _BLAS, _STRIPS):
                h.acquire()
            _WORKER_TUNED = True
    tune_launcher()
