"""Cached wrappers around the core for the app (the only place the app caches).

Keys are content hashes: a photo's SHA-256, a mask's SHA-256 (shape + packed bits), the
pixel size and the settings hash. Session labels are *not* part of any key: the core is
run with the ids "1", "2", ... and the user's labels are applied when results are shown,
so relabelling (or reordering labels) never recomputes. Uploaded bytes stay in memory.

Pictures for the page are cached as encoded JPEG bytes (:func:`picture`), keyed by what
they show, so a rerun (a relabel, an overlay switch) hands the browser the same bytes
again instead of redrawing and re-encoding them; the page's tables likewise (:func:`table`).
Full-resolution masks and the resolved marks are held in resource caches (read-only
arrays, not copied on every rerun).

Once the photos and the region to measure are known, :func:`prepare_series` starts the
lesion-independent work (:func:`texturecmp.prepare_series`) on a background thread, so that
the results come sooner after the lesion is marked.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

import cv2
import numpy as np
import streamlit as st

import texturecmp as tc
from texturecmp.io import capture_time, image_to_uint8
from texturecmp.regions import resolve_regions
from texturecmp.ui import render

__all__ = ["DISPLAY_MAX_SIDE", "THUMB_WIDTH", "KEEP_MAX_PIXELS", "PhotoInfo", "RegionPreview", "digest",
           "upload_digest", "mask_digest", "photo_info", "decode_photo", "photo_input", "decode_mask", "mask_from_drawing",
           "preview_regions", "skin_region", "with_lesion", "without", "frozen_mask", "chart_calibration", "warm_colour_science", "picture", "data_url", "table", "prepare_series", "Computed", "compute_series"]

#: Long side of photos shown in the page (the core's maps use the same, ``map_max_side``).
DISPLAY_MAX_SIDE = 768
#: Width of the photo thumbnails next to the session labels.
THUMB_WIDTH = 220
#: Decoded 8-bit photos up to this many pixels are kept for the compute (3 bytes a pixel), so
#: it does not decode them again; larger or 16-bit photos are handed to it as bytes.
KEEP_MAX_PIXELS = 16_000_000

T = TypeVar("T")


@dataclass(frozen=True)
class PhotoInfo:
    """A decoded upload: a small uint8 copy and a thumbnail for display, the full size, and the
    decoded photo itself when it is kept for the compute (see :data:`KEEP_MAX_PIXELS`)."""

    sha256: str
    name: str
    width: int
    height: int
    format: str | None
    small: np.ndarray  # uint8 RGB, long side <= DISPLAY_MAX_SIDE
    factor: float  # small / full
    thumb: bytes  # JPEG, THUMB_WIDTH wide
    image: tc.Image | None = None  # read-only pixels; None when not kept
    taken: _dt.datetime | None = None  # EXIF DateTimeOriginal (aware when its offset is known)


@dataclass(frozen=True)
class RegionPreview:
    """The resolved marks on the baseline (full resolution) and their display versions."""

    roi: np.ndarray | None
    lesion: np.ndarray | None
    reference: np.ndarray | None  # the automatic ring when none was given
    small: dict
    lesion_px: int = 0
    reference_px: int = 0


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload_digest(upload) -> str:
    """SHA-256 of an uploaded file's bytes, hashed once per upload (``file_id``), not on every rerun."""
    fid = getattr(upload, "file_id", None)
    if not fid:
        return digest(upload.getvalue())
    memo = st.session_state.setdefault("_upload_sha256", {})
    if fid not in memo:
        memo[fid] = digest(upload.getvalue())
    return memo[fid]


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


def photo_info(sha256: str, data: bytes, name: str) -> PhotoInfo:
    """Decode an upload with the core (raises TextureCmpError): the photo, a small copy and a
    thumbnail for display. No Streamlit call: the page may run it for several uploads at once."""
    img = tc.load_image(data, name=name)
    small, f = _small(img.pixels())
    small = image_to_uint8(small)
    small.flags.writeable = False
    keep = img.rgb8 is not None and img.n_pixels <= KEEP_MAX_PIXELS
    return PhotoInfo(sha256, name, img.width, img.height, img.format, small, f,
                     render.jpeg_bytes(small, max_width=THUMB_WIDTH), img if keep else None,
                     capture_time(data, name=name))


