"""Run subject tasks in this process, on local worker processes or on a Dask cluster.

Every backend calls the same :func:`texturecmp.batch._score.score_subject` on the same
tasks, keeps a bounded number of tasks in flight (so the parent holds results of finished
subjects only until they are written) and hands each result to ``on_result`` as soon as
it arrives.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.context
import multiprocessing.spawn
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Sequence

from texturecmp._runtime import one_thread, tune_worker
from texturecmp.batch._score import SubjectResult, Task, failed_rows, score_subject

__all__ = ["run_tasks", "default_jobs"]

OnResult = Callable[[Task, SubjectResult], None]


def default_jobs() -> int:
    """Number of usable cores (CPU affinity when the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover
        return max(1, os.cpu_count() or 1)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent_pid: int) -> None:
    """End this worker process when the process that started it dies, even by ``kill -9``.

    A killed parent cannot shut its pool down: its workers would be re-parented to init and
    live on (with the multiprocessing resource tracker, which waits for them), holding
    memory and the caller's stderr. On Linux the kernel sends SIGKILL at the parent's death
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread also checks once a second
    whether the parent pid is still this process's parent, and exits if not.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent_pid:  # died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="texturecmp-parent-watch", daemon=True).start()


def _init_worker(parent_pid: int) -> None:
    """Worker initialiser: end with the parent (:func:`_die_with_parent`), then the worker's
    process settings (:func:`texturecmp._runtime.tune_worker`)."""
    _die_with_parent(parent_pid)
    tune_worker()


_PREPARE_LOCK = threading.Lock()

if sys.platform != "win32":
    from multiprocessing.popen_spawn_posix import Popen as _SpawnPopen

    class _MainlessPopen(_SpawnPopen):
        """Start a spawned worker without running the parent's ``__main__`` module in it.

        'spawn' re-runs the main script in every worker so that functions defined there can
        be unpickled. The workers only run texturecmp's own functions, and a script calling
        ``score_batch`` at its top level, without an ``if __name__ == "__main__":`` guard,
        would start the batch again in each worker (which multiprocessing refuses: four
        tracebacks and every row "BrokenProcessPool"). The worker gets the parent's
        ``sys.path`` and working directory, not its main module.
        """

        def _launch(self, process_obj: Any) -> None:
            with _PREPARE_LOCK:
                original = multiprocessing.spawn.get_preparation_data

                def without_main(name: str) -> dict[str, Any]:
                    data = original(name)
                    data.pop("init_main_from_path", None)
                    data.pop("init_main_from_name", None)
                    return data

                multiprocessing.spawn.get_preparation_data = without_main
                try:
                    super()._launch(process_obj)
                finally:
                    multiprocessing.spawn.get_preparation_data = original

    class _MainlessProcess(multiprocessing.context.SpawnProcess):
        @staticmethod
        def _Popen(process_obj: Any) -> Any:
            return _MainlessPopen(process_obj)

    class _MainlessSpawnContext(multiprocessing.context.SpawnContext):
        Process = _MainlessProcess

    def _worker_context() -> multiprocessing.context.BaseContext:
        return _MainlessSpawnContext()
else:  # pragma: no cover - Windows: plain spawn (scripts need the guard there)
    def _worker_context() -> multiprocessing.context.BaseContext:
        return multiprocessing.get_context("spawn")


def _crash_result(task: Task, exc: BaseException) -> SubjectResult:
    """Rows of every photo of a subject whose worker died (not a bad photo: the process was lost); no records."""
    msg = f"{type(exc).__name__}: the worker scoring subject '{task.series.subject}' died ({exc})"
    msg = " ".join(msg.split())
    return SubjectResult([r for i, ph in enumerate(task.series.photos)
                          for r in failed_rows(task.series, ph, i, task.settings, msg, task.series.baseline.pixel_size_mm)])


def _run_inline(tasks: Sequence[Task], on_result: OnResult) -> None:
    """Score in this process on one thread (OpenCV, BLAS and the strips), as every worker does:
    some OpenCV reductions split their work by thread, and the last bits must not depend on it.
    The caller's settings are restored after (:func:`texturecmp._runtime.one_thread`)."""
    with one_thread():
        for t in tasks:
            on_result(t, score_subject(t))


def _run_pool(tasks: Sequence[Task], jobs: int, on_result: OnResult) -> None:
    """Local worker processes ('spawn': safe with OpenCV's threads), at most 2 x jobs tasks in flight.

    When a worker process dies (the pool breaks), the tasks in flight are retried once in a
    fresh pool; a task that breaks the pool twice is recorded as failed.
    """
    ctx = _worker_context()
    queue = list(tasks)[::-1]
    attempts: dict[int, int] = {}
    window = 2 * jobs
    while queue:
        ex = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                                 initargs=(os.getpid(),))
        pending: dict[Any, Task] = {}
        broken = False
        try:
            while queue or pending:
                while queue and len(pending) < window and not broken:
                    t = queue.pop()
                    try:
                        pending[ex.submit(score_subject, t)] = t
                    except BrokenProcessPool:
                        queue.append(t)
                        broken = True
                if not pending:
                    break
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for f in done:
                    t = pending.pop(f)
                    try:
                        result = f.result()
                    except BrokenProcessPool as exc:
                        broken = True
                        n = attempts[id(t)] = attempts.get(id(t), 0) + 1
                        if n >= 2:
                            on_result(t, _crash_result(t, exc))
                        else:
                            queue.append(t)
                        continue
                    except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                        result = _crash_result(t, exc)
                    on_result(t, result)
                if broken and not pending:
                    break
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)
            _kill_workers(ex)
            raise
        ex.shutdown(wait=True)


def _kill_workers(ex: ProcessPoolExecutor) -> None:
    """Stop this executor's worker processes now (Ctrl-C: do not wait for the work in flight)."""
    procs = getattr(ex, "_processes", None) or {}
    for p in list(procs.values()):
        try:
            p.terminate()
        except Exception:  # noqa: BLE001  pragma: no cover
            pass


def _run_dask(tasks: Sequence[Task], scheduler: str, jobs: int | None, on_result: OnResult) -> None:
    """A Dask cluster: ``"local"`` starts a LocalCluster of ``jobs`` (default 2) single-thread worker processes."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover
        raise ImportError("scheduler: Dask is not installed; pip install 'texturecmp[distributed]'") from exc
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=jobs or 2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        nthreads = sum(client.nthreads().values()) or 1
        window = 2 * nthreads
        queue = list(tasks)[::-1]
        by_key: dict[str, Task] = {}
        ac = as_completed()

        def submit() -> None:
            t = queue.pop()
            f = client.submit(score_subject, t, pure=False)
            by_key[f.key] = t
            ac.add(f)

        for _ in range(min(window, len(queue))):
            submit()
        for f in ac:
            t = by_key.pop(f.key)
            try:
                result = f.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection...
                result = _crash_result(t, exc)
            f.release()
            on_result(t, result)
            if queue:
                submit()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_tasks(tasks: Sequence[Task], *, jobs: int | None, scheduler: str | None, on_result: OnResult) -> None:
    """Score ``tasks`` and call ``on_result(task, result)`` for each (a :class:`SubjectResult`), in completion order.

    ``jobs`` None: all cores for local processes, 2 workers for ``scheduler="local"``.
    """
    if scheduler is not None:
        _run_dask(tasks, scheduler, jobs, on_result)
        return
    n = jobs or default_jobs()
    if n <= 1 or len(tasks) <= 1:
        _run_inline(tasks, on_result)
    else:
        _run_pool(tasks, min(n, len(tasks)), on_result)
