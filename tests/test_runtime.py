"""Process-wide settings (texturecmp._runtime): library calls hold them only for a block and leave
them as they were, also after an error and with overlapping calls from threads; launchers and
batch workers set them for good."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import cv2
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import texturecmp as tc
from texturecmp import _parallel
from texturecmp._parallel import n_threads
from texturecmp._runtime import keep_heap_memory, one_thread, opencv_serial, single_thread_blas
from texturecmp.batch import _run
from texturecmp.batch._score import SubjectResult
from texturecmp.phantoms import skin_phantom

SRC = Path(__file__).resolve().parents[1] / "src"


def blas_threads() -> list[int]:
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def settings_changed():
    """OpenCV on 3 threads and BLAS on 2 (neither is the 1 the library's blocks set), restored after."""
    prev = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        with threadpool_limits(limits=2, user_api="blas"):
            if blas_threads() != [2] * len(blas_threads()) or not blas_threads():
                pytest.skip("no BLAS that takes 2 threads is loaded")
            yield 3, blas_threads()
    finally:
        cv2.setNumThreads(prev)


def _pair():
    ph = skin_phantom(shape=(240, 320), seed=4)
    follow = skin_phantom(shape=(240, 320), seed=4, treatment=0.3)
    return ph, follow


CALLS = {
    "measure": lambda ph, fol: tc.measure(ph.rgb, lesion=ph.lesion),
    "compare": lambda ph, fol: tc.compare(ph.rgb, fol.rgb, lesion=ph.lesion),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_library_calls_leave_opencv_and_blas_settings_as_they_were(call, settings_changed):
    ph, fol = _pair()
    CALLS[call](ph, fol)
    assert (cv2.getNumThreads(), blas_threads()) == settings_changed


@pytest.mark.parametrize("call", sorted(CALLS))
def test_library_calls_restore_the_settings_after_an_error_inside(call, settings_changed, monkeypatch):
    ph, fol = _pair()
    real, raised = _parallel.n_threads, []

    def failing_inside_the_serial_block() -> int:
        if cv2.getNumThreads() == 1:  # the library's opencv_serial block is open
            raised.append(threading.current_thread().name)
            raise RuntimeError("an error inside the block")
        return real()

    monkeypatch.setattr(_parallel, "n_threads", failing_inside_the_serial_block)
    with pytest.raises(RuntimeError, match="inside the block"):
        CALLS[call](ph, fol)
    assert raised  # the error did come from inside the block
    assert (cv2.getNumThreads(), blas_threads()) == settings_changed


def _fake_scoring(seen: list, fail: bool):
    def score_subject(task):
        seen.append((cv2.getNumThreads(), blas_threads(), n_threads()))
        if fail:
            raise RuntimeError("a defect while scoring")
        return SubjectResult([])
    return score_subject


@pytest.mark.parametrize("fail", [False, True])
def test_batch_scoring_in_this_process_runs_on_one_thread_and_restores_the_settings(fail, settings_changed, monkeypatch):
    seen: list = []
    monkeypatch.setattr(_run, "score_subject", _fake_scoring(seen, fail))
    results = []
    if fail:
        with pytest.raises(RuntimeError, match="a defect"):
            _run.run_tasks(["task"], jobs=1, scheduler=None, on_result=lambda t, r: results.append(r))
    else:
        _run.run_tasks(["task"], jobs=1, scheduler=None, on_result=lambda t, r: results.append(r))
        assert len(results) == 1
    blas_libs = len(settings_changed[1])
    assert seen == [(1, [1] * blas_libs, 1)]
    assert (cv2.getNumThreads(), blas_threads()) == settings_changed


def test_opencv_serial_switches_opencv_off_keeps_the_pool_and_restores_the_setting():
    prev = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        pool = n_threads()
        with opencv_serial():
            assert cv2.getNumThreads() == 1
            assert n_threads() == pool  # the strips still spread over the cores
            with opencv_serial():  # nested: nothing changes
                assert cv2.getNumThreads() == 1
            assert cv2.getNumThreads() == 1
        assert cv2.getNumThreads() == 2
        with pytest.raises(KeyError), opencv_serial():
            raise KeyError("an error inside still restores the setting")
        assert cv2.getNumThreads() == 2
        cv2.setNumThreads(1)  # a caller's setting of one thread: the strips stay serial
        with opencv_serial():
            assert n_threads() == 1
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(prev)


def test_overlapping_opencv_serial_blocks_from_threads_restore_once_the_last_ends():
    prev = cv2.getNumThreads()
    inside, release = threading.Barrier(3), threading.Event()
    seen = []

    def worker():
        with opencv_serial():
            inside.wait()
            release.wait()
            seen.append(cv2.getNumThreads())

    try:
        cv2.setNumThreads(2)
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        inside.wait()  # both blocks are open
        assert cv2.getNumThreads() == 1
        release.set()
        for t in threads:
            t.join()
        assert seen == [1, 1]  # neither saw the setting restored while the other was inside
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(prev)


def test_one_thread_outlasts_a_serial_block_that_ends_first_in_another_thread(settings_changed):
    """A batch scoring in one thread while an app session's compare ends in another keeps one thread."""
    n_blas = len(settings_changed[1])
    opened, closed = threading.Event(), threading.Event()
    seen = []

    def session():
        with opencv_serial():
            opened.set()
            closed.wait()

    t = threading.Thread(target=session)
    t.start()
    opened.wait()
    with one_thread():
        closed.set()
        t.join()  # the other thread's block has ended
        seen.append((cv2.getNumThreads(), blas_threads(), n_threads()))
        with single_thread_blas():
            pass
        seen.append((cv2.getNumThreads(), blas_threads(), n_threads()))
    assert seen == [(1, [1] * n_blas, 1)] * 2
    assert (cv2.getNumThreads(), blas_threads()) == settings_changed


def test_single_thread_blas_restores_each_library(settings_changed):
    with single_thread_blas():
        assert blas_threads() == [1] * len(settings_changed[1])
        assert cv2.getNumThreads() == 3  # OpenCV is not touched
    assert blas_threads() == settings_changed[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_heap_memory_sets_glibc_thresholds():
    assert keep_heap_memory(64 << 20) is True
    assert keep_heap_memory() is True  # the CLI, the app and batch workers rely on it


def test_tune_worker_sets_one_thread_for_good_and_blocks_do_not_undo_it():
    script = textwrap.dedent("""
        import cv2, json
        from threadpoolctl import threadpool_info
        from texturecmp._parallel import n_threads
        from texturecmp._runtime import one_thread, opencv_serial, tune_worker

        def state():
            return [cv2.getNumThreads(), [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"],
                    n_threads()]

        cv2.setNumThreads(2)
        tune_worker()
        tune_worker()  # a Dask worker calls it for every task
        out = [state()]
        with opencv_serial():
            pass
        with one_thread():
            pass
        out.append(state())
        print(json.dumps(out))
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out[0] == out[1]
    assert out[0][0] == 1 and set(out[0][1]) <= {1} and out[0][2] == 1


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_process_tuning_lives_in_runtime_only():
    """No import cycle batch._run <-> batch._score (the tuning was reached through _run), the UI
    reaches the launcher tuning only, and the top-level API has none of it."""
    pkg = SRC / "texturecmp"
    assert "texturecmp.batch._run" not in _imports(pkg / "batch" / "_score.py")
    assert "texturecmp._runtime" in _imports(pkg / "batch" / "_score.py")
    assert "texturecmp._parallel" not in _imports(pkg / "ui" / "page.py")
    assert not hasattr(tc, "keep_heap_memory") and "keep_heap_memory" not in tc.__all__
    tuning = ("setNumThreads", "threadpool_limits", "mallopt")
    for path in pkg.rglob("*.py"):
        if path.name != "_runtime.py":
            text = path.read_text()
            assert not any(word in text for word in tuning), path