# A resource cache: the same PhotoInfo on every rerun (no pickled copy of the small picture
# or of the decoded photo). The decoded photo goes to the compute (photo_input).
@st.cache_resource(max_entries=8, show_spinner=False)
def decode_photo(sha256: str, _data: bytes, name: str, _made: PhotoInfo | None = None) -> PhotoInfo:
    """:func:`photo_info`, cached by the upload's hash; ``_made``: its result when the page
    already made it (for uploads decoded side by side)."""
    return _made if _made is not None else photo_info(sha256, _data, name)


def photo_input(info: PhotoInfo, data: bytes, position: int) -> tc.Image | bytes:
    """What the compute gets for the photo at ``position`` (1, 2, ...): the kept decoded photo, else its bytes.

    The kept photo is handed over under the name the core gives photos it decodes itself
    (``photo '2'``), so results, warnings and exports are the same either way (and carry no
    file name). Same pixels, no copy.
    """
    img = info.image
    if img is None or img.rgb8 is None:
        return data
    return tc.Image(sha256=img.sha256, source=f"photo '{position}'", format=img.format, bit_depth=img.bit_depth,
                    exif_orientation=img.exif_orientation, rgb8=img.rgb8, icc_profile=img.icc_profile)


def _frozen(mask: np.ndarray) -> tuple[np.ndarray, str]:
    mask.flags.writeable = False
    return mask, mask_digest(mask)


# Masks are full-resolution (12 MB for a 12 MP photo): resource caches hand out the same
# read-only array on every rerun, with its digest, instead of a pickled copy to hash again.
@st.cache_resource(max_entries=16, show_spinner=False)
def decode_mask(sha256: str, _data: bytes, shape: tuple[int, int], name: str) -> tuple[np.ndarray, str]:
    """An uploaded mask image at the baseline's size (raises BadMaskError), read-only, and its :func:`mask_digest`."""
    return _frozen(tc.load_mask(_data, shape=shape, name=name))


@st.cache_resource(max_entries=8, show_spinner=False)
def skin_region(sha256: str, _info: PhotoInfo, _data: bytes) -> tuple[np.ndarray | None, str | None]:
    """The photo's skin (:func:`texturecmp.skin.skin_mask`) at full resolution, read-only, with its
    digest; cached by the photo's hash. (None, None) when the skin is the whole photo (a close-up):
    the core then takes the whole-photo path. Raises BadMaskError when no skin is found."""
    from texturecmp.skin import skin_mask

    img = _info.image if _info.image is not None else tc.load_image(_data, name="photo")
    m = skin_mask(img)
    return (None, None) if m.all() else _frozen(m)


@st.cache_resource(max_entries=16, show_spinner=False)
def with_lesion(key: tuple, _roi: np.ndarray, _lesion: np.ndarray) -> tuple[np.ndarray, str]:
    """The region to measure grown by the lesion (a lesion is skin, even when its colour is
    not the skin's), read-only, with its digest. ``key``: the two masks' digests."""
    if not np.any(_lesion & ~_roi):
        return _roi, key[0]
    return _frozen(np.logical_or(_roi, _lesion))


@st.cache_resource(max_entries=16, show_spinner=False)
def without(key: tuple, _roi: np.ndarray | None, _exclude: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, str]:
    """The region to measure without the pixels of ``_exclude`` (a colour chart is never skin),
    read-only, with its digest; ``_roi`` None is the whole photo. ``key``: the digests."""
    roi = np.ones(shape, bool) if _roi is None else _roi
    return _frozen(roi & ~_exclude)


@st.cache_resource(max_entries=16, show_spinner=False)
def frozen_mask(key: str, _make: Callable[[], np.ndarray]) -> np.ndarray:
    """A mask ``_make()`` draws (named by ``key``), read-only, made once."""
    m = np.asarray(_make(), bool)
    m.flags.writeable = False
    return m


