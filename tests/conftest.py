"""Shared fixtures of the core test-suite: cached phantoms, shared comparisons, data paths.

Phantoms are rendered once per process (``functools.lru_cache``) and handed out with
read-only pixel arrays (rgb), so that a test (or the library) that writes into them fails
loudly instead of silently changing what later tests see. Comparisons that several tests
read are session-scoped fixtures.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import texturecmp as tc
from texturecmp.phantoms import Phantom, SkinParams, nuisance_retake, skin_phantom

#: Small phantoms: fast, for everything that does not depend on the capture model.
SMALL = (384, 512)
#: The phantoms' native size (about 0.05 mm per pixel); the capture model was
#: calibrated on it (scripts/calibrate_capture.py), so verdict-dependent tests use it.
NATIVE = (768, 1024)

#: Treatment strengths of the follow-ups of the treatment series (baseline k = 0).
TREATMENTS = (0.2, 0.4, 0.6)
#: Realistic nuisances of each follow-up (exposure, shift (dx, dy) px, rotation deg).
TREATMENT_NUISANCES = (
    (1.05, (2.5, -1.5), 0.4),
    (0.97, (-3.0, 2.0), -0.3),
    (1.03, (1.5, 3.0), 0.6),
)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_images"


def _freeze(ph: Phantom) -> Phantom:
    # The lesion mask stays writable: measure() currently writes into the caller's mask
    # (see test_regions.py::test_measure_accepts_read_only_masks), which would make every
    # test with a lesion fail on that one bug; tests that pass a roi pass a copy.
    ph.rgb.flags.writeable = False
    return ph


@lru_cache(maxsize=None)
def phantom(shape: tuple[int, int] = SMALL, seed: int = 0, *, treatment: float = 0.0, exposure: float = 1.0,
            shift: tuple[float, float] = (0.0, 0.0), rotation: float = 0.0, noise_seed: int | None = None,
            fine_amplitude: float | None = None) -> Phantom:
    """A cached, read-only skin phantom (see texturecmp.phantoms.skin_phantom)."""
    params = SkinParams() if fine_amplitude is None else SkinParams(fine_amplitude=fine_amplitude)
    return _freeze(skin_phantom(shape, seed=seed, params=params, treatment=treatment, exposure=exposure,
                                shift_px=shift, rotation_deg=rotation, noise_seed=noise_seed))


@lru_cache(maxsize=None)
def retake(seed: int, shape: tuple[int, int] = NATIVE, level: str = "mild", variant: int = 0) -> tuple[Phantom, Phantom]:
    """A cached, read-only nuisance-only (baseline, retake) pair."""
    b, r = nuisance_retake(seed, shape=shape, level=level, variant=variant)
    return _freeze(b), _freeze(r)


@lru_cache(maxsize=None)
def measured(shape: tuple[int, int] = SMALL, seed: int = 0, *, lesion: bool = True) -> tc.Measurement:
    """measure() of an untreated phantom (with its lesion unless told otherwise), cached."""
    ph = phantom(shape, seed)
    return tc.measure(ph.rgb, lesion=ph.lesion if lesion else None)


def series_photos() -> tuple[Phantom, list, object]:
    """A small series (baseline, two treated follow-ups with nuisances) and a baseline repeat:
    (baseline phantom, [baseline, follow-up 1, follow-up 2] pixels, repeat pixels)."""
    base = phantom(SMALL, 3)
    fus = [phantom(SMALL, 3, treatment=0.4, exposure=1.08, shift=(6.0, -4.0), rotation=0.7),
           phantom(SMALL, 3, treatment=0.6, exposure=0.95, shift=(-5.0, 3.0), rotation=-0.4)]
    repeat = phantom(SMALL, 3, shift=(2.0, 1.0), rotation=0.2)
    return base, [base.rgb] + [f.rgb for f in fus], repeat.rgb


def assert_same_comparison(a: tc.Comparison, b: tc.Comparison) -> None:
    """Every value, uncertainty, verdict, warning and provenance, and every map, equal (bit for bit)."""
    assert a.to_dict() == b.to_dict()
    assert a.maps.keys() == b.maps.keys()
    for k in a.maps:
        np.testing.assert_array_equal(a.maps[k], b.maps[k])


def finite(x: float) -> bool:
    return x is not None and math.isfinite(x)


def photo_metrics() -> list[str]:
    return [n for n, m in tc.METRICS.items() if m.scope == "photo"]


# ----------------------------------------------------------------------------- fixtures

def find_shared() -> Path | None:
    """The shared data folder: ``../shared`` next to the repository (CI), else /work/shared."""
    for cand in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")):
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder; skips the test when it is missing."""
    d = find_shared()
    if d is None:
        pytest.skip("shared data folder not found (expected ../shared next to the repository or /work/shared)")
    return d


@pytest.fixture(scope="session")
def small_phantom() -> Phantom:
    return phantom(SMALL, 0)


@pytest.fixture(scope="session")
def treatment_series() -> tc.Series:
    """Seed-0 skin at its native size: baseline k = 0 and follow-ups k = 0.2, 0.4, 0.6, each retaken
    with its own small misalignment, exposure change and sensor noise."""
    base = phantom(NATIVE, 0)
    fus = [phantom(NATIVE, 0, treatment=k, exposure=e, shift=s, rotation=r)
           for k, (e, s, r) in zip(TREATMENTS, TREATMENT_NUISANCES)]
    return tc.compare_series([base.rgb] + [f.rgb for f in fus], lesion=base.lesion,
                             labels=["k0", "k0.2", "k0.4", "k0.6"])


@pytest.fixture(scope="session")
def mild_retake_comparison() -> tc.Comparison:
    """A nuisance-only retake (level "mild", held-out scene seed) at the native size."""
    b, r = retake(1001, NATIVE, "mild", 101)
    return tc.compare(b.rgb, r.rgb, lesion=b.lesion)


@pytest.fixture(scope="session")
def sample_retake_comparison() -> tc.Comparison:
    """The shipped sample_images/retake_pair, compared from its files."""
    d = SAMPLES / "retake_pair"
    if not (d / "baseline.jpg").is_file():
        pytest.skip("sample_images/retake_pair is missing")
    return tc.compare(d / "baseline.jpg", d / "retake.jpg", lesion=d / "lesion.png")


def json_paths(x, prefix=()):
    """Every (path, value) in a JSON value (records tests): the path is a tuple of keys and indices."""
    yield prefix, x
    if isinstance(x, dict):
        for k, v in x.items():
            yield from json_paths(v, prefix + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from json_paths(v, prefix + (i,))


def astronaut_with_smoothed_face():
    """scikit-image's astronaut and a copy with its face skin smoothed (Gaussian, sigma 1 px)
    inside the face (an ellipse set here; hair, neck and the backdrop untouched): uint8 RGB."""
    import cv2
    import numpy as np
    from skimage import data

    from texturecmp.skin import skin_mask

    a = data.astronaut()
    face = np.zeros(a.shape[:2], np.uint8)
    cv2.ellipse(face, (225, 125), (38, 50), 0, 0, 360, 1, -1)
    skin = skin_mask(a) & face.astype(bool)
    b = a.copy()
    b[skin] = cv2.GaussianBlur(a, (0, 0), 1.0)[skin]
    return a, b
