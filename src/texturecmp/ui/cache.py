"""Cached wrappers around the core for the app (the only place the app caches).

Keys are content hashes: a photo's SHA-256, a mask's SHA-256 (shape + packed bits), the
pixel size and the settings hash. Session labels are *not* part of any key: the core is
run with the ids "1", "2", ... and the user's labels are applied when results are shown,
so relabelling (or reordering labels) never recomputes. Uploaded bytes stay in memory.

``COMPUTE_CALLS`` counts real runs of :func:`compute_series` (tests read it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import streamlit as st

import texturecmp as tc
from texturecmp.io import image_to_uint8

__all__ = ["DISPLAY_MAX_SIDE", "PhotoInfo", "RegionPreview", "digest", "mask_digest", "decode_photo", "decode_mask",
           "mask_from_drawing", "preview_regions", "compute_series", "COMPUTE_CALLS"]

#: Long side of photos shown in the page (the core's maps use the same, ``map_max_side``).
DISPLAY_MAX_SIDE = 768
#: Number of times the core's compare_series actually ran (cache misses).
COMPUTE_CALLS = 0


@dataclass(frozen=True)
class PhotoInfo:
    """A decoded upload, for display: a small uint8 copy and the full size."""

    sha256: str
    name: str
    width: int
    height: int
    format: str | None
    small: np.ndarray  # uint8 RGB, long side <= DISPLAY_MAX_SIDE
    factor: float  # small / full


@dataclass(frozen=True)
class RegionPreview:
    """The resolved marks on the baseline (full resolution) and their display versions."""

    roi: np.ndarray | None
    lesion: np.ndarray | None
    reference: np.ndarray | None  # the automatic ring when none was given
    small: dict


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mask_digest(mask: np.ndarray | None) -> str | None:
    if mask is None:
        return None
    m = np.ascontiguousarray(mask, dtype=bool)
    return hashlib.sha256(repr(m.shape).encode() + np.packbits(m).tobytes()).hexdigest()


def _small(rgb: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    f = min(1.0, max_side / max(h, w))
    if f < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return rgb, f


@st.cache_data(max_entries=64, show_spinner=False)
def decode_photo(sha256: str, _data: bytes, name: str) -> PhotoInfo:
    """Decode an upload with the core (raises TextureCmpError) and keep a small copy for display."""
    img = tc.load_image(_data, name=name)
    small, f = _small(img.pixels())
    return PhotoInfo(sha256, name, img.width, img.height, img.format, image_to_uint8(small), f)


@st.cache_data(max_entries=32, show_spinner=False)
def decode_mask(sha256: str, _data: bytes, shape: tuple[int, int], name: str) -> np.ndarray:
    """An uploaded mask image at the baseline's size (raises BadMaskError)."""
    return tc.load_mask(_data, shape=shape, name=name)


@st.cache_data(max_entries=32, show_spinner=False)
def mask_from_drawing(sha256: str, _alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """A drawn shape (the canvas' alpha at display size) scaled to the photo's full size; None if nothing drawn."""
    if _alpha is None or not _alpha.any():
        return None
    h, w = shape
    up = cv2.resize(_alpha.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return up >= 128


@st.cache_data(max_entries=32, show_spinner=False)
def preview_regions(key: tuple, _roi, _lesion, _reference, shape: tuple[int, int], _settings: tc.Settings) -> RegionPreview:
    """Resolve the marks as the core will (default roi, automatic reference ring); raises BadMaskError."""
    from texturecmp.measure import resolve_regions

    r = resolve_regions(shape, _roi, _lesion, _reference, _settings)
    h, w = shape
    f = min(1.0, DISPLAY_MAX_SIDE / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    small = {k: (cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool) if m is not None else None)
             for k, m in (("roi", r.roi), ("lesion", r.lesion), ("reference", r.reference))}
    return RegionPreview(r.roi, r.lesion, r.reference, small)


@st.cache_resource(max_entries=6, show_spinner=False)
def compute_series(key: tuple, _photos: Sequence[bytes], _roi, _lesion, _reference, _repeat: bytes | None,
                   pixel_size_mm: float | None, _settings: tc.Settings) -> tc.Series:
    """Run the core on full-resolution photos. ``key`` = (photo hashes, mask hashes, repeat hash, settings hash).

    A resource cache (the Series holds read-only mappings and large maps; it is not copied
    per rerun). Labels are the ids "1", "2", ...; the page applies the user's labels.
    """
    global COMPUTE_CALLS
    COMPUTE_CALLS += 1
    labels = [str(i + 1) for i in range(len(_photos))]
    return tc.compare_series(list(_photos), labels=labels, roi=_roi, lesion=_lesion, reference=_reference,
                             baseline_repeat=_repeat, pixel_size_mm=pixel_size_mm, settings=_settings)