@st.cache_resource(max_entries=16, show_spinner=False)
def chart_calibration(sha256: str, _info: PhotoInfo, _data: bytes, corners: tuple | None, method: str,
                      reference: str):
    """The photo's colour calibration (:func:`texturecmp.chart.calibrate`, at full resolution):
    at the corner patches the user clicked, or (``corners`` None) at the chart found
    automatically. Cached by the photo's hash and those arguments. A refused fit is returned
    too (``ok`` False, with its reasons); raises TextureCmpError on bad corners.

    The automatic search runs on the display copy (long side :data:`DISPLAY_MAX_SIDE`), several
    times sooner than on a 12 MP photo, which the page would wait for on every new baseline;
    its corners, scaled to the full photo, are then refined by nothing but the full-resolution
    patch reading. A chart whose patches are under about 12 px apart on that copy (narrower
    than about a tenth of the photo) is not found there: mark it with four clicks.
    """
    import dataclasses as _dc

    from texturecmp.chart import Calibration, ChartCorners, calibrate, find_chart

    img = _info.image if _info.image is not None else tc.load_image(_data, name="photo")
    if corners:
        return calibrate(img, corners=ChartCorners(corners), method=method, reference=reference)
    found = find_chart(_info.small, reference=reference)
    if found is None:
        return Calibration(False, "no colour chart found: mark its four corner patches by hand",
                           ("no ColorChecker (24 patches, 4 x 6) found in the photo",), method=method,
                           reference=reference, source="auto")
    full = ChartCorners(tuple((x / _info.factor, y / _info.factor) for x, y in found.points))
    cal = calibrate(img, corners=full, method=method, reference=reference)
    return _dc.replace(cal, source="auto", message=cal.message.replace("chart at the given corners", "chart found", 1))


_WARMED = False


def warm_colour_science() -> None:
    """Import colour-science (a slow import) on a background thread the first time a page is drawn,
    so that the first chart the page reads does not wait for it."""
    global _WARMED
    if _WARMED:
        return
    _WARMED = True
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=("colour",), name="texturecmp-warm-colour",
                     daemon=True).start()


@st.cache_resource(max_entries=16, show_spinner=False)
def mask_from_drawing(sha256: str, _alpha: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, str] | None:
    """A drawn shape (the canvas' alpha at display size) at the photo's full size, read-only, with its digest.

    None when nothing is drawn.
    """
    if _alpha is None or not _alpha.any():
        return None
    h, w = shape
    up = cv2.resize(_alpha.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return _frozen(up >= 128)


@st.cache_resource(max_entries=16, show_spinner=False)
def preview_regions(key: tuple, _roi, _lesion, _reference, shape: tuple[int, int], _settings: tc.Settings) -> RegionPreview:
    """Resolve the marks as the core will (default roi, automatic reference ring); raises BadMaskError.

    ``key`` holds the marks' digests and the shape. The masks returned are read-only.
    """
    r = resolve_regions(shape, _roi, _lesion, _reference, _settings)
    h, w = shape
    f = min(1.0, DISPLAY_MAX_SIDE / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    small = {k: (cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool) if m is not None else None)
             for k, m in (("roi", r.roi), ("lesion", r.lesion), ("reference", r.reference))}
    for m in (r.roi, r.lesion, r.reference):
        if m is not None:
            m.flags.writeable = False
    return RegionPreview(r.roi, r.lesion, r.reference, small,
                         int(np.count_nonzero(r.lesion)) if r.lesion is not None else 0,
                         int(np.count_nonzero(r.reference)) if r.reference is not None else 0)


@st.cache_data(max_entries=256, show_spinner=False)
def picture(key: str, _make: Callable[[], np.ndarray], width: int | None = None) -> bytes:
    """JPEG bytes of the picture ``_make()`` draws, at most ``width`` wide; ``key`` names what it shows.

    The page passes these bytes to ``st.image`` (which then neither re-encodes nor resizes
    them), so a rerun costs a cache lookup instead of drawing and encoding the picture.
    """
    return render.jpeg_bytes(_make(), max_width=width)


@st.cache_data(max_entries=64, show_spinner=False)
def data_url(key: str, _make: Callable[[], np.ndarray]) -> str:
    """A JPEG ``data:`` URL of the picture ``_make()`` draws (for the wipe slider and the drawing canvas)."""
    return render.jpeg_data_url(_make())


@st.cache_data(max_entries=64, show_spinner=False)
def table(key: str, _make: Callable[[], T]) -> T:
    """The table ``_make()`` builds (a pandas frame, or a tuple holding one), made once per ``key``
    (which names what it shows). Each call gets its own copy (``st.cache_data`` pickles the result),
    which the page may change, for example to apply the user's session labels."""
    return _make()


def _ids(n: int) -> list[str]:
    """The session ids the core is run with ("1", "2", ...); the page applies the user's labels."""
    return [str(i + 1) for i in range(n)]


#: One background thread prepares series (:func:`prepare_series`) while the user marks the lesion.
_PREPARER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texturecmp-prepare")


@st.cache_resource(max_entries=2, show_spinner=False)
def prepare_series(key: tuple, _photos: Sequence[tc.Image | bytes], _roi, _repeat: bytes | None,
                   pixel_size_mm: float | None, _settings: tc.Settings, _colour: dict | None = None) -> Future:
    """Start :func:`texturecmp.prepare_series` in the background, once the photos and the region to
    measure are known and while the lesion may still be drawn; a Future of the PreparedSeries.

    ``key`` = (photo hashes, roi hash, repeat hash, pixel size, settings hash, colour truth key).
    :func:`compute_series` waits for it and only measures what depends on the lesion. Same labels as
    the compute ("1", "2", ...). ``_colour``: the colour truth's keyword arguments
    (``calibration``, ``colour_reference``; :meth:`texturecmp.ui.colour_view.ColourTruth.core_kwargs`).
    """
    return _PREPARER.submit(tc.prepare_series, list(_photos), labels=_ids(len(_photos)), roi=_roi, baseline_repeat=_repeat,
                            pixel_size_mm=pixel_size_mm, settings=_settings, **(_colour or {}))


@dataclass(frozen=True)
class Computed:
    """A series as :func:`compute_series` measured it, and how long that took (seconds, wall clock,
    including the wait for its preparation)."""

    series: tc.Series
    seconds: float


@st.cache_resource(max_entries=6, show_spinner=False)
def compute_series(key: tuple, _photos: Sequence[tc.Image | bytes], _roi, _lesion, _reference, _repeat: bytes | None,
                   pixel_size_mm: float | None, _settings: tc.Settings, _prepared: Future | None = None,
                   _colour: dict | None = None) -> Computed:
    """Run the core on full-resolution photos (:func:`photo_input`). ``key`` = (photo hashes, mask hashes, repeat hash,
    settings hash, colour truth key); ``_colour``: the colour truth's keyword arguments (as for
    :func:`prepare_series`).

    With ``_prepared`` (:func:`prepare_series` of the same photos, roi, repeat, pixel size and
    settings) only the lesion-dependent work is left (``PreparedSeries.compare``, the same
    numbers). If the preparation failed, the full run raises the error for the page to show.
    A resource cache (the Series holds read-only mappings and large maps; it is not copied
    per rerun). Labels are the ids "1", "2", ...; the page applies the user's labels.
    """
    t0 = time.perf_counter()
    prepared = None
    if _prepared is not None:
        try:
            prepared = _prepared.result()
        except (tc.errors.TextureCmpError, MemoryError):
            prepared = None  # compare_series raises it again, where the page catches it
    if prepared is not None:
        series = prepared.compare(lesion=_lesion, reference=_reference)
    else:
        series = tc.compare_series(list(_photos), labels=_ids(len(_photos)), roi=_roi, lesion=_lesion,
                                   reference=_reference, baseline_repeat=_repeat, pixel_size_mm=pixel_size_mm,
                                   settings=_settings, **(_colour or {}))
    return Computed(series, time.perf_counter() - t0)
