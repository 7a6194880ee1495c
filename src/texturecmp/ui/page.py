"""The app's single page: collect photos and marks, call the core (through :mod:`.cache`), show results.

Thin on purpose: every number comes from :func:`texturecmp.compare_series`; this module
lays out widgets, catches :class:`texturecmp.errors.TextureCmpError` next to the input that
caused it, and hands pictures and tables to :mod:`.render`. Two tabs: *Compare photos* (with
"Save to records" under the results) and *Subject history*, both in :mod:`.records_view`.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import re
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

import texturecmp as tc
from texturecmp._runtime import tune_launcher
from texturecmp.catalogue import FAMILIES, METRICS
from texturecmp.errors import AlignmentError, BadMaskError, MismatchedImagesError, TextureCmpError
from texturecmp.ui import cache, colour_view, records_view, render
from texturecmp.ui.components import wipe_slider

try:  # Streamlit loads its emoji catalogue (a large module) the first time a label or
    import streamlit.emojis  # noqa: F401  # message holds non-ASCII text: load it with the page, not with the first results
except ImportError:  # pragma: no cover - a Streamlit without it
    pass

__all__ = ["main", "PHOTO_TYPES", "Export", "exports"]

PHOTO_TYPES = ["jpg", "jpeg", "png", "tif", "tiff", "webp", "heic", "heif"]
MASK_TYPES = ["png", "tif", "tiff", "bmp", "jpg", "jpeg", "webp"]
SAMPLE_FILES = (("session0_baseline.jpg", "baseline"), ("session1.jpg", "session 1"), ("session2.jpg", "session 2"))
SAMPLE_MASK = "lesion.png"
CANVAS_MAX_WIDTH = 620
MARKS_WIDTH = 560

#: The default region to measure: the photo's skin (:func:`texturecmp.skin.skin_mask`).
SKIN = "Skin (found automatically)"
_REGION_TITLES = {"roi": "Region to measure", "lesion": "Scar or lesion", "reference": "Reference skin (normal)",
                  "colour_reference": "Colour reference skin (untreated)"}
_DRAW_MODES = {"Rectangle": "rect", "Ellipse (drag a circle; stretch it with the edit tool)": "circle",
               "Polygon (click the points; click the first one to close)": "polygon"}
_TABLE_NUMBERS = ["before", "after", "change", "% change", "± u"]
#: Tag colours of the verdicts in the metrics tables.
_VERDICT_COLOUR = {"improved": "#1a7f37", "worsened": "#c62828", "changed": "#8a5a00", "no detectable change": "#808495",
                   "not computable": "#808495", "not comparable": "#5f6368"}
#: Appended to a step's title once its inputs are complete.
_DONE = ":green[:material/check_circle: done]"
_VERDICT_ICON = {"improved": ":green[▼ improved]", "worsened": ":red[▲ worsened]", "changed": ":orange[changed]",
                 "not comparable": ":gray[not comparable]"}


#: The name the core is given for every upload: file names (often a patient's name and birth
#: date) never reach the core, its results, the records or the exports.
NEUTRAL_NAME = "photo"


@dataclass
class Photo:
    """An upload: ``slot`` is its 1-based place in the uploader's list (how messages name it)."""

    slot: int
    data: bytes
    info: cache.PhotoInfo
    default_label: str
    source: str = "upload"  # "upload", "sample photo" or "camera shot"


def _hint(exc: TextureCmpError) -> str:
    """What the user can do about an error of the core: fitted to its cause."""
    msg = str(exc)
    if isinstance(exc, AlignmentError):
        return "Check that every photo shows the same skin area, framed alike, and remove the photo that does not match."
    if isinstance(exc, BadMaskError):
        if "no skin found" in msg:
            return "Choose *Whole photo*, *Draw* or *Upload mask* under *Region to measure*."
        if "expected the same size" in msg or "shape" in msg:
            return "Upload a mask of exactly the baseline's size (export it from the baseline photo itself)."
        if "empty" in msg:
            return "The mask has no white pixel: mark the region in white on black."
        if "inside the roi" in msg or "outside the lesion" in msg:
            return "Mark it inside the region measured, or choose a larger region to measure."
        if "at least" in msg or "fewer than" in msg or "too little" in msg:
            return "Mark a larger region."
        return "Upload a black-and-white mask of the baseline's size, or draw the region."
    if isinstance(exc, MismatchedImagesError):
        return "Use photos of the same skin area, taken with the same camera set-up."
    if isinstance(exc, tc.errors.ImageTooLargeError):
        return "Resize the photo below 100 megapixels."
    if isinstance(exc, tc.errors.ImageTooSmallError):
        return "Use the photo as the camera took it: at least 64 pixels on each side."
    if isinstance(exc, tc.errors.UnreadableImageError):
        return "Upload a JPEG, PNG, TIFF, WebP or HEIC photo; re-export it if it was cut short."
    return "Check the inputs and try again."


# ----------------------------------------------------------------------------------------- inputs

def _load_sample(sample_dir: Path) -> None:
    """Show the sample series in ``sample_dir`` (the scar series, or the calibrated one with a chart)."""
    st.session_state["sample"] = str(sample_dir)
    for key in list(st.session_state):
        if key.startswith(("label_", "order_", "method_", "followup", "against", "colour_truth_", "chart_corners_")):
            del st.session_state[key]


def _sample_dir(default: Path) -> Path:
    """The sample series chosen (``default`` when the button of the scar series was pressed)."""
    chosen = st.session_state.get("sample")
    return Path(chosen) if isinstance(chosen, str) and chosen else default


def _sample_photos(sample_dir: Path) -> list[tuple[str, bytes, str]]:
    return [(n, (sample_dir / n).read_bytes(), lab) for n, lab in SAMPLE_FILES]


def _sentence(text: str) -> str:
    """``text`` ending with exactly one full stop (core messages may end with one already)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _core_message(exc: BaseException) -> str:
    """The core's message without the input name it starts with (the page names inputs itself)."""
    msg = str(exc)
    return msg[len(NEUTRAL_NAME) + 2:] if msg.startswith(f"{NEUTRAL_NAME}: ") else msg


def _decode(what: str, data: bytes, errors: list[str], sha256: str | None = None,
            made: cache.PhotoInfo | BaseException | None = None) -> cache.PhotoInfo | None:
    """The upload's PhotoInfo (``made``: already decoded, or the error its decoding raised), or
    None with a message in ``errors`` naming the upload as ``what`` (never by its file name)."""
    try:
        if isinstance(made, BaseException):
            raise made
        return cache.decode_photo(sha256 or cache.digest(data), data, NEUTRAL_NAME, made)
    except TextureCmpError as exc:
        errors.append(f"**{what}** cannot be used: {_sentence(_core_message(exc))} {_hint(exc)}")
    except Exception as exc:  # never a traceback in the page
        errors.append(f"**{what}** cannot be used ({type(exc).__name__}). Upload a JPEG, PNG, TIFF, WebP or HEIC photo.")
    return None


def _decode_new(items: list[tuple[str, bytes, str]]) -> dict[str, cache.PhotoInfo | BaseException]:
    """Decode the uploads this session has not decoded yet side by side; their PhotoInfo, or
    the error, by hash, for :func:`cache.decode_photo` to keep.
    One new upload is left to the cache call itself."""
    done = st.session_state.setdefault("_decoded", set())
    new = {sha: (name, data) for name, data, sha in items if sha not in done}
    done.update(new)
    if len(new) < 2:
        return {}

    def one(sha: str) -> cache.PhotoInfo | BaseException:
        try:
            return cache.photo_info(sha, new[sha][1], NEUTRAL_NAME)
        except Exception as exc:  # shown by _decode, next to the upload
            return exc

    with ThreadPoolExecutor(max_workers=min(len(new), os.cpu_count() or 1)) as ex:
        return dict(zip(new, ex.map(one, new)))


def capture_order(taken: list[_dt.datetime | None]) -> tuple[list[int], str]:
    """The photos' default order (indices) and the rule that gave it, in words.

    By the EXIF capture time when every photo has one, else in upload order. Aware times
    (with their offset) are compared as instants; when some times have no offset, all are
    compared on the camera's clock (their wall-clock time).
    """
    n = len(taken)
    missing = [i for i, t in enumerate(taken) if t is None]
    if missing or n == 0:
        which = ", ".join(str(i + 1) for i in missing)
        why = (f"photo{'s' if len(missing) > 1 else ''} {which} of the uploads {'have' if len(missing) > 1 else 'has'} "
               "no capture date in its EXIF" if len(missing) < n else "the photos have no capture date in their EXIF")
        return list(range(n)), f"in upload order ({why})"
    if all(t.tzinfo is not None for t in taken):
        return sorted(range(n), key=lambda i: (taken[i], i)), "by the capture date and time in each photo's EXIF"
    return (sorted(range(n), key=lambda i: (taken[i].replace(tzinfo=None), i)),
            "by the capture date and time in each photo's EXIF (camera clock; not every photo records its time zone)")


def _follow_default(key: str, value) -> None:
    """Set a widget's value to its default, and keep following the default while the user has not edited it."""
    src = f"{key}__default"
    if key not in st.session_state or st.session_state[key] == st.session_state.get(src):
        st.session_state[key] = value
    st.session_state[src] = value


def _taken_text(t: _dt.datetime | None) -> str:
    if t is None:
        return "no capture date"
    off = t.strftime(" (UTC%z)") if t.tzinfo is not None else ""
    return "taken " + t.strftime("%Y-%m-%d %H:%M") + (off[:-3] + ":" + off[-3:] if off else "")


def _order_strip(photos: list[Photo]) -> list[Photo]:
    """The order strip: thumbnails in session order with capture date, label and position, the
    baseline marked, and the rule that ordered them. Returns the photos in session order.

    Positions and labels start from :func:`capture_order` (labels: the capture date, else
    "session k"; never the file name) and follow it until the user edits them.
    """
    n = len(photos)
    taken = [ph.info.taken for ph in photos]
    default, rule = capture_order(taken)
    for rank, i in enumerate(default, start=1):
        ph = photos[i]
        sha = ph.info.sha256
        _follow_default(f"order_{sha}", rank)
        label = ph.default_label or (taken[i].date().isoformat() if taken[i] is not None else f"session {rank}")
        _follow_default(f"label_{sha}", label)
        if taken[i] is not None:  # the records' capture date too (a field of "Save to records")
            st.session_state.setdefault(f"rec_date_{sha}", taken[i].date().isoformat())
    pos = [int(st.session_state[f"order_{ph.info.sha256}"]) for ph in photos]
    order = sorted(range(n), key=lambda i: (pos[i], default.index(i)))
    by_user = any(st.session_state.get(f"order_{ph.info.sha256}__default") != st.session_state[f"order_{ph.info.sha256}"]
                  for ph in photos)
    st.markdown("**Session order** (position 1 is the baseline): "
                + ("as you set it." if by_user else f"ordered {rule}."))
    cols = st.columns(min(n, 4))
    for k, i in enumerate(order):
        ph = photos[i]
        with cols[k % len(cols)]:
            with st.container(border=True):
                st.markdown(f"**{k + 1}** · " + (":primary-badge[baseline]" if k == 0 else f"follow-up {k}"))
                st.image(ph.info.thumb, width=cache.THUMB_WIDTH,
                         caption=f"{_taken_text(ph.info.taken)} · {ph.info.width}×{ph.info.height} · {ph.source} {ph.slot}")
                st.text_input("Session label", key=f"label_{ph.info.sha256}")
                st.number_input("Position", min_value=1, max_value=n, step=1, key=f"order_{ph.info.sha256}")
    return [photos[i] for i in order]


def _capture_step(photos: list[Photo]) -> None:
    """Take a follow-up with the device camera, lined up with a ghost of the baseline; check the
    shot against the baseline in plain words; a kept shot joins the photos as the next session.

    Shots stay in this session's memory (``st.session_state["captured"]``), as uploads do.
    """
    from texturecmp.ui.capture import check_shot, decode_data_url
    from texturecmp.ui.components import camera_capture

    rank = {i: r for r, i in enumerate(capture_order([ph.info.taken for ph in photos])[0])}
    base = min(range(len(photos)), key=lambda i: (int(st.session_state.get(f"order_{photos[i].info.sha256}", 0) or 0)
                                                  or rank[i] + 1, rank[i]))
    base = photos[base]
    kept = st.session_state.setdefault("captured", [])
    title = "Take a follow-up with the camera, lined up with the baseline"
    title += f" · :green[:material/check_circle: {len(kept)} kept]" if kept else " (optional)"
    with st.expander(title, icon=":material/photo_camera:"):
        st.caption("Open the camera, line the skin up with the semi-transparent baseline (set its opacity), keep the "
                   "distance, angle and light of the baseline, and take the photo. It is checked at once; keep it or "
                   "take another.")
        ghost = cache.data_url(f"ghost/{base.info.sha256}", lambda: base.info.small)
        shot = camera_capture(ghost, key="camera")
        if shot is None or shot["n"] == st.session_state.get("_camera_kept_n"):
            return
        try:
            data = decode_data_url(shot["url"])
            info = cache.decode_photo(cache.digest(data), data, NEUTRAL_NAME)
        except TextureCmpError as exc:
            st.error(f"The shot cannot be used: {_sentence(_core_message(exc))} Take another.")
            return
        memo = st.session_state.setdefault("_camera_checks", {})
        if info.sha256 not in memo:
            memo.clear()
            memo[info.sha256] = check_shot(base.info.small, info.small)
        check = memo[info.sha256]
        c1, c2 = st.columns([1, 2])
        c1.image(info.thumb, caption=f"shot {shot['n']} · {info.width}×{info.height}", width=cache.THUMB_WIDTH)
        with c2:
            if check.ok:
                st.success("Lined up with the baseline: same framing, angle, focus and exposure.")
            else:
                st.warning("\n".join(f"- {a}" for a in check.advice))

            def keep(data=data, n=shot["n"]) -> None:
                st.session_state["captured"].append((data, _dt.datetime.now().astimezone()))
                st.session_state["_camera_kept_n"] = n

            st.button("Keep it as the next session", type="primary", on_click=keep, key="camera_keep")
            st.caption("Or take another photo above (it replaces this one).")


def _photos_section(sample_dir: Path) -> tuple[list[Photo], list[str], bytes | None, float | None, bool]:
    """Uploads, ordering and labels. Returns (ordered photos, labels, repeat bytes, pixel size, sample?)."""
    header = st.empty()
    header.subheader("1 · Photos")
    uploads = st.file_uploader("Photos of one skin area, two or more (JPEG, PNG, TIFF, WebP or HEIC)", type=PHOTO_TYPES,
                               accept_multiple_files=True, key="photos",
                               help="Stay on this computer: photos are analysed in memory and never written to disk.")
    errors: list[str] = []
    photos: list[Photo] = []
    using_sample = False
    items = [(f"upload {k}", f.getvalue(), cache.upload_digest(f)) for k, f in enumerate(uploads or [], start=1)]
    made = _decode_new(items)
    slots: dict[str, int] = {}
    for k, (what, data, sha) in enumerate(items, start=1):
        info = _decode(f"Upload {k}", data, errors, sha, made.get(sha))
        if info is None:
            continue
        if info.sha256 in slots:
            errors.append(f"**Upload {k}** is the same file as upload {slots[info.sha256]}; it is used once.")
            continue
        slots[info.sha256] = k
        photos.append(Photo(k, data, info, ""))
    for msg in errors:
        st.error(msg)
    if not uploads and st.session_state.get("sample"):
        using_sample = True
        for k, (name, data, lab) in enumerate(_sample_photos(sample_dir), start=1):
            info = _decode(f"Sample photo {k}", data, errors)
            if info is not None:
                photos.append(Photo(k, data, info, lab, "sample photo"))
        chart = sample_dir.name == "series_chart"
        st.info("Showing the **calibrated sample series** (a synthetic scar fading over three sessions, each photo with "
                "a colour chart, under a different light and, last, another camera; the skin's redness also drops). "
                "Upload your own photos above to replace it." if chart else
                "Showing the **sample series** (a synthetic scar fading over three sessions, with its lesion mask). "
                "Upload your own photos above to replace it.")

    repeat = None
    pixel_size = None
    extras = [x for x, on in (("second baseline", st.session_state.get("repeat") is not None),
                              ("pixel size", bool(st.session_state.get("pixel_size")))) if on]
    with st.expander("Optional: a second baseline photo (test-retest) and the pixel size"
                     + (f" · :green[:material/check_circle: {' and '.join(extras)} set]" if extras else "")):
        rep = st.file_uploader("Second baseline photo, taken minutes after the first (its differences set the noise level)",
                               type=PHOTO_TYPES, key="repeat")
        if rep is not None:
            rep_errors: list[str] = []
            if _decode("The second baseline photo", rep.getvalue(), rep_errors, cache.upload_digest(rep)) is not None:
                repeat = rep.getvalue()
            for msg in rep_errors:
                st.error(msg)
        px = st.number_input("Pixel size (millimetres per pixel; 0 = unknown, lengths and areas stay in pixels)",
                             min_value=0.0, max_value=9.9, value=0.0, step=0.005, format="%.4f", key="pixel_size")
        pixel_size = float(px) if px and px > 0 else None

    for k, (data, when) in enumerate(st.session_state.get("captured", []), start=1):
        info = _decode(f"Camera photo {k}", data, errors)
        if info is not None and info.sha256 not in {ph.info.sha256 for ph in photos}:
            photos.append(Photo(k, data, replace(info, taken=when), "", "camera shot"))
    if photos:
        _capture_step(photos)

    if len(photos) < 2:
        if not errors:
            st.info("Upload at least two photos of the same skin area (the first is the baseline), "
                    "or click **Try the sample images**; with one photo, take the follow-up with the camera.")
        return photos, [], repeat, pixel_size, using_sample

    photos = _order_strip(photos)
    header.subheader(f"1 · Photos {_DONE}", help=f"{len(photos)} photos in session order; edit the labels and "
                     "positions below.")
    labels: list[str] = []
    for j, ph in enumerate(photos):
        lab = str(st.session_state[f"label_{ph.info.sha256}"]).strip() or ph.default_label or f"session {j + 1}"
        base, k = lab, 2
        while lab in labels:
            lab = f"{base} ({k})"
            k += 1
        labels.append(lab)
    st.caption("Order: " + " → ".join(f"**{lab}**" + (" (baseline)" if i == 0 else "") for i, lab in enumerate(labels)))
    return photos, labels, repeat, pixel_size, using_sample


def _roi_without(roi: tuple[np.ndarray | None, str | None], exclude: np.ndarray | None, exclude_key: str | None,
                 shape: tuple[int, int]) -> tuple[np.ndarray | None, str | None]:
    """A region to measure (mask, hash; None: the whole photo) without the excluded pixels (the chart)."""
    if exclude is None:
        return roi
    return cache.without((roi[1], exclude_key), roi[0], exclude, shape)


def _one_region(region: str, base: Photo) -> tuple[np.ndarray | None, str | None]:
    """A region on the baseline, drawn or uploaded (for the colour reference skin): (mask, hash),
    or (None, None) until it is given; its errors under its control."""
    shape = (base.info.height, base.info.width)
    how = st.radio(_REGION_TITLES[region], ["Draw", "Upload mask"], key=f"method_{region}", horizontal=True)
    try:
        if how == "Upload mask":
            up = st.file_uploader(f"{_REGION_TITLES[region]}: mask image (white inside, black outside), "
                                  f"{base.info.width}×{base.info.height} px", type=MASK_TYPES, key=f"mask_{region}")
            if up is None:
                return None, None
            return cache.decode_mask(cache.upload_digest(up), up.getvalue(), shape, f"{region} mask")
        alpha = _canvas_alpha(region, base)
        if alpha is None:
            st.caption("Nothing drawn yet.")
            return None, None
        drawn = cache.mask_from_drawing(cache.mask_digest(alpha), alpha, shape)
        return drawn if drawn is not None else (None, None)
    except TextureCmpError as exc:
        st.error(_region_error(exc))
        return None, None


def _mask_png(mask: np.ndarray) -> bytes:
    from texturecmp.io import encode_png

    return encode_png(mask)


def _region_error(exc: TextureCmpError) -> str:
    """A region's error as shown under its control: the core's message, the region named as on
    the page ("Region to measure", not the core's "roi"), and what to do about it."""
    msg = re.sub(r"^(roi|lesion|reference|colour_reference)( mask)?: ",
                 lambda m: f"**{_REGION_TITLES[m.group(1)]}{m.group(2) or ''}**: ", str(exc))
    return f"{_sentence(msg)} {_hint(exc)}"


def _canvas_alpha(region: str, base: Photo) -> np.ndarray | None:
    """Draw a shape on the baseline; returns the canvas' alpha (display size) or None."""
    from streamlit_drawable_canvas import st_canvas

    mode_label = st.selectbox("Shape", list(_DRAW_MODES), key=f"shape_{region}")
    small = base.info.small
    h, w = small.shape[:2]
    cw = min(CANVAS_MAX_WIDTH, w)
    ch = max(1, round(h * cw / w))
    colour = render.MARK_COLOURS[region]
    background = cache.data_url(f"canvas/{base.info.sha256}", lambda: small)  # encoded once, not on every rerun
    res = st_canvas(fill_color=f"rgba({colour[0]},{colour[1]},{colour[2]},0.30)", stroke_width=2,
                    stroke_color=f"rgb{colour}", background_image=background, width=cw, height=ch,
                    drawing_mode=_DRAW_MODES[mode_label], return_image_data=True, background_image_fit="stretch",
                    key=f"canvas_{region}_{base.info.sha256[:12]}")
    data = res.image_data if res is not None else None
    if data is None or data.ndim != 3 or data.shape[2] < 4:
        return None
    alpha = data[..., 3] > 0
    return alpha if alpha.any() else None


def _marks_section(base: Photo, using_sample: bool, sample_dir: Path, exclude: np.ndarray | None = None,
                   exclude_key: str | None = None) -> tuple[dict[str, Any], dict[str, str | None], bool, bool]:
    """The marks on the baseline. Returns (masks, mask hashes, ready, whether the region to measure is settled).

    ``exclude``: pixels never measured as skin (the colour chart found in the baseline), taken
    out of the skin region and of the whole photo (``exclude_key`` names them in cache keys)."""
    header = st.empty()
    header.subheader("2 · Mark the regions on the baseline")
    shape = (base.info.height, base.info.width)
    options = {
        "roi": [SKIN, "Whole photo", "Draw", "Upload mask"],
        "lesion": (["Sample mask (lesion.png)"] if using_sample else []) + ["Draw", "Upload mask", "No lesion (texture only)"],
        "reference": ["Automatic ring around the lesion", "Draw", "Upload mask"],
    }
    masks: dict[str, Any] = {"roi": None, "lesion": None, "reference": None}
    hashes: dict[str, str | None] = {"roi": None, "lesion": None, "reference": None}
    ready = True
    cols = st.columns(3)
    drawing: list[str] = []
    methods: dict[str, str] = {}
    slots: dict[str, Any] = {}  # where each region's errors go: under its own control
    skin_found = False
    suffix = "s" if using_sample else "u"
    for col, region in zip(cols, ("roi", "lesion", "reference")):
        with col:
            # The lesion has no default for uploaded photos: the user says how to mark it (or that
            # there is none). Drawing is one of three answers, and the drawing canvas (a page of
            # its own, which delays the results) is only loaded for those who draw.
            no_default = region == "lesion" and not using_sample
            method = st.radio(_REGION_TITLES[region], options[region], key=f"method_{region}_{suffix}",
                              index=None if no_default else 0)
            methods[region] = method
            slots[region] = st.container()
            try:
                if method is None:  # the page asks for it below
                    ready = False
                elif method == SKIN:
                    masks[region], hashes[region] = _roi_without(
                        cache.skin_region(base.info.sha256, base.info, base.data), exclude, exclude_key, shape)
                    skin_found = True
                elif method == "Whole photo" and exclude is not None:
                    masks[region], hashes[region] = _roi_without((None, None), exclude, exclude_key, shape)
                elif method == "Sample mask (lesion.png)":
                    data = (sample_dir / SAMPLE_MASK).read_bytes()
                    masks[region], hashes[region] = cache.decode_mask(cache.digest(data), data, shape, f"{region} mask")
                elif method == "Upload mask":
                    up = st.file_uploader(f"{_REGION_TITLES[region]}: mask image (white inside, black outside), "
                                          f"{base.info.width}×{base.info.height} px", type=MASK_TYPES, key=f"mask_{region}")
                    if up is None:
                        ready = False
                    else:
                        data = up.getvalue()
                        masks[region], hashes[region] = cache.decode_mask(cache.upload_digest(up), data, shape,
                                                                          f"{region} mask")
                elif method == "Draw":
                    drawing.append(region)
            except TextureCmpError as exc:
                st.error(_region_error(exc))
                ready = False
    for region in drawing:
        with st.container(border=True):
            st.markdown(f"**Draw the {_REGION_TITLES[region].lower()} on the baseline**")
            alpha = _canvas_alpha(region, base)
            if alpha is None:
                st.caption("Nothing drawn yet.")
                ready = False
            else:
                drawn = cache.mask_from_drawing(cache.mask_digest(alpha), alpha, shape)
                if drawn is not None:
                    masks[region], hashes[region] = drawn

    if exclude is not None and masks["roi"] is not None and methods["roi"] in ("Draw", "Upload mask"):
        masks["roi"], hashes["roi"] = _roi_without((masks["roi"], hashes["roi"]), exclude, exclude_key, shape)
    if methods["roi"] == SKIN and masks["roi"] is not None and masks["lesion"] is not None:
        # the lesion is measured inside the region: a scar's colour may be far from the skin's
        masks["roi"], hashes["roi"] = cache.with_lesion((hashes["roi"], hashes["lesion"]), masks["roi"], masks["lesion"])
    preview = None
    if ready:
        try:
            preview = cache.preview_regions(tuple(hashes.values()) + (shape,), masks["roi"], masks["lesion"],
                                            masks["reference"], shape, tc.Settings())
        except TextureCmpError as exc:
            # next to the control of the region the core names ("roi: ...", "lesion: ...")
            named = str(exc).split(":", 1)[0].split()[0] if ":" in str(exc) else ""
            with slots.get(named, st.container()):
                st.error(_region_error(exc))
            ready = False
    if preview is not None:
        c1, c2 = st.columns([3, 2])
        with c1:
            pic = cache.picture(f"marks/{base.info.sha256}/{hashes['roi']}/{hashes['lesion']}/{hashes['reference']}",
                                lambda: render.outline(base.info.small, preview.small), MARKS_WIDTH)
            st.image(pic, caption="Baseline with the marks", width=MARKS_WIDTH)
        with c2:
            st.markdown(render.legend_html("outlines"), unsafe_allow_html=True)
            if preview.lesion is not None:
                auto = masks["reference"] is None
                st.caption(("The **reference skin** (blue) was proposed automatically: a ring around the lesion. "
                            "Choose *Draw* or *Upload mask* under *Reference skin* to replace it." if auto else
                            "Reference skin: your region (outside the lesion, inside the region measured)."))
                st.caption(f"Lesion: {preview.lesion_px:,} px · reference: {preview.reference_px:,} px")
            else:
                st.caption("No lesion marked: texture metrics only (no scar metrics).")
            if methods["roi"] == SKIN and masks["roi"] is None:
                st.caption("The **region measured** is the skin found automatically from its colour and smooth "
                           "texture: here, all of the photo.")
            elif methods["roi"] == SKIN:
                st.caption("The **region measured** (white outline) is the skin found automatically from its colour "
                           "and smooth texture" + (", with the lesion" if masks["lesion"] is not None else "")
                           + (", without the colour chart and a patch's width around it (its edge would read as "
                              "texture)" if exclude is not None else "")
                           + ". Keep it, or choose *Whole photo*, *Draw* or *Upload mask* under *Region to measure* "
                           "(the mask below can be edited in any image editor and uploaded back).")
                st.download_button("Skin mask (PNG)", data=lambda: _mask_png(masks["roi"]), file_name="skin_mask.png",
                                   mime="image/png", key="dl_skin", on_click="ignore")
            st.caption("Mark the regions on the baseline only: the registration carries them into each follow-up "
                       "(see *Where the marks landed in the follow-ups* under the results).")
    elif not drawing and methods["lesion"] is None:
        st.info("Mark the lesion: choose *Draw* to outline it on the baseline, *Upload mask* for a mask image, or "
                "*No lesion* for texture metrics only. The results follow.")
    # the region to measure is known (for the background preparation): the skin is, unless a lesion
    # is still to come that may grow it
    roi_settled = methods["roi"] == "Whole photo" or (masks["roi"] is not None and methods["roi"] != SKIN) or (
        skin_found and (masks["roi"] is None or masks["lesion"] is not None or methods["lesion"] is None
                        or methods["lesion"].startswith("No lesion")))
    if ready and preview is not None:
        header.subheader(f"2 · Mark the regions on the baseline {_DONE}")
    return masks, hashes, ready and preview is not None, roi_settled


# ----------------------------------------------------------------------------------------- results

def _relabelled_frame(series: tc.Series, labels: list[str], key: str):
    """The series' tidy table (cached by the result's key; a copy per call) with the user's session labels."""
    fr = cache.table(f"series {key}", series.to_frame)
    ids = {str(i + 1): lab for i, lab in enumerate(labels)}
    fr["session"] = fr["session"].map(lambda s: ids.get(s, s))
    return fr


def _warnings_block(series: tc.Series, labels: list[str]) -> None:
    st.markdown("##### Photo quality and alignment")
    by_photo = render.warnings_by_photo(series, labels)
    cols = st.columns(min(len(labels), 4))
    for i, lab in enumerate(labels):
        with cols[i % len(cols)]:
            st.markdown(f"**Photo {i + 1} · {lab}**" + (" (baseline)" if i == 0 else ""))
            if i > 0:
                al = series.vs_baseline[i - 1].alignment
                if al.ok:
                    st.caption(f"Aligned: shift {al.shift_px[0]:+.1f}, {al.shift_px[1]:+.1f} px, rotation "
                               f"{al.rotation_deg:+.2f}°, scale {al.scale:.3f}")
            ws = by_photo.get(i, [])
            if ws:
                st.warning("\n".join(f"- {w}" for w in ws))
            else:
                st.success("No quality or alignment problem found.")
    for w in by_photo.get(None, []):
        st.warning(w)


def _table_frame(cmp) -> tuple[Any, str]:
    """The metrics table as shown (every metric, grouped by family in catalogue order) and the
    definitions as markdown (a list per family)."""
    fr = render.changes_frame(cmp)
    shown = fr[["family", "metric", "unit", *_TABLE_NUMBERS, "verdict", "why"]].copy()
    shown["family"] = [render.FAMILY_TITLES.get(f, f) for f in shown["family"]]
    for c in _TABLE_NUMBERS:
        shown[c] = [render.rounded(v) for v in shown[c]]
    shown["verdict"] = [[v] for v in shown["verdict"]]
    defs = []
    for fam in FAMILIES:
        part = fr[fr["family"] == fam]
        if not part.empty:
            defs.append(f"**{render.FAMILY_TITLES.get(fam, fam)}**\n")
            defs.extend(f"- `{m}` ({u}, better: {METRICS[m].better}): {METRICS[m].definition} *{METRICS[m].reference}*"
                        for m, u in zip(part["metric"], part["unit"]))
            defs.append("")
    return shown, "\n".join(defs)


def _table_block(cmp, key: str, labels: list[str]) -> None:
    st.markdown("##### All metrics")
    st.caption("Before, after, change and its uncertainty (± u). " + render.RULE_TEXT + " A metric without a "
               "verdict (*not comparable*, *not computable*) says why in the last column. Definitions, better "
               "directions and references are in the expander under the table.")
    # One table, grouped by family (a family column, rows in catalogue order): a table per family
    # costs the browser more to draw. A plain frame with column settings, not a pandas
    # Styler (rebuilt on every rerun); numbers are rounded as render.fmt shows them and stay
    # numbers (columns sort by value); the verdict is a coloured tag.
    config = {"family": st.column_config.TextColumn("family", width="medium", pinned=True),
              "metric": st.column_config.TextColumn("metric", width="medium"),
              "verdict": st.column_config.MultiselectColumn("verdict", width="medium", options=list(_VERDICT_COLOUR),
                                                           color=list(_VERDICT_COLOUR.values())),
              "why": st.column_config.TextColumn("why (no verdict)", width="large",
                                                 help="Why the metric has no verdict: the reason it is not comparable, "
                                                      "or what it needs to be computed."),
              **{c: st.column_config.NumberColumn(c, format="%.6g") for c in _TABLE_NUMBERS}}
    shown, defs = cache.table(f"metrics {key}", lambda: _table_frame(cmp))
    if shown["why"].str.contains("photo '", regex=False).any():  # photos named by their labels (not cached)
        shown = shown.assign(why=[render.relabel_text(w, labels) for w in shown["why"]])
    st.dataframe(shown, hide_index=True, width="stretch", height=35 * (len(shown) + 1) + 3, column_config=config,
                 placeholder="—", alt="Every metric, grouped by family: before, after, change and verdict")
    with st.expander("What the metrics mean"):
        st.markdown(defs)


def _landing_block(series: tc.Series, photos: list[Photo], labels: list[str], key: str) -> None:
    with st.expander("Where the marks landed in the follow-ups", expanded=False):
        base_maps = series.vs_baseline[0].maps
        w = photos[0].info.width
        f_base = base_maps["before_rgb"].shape[1] / w
        cols = st.columns(min(len(photos), 3))
        for i, ph in enumerate(photos):
            with cols[i % len(cols)]:
                if i == 0:
                    pic = cache.picture(f"{key}/landing/0", lambda ph=ph: render.outline(
                        ph.info.small, {k: base_maps.get(k) for k in ("roi", "lesion", "reference")}))
                    st.image(pic, caption=f"{labels[0]} (baseline, as marked)", width="stretch")
                    continue
                al = series.vs_baseline[i - 1].alignment

                def draw(ph=ph, al=al) -> np.ndarray:
                    conts = {k: render.map_contours(base_maps[k], f_base, al.matrix_array, ph.info.factor)
                             for k in ("roi", "lesion", "reference")
                             if base_maps.get(k) is not None and not base_maps[k].all()}
                    return render.draw_contours(ph.info.small, conts)

                cap = f"{labels[i]}: marks carried through the registration" if al.ok else \
                    f"{labels[i]}: not aligned, marks placed at the same relative position"
                st.image(cache.picture(f"{key}/landing/{i}", draw), caption=cap, width="stretch")


def _compare_block(cmp, key: str, before_label: str, after_label: str) -> None:
    maps = cmp.maps
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("##### Before / after")
        if "after_rgb_aligned" in maps:
            before_url = cache.data_url(key + "/before", lambda: maps["before_rgb"])
            after_url = cache.data_url(key + "/after", lambda: maps["after_rgb_aligned"])
            wipe_slider(before_url, after_url, before_label=before_label, after_label=after_label, sig=key,
                        width=maps["before_rgb"].shape[1], key="wipe")
            st.caption("Drag across the picture (or use the slider): left of the line the baseline, right of it the "
                       "follow-up aligned to it, exposure and white balance matched.")
        else:
            st.info("This photo could not be aligned to the baseline, so there is no aligned before/after view.")
    with c2:
        _overlay_panel(key, maps)


# A fragment: choosing another overlay reruns this panel only, not the page. Its pictures
# are cached by the result's key and the overlay, so switching back costs a lookup; the
# PNG for the download is encoded only when the button is clicked.
@st.fragment
def _overlay_panel(key: str, maps) -> None:
    st.markdown("##### Overlays")
    keys = [k for k in render.OVERLAYS if k == "outlines" or k in maps]
    choice = st.radio("Overlay", keys, format_func=lambda k: render.OVERLAYS[k], key="overlay",
                      label_visibility="collapsed", horizontal=False)
    st.image(cache.picture(f"{key}/overlay/{choice}", lambda: render.overlay_image(maps, choice)), width="stretch")
    st.markdown(render.legend_html(choice), unsafe_allow_html=True)

    def png() -> bytes:
        from texturecmp.io import encode_png

        return encode_png(render.overlay_image(maps, choice))

    st.download_button("Download this overlay (PNG)", data=png, file_name=f"{choice}.png",
                       mime="image/png", key="dl_overlay", on_click="ignore")


def _timeline_block(series: tc.Series, labels: list[str], key: str) -> list[str]:
    st.markdown("##### Across sessions")
    return _timeline_chart(render.add_thresholds(_relabelled_frame(series, labels, key), series), labels,
                           key="timeline_metrics")


def _timeline_chart(fr, order: list[str], *, key: str) -> list[str]:
    """Chosen metrics across sessions: ``fr`` has session, metric, value, uncertainty and unit columns."""
    available = render.timeline_metrics(fr)
    default = [m for m in ("scar.delta_e00", "texture.sq", "pore.density") if m in available][:3] or available[:2]
    chosen = st.multiselect("Metrics to follow", available, default=default, key=key)
    if not chosen:
        st.caption("Choose one or more metrics.")
        return chosen
    data, spec = render.timeline_chart(fr, order, chosen)
    st.vega_lite_chart(data, spec, width="content")
    st.caption(f"Points: each session's value; bars: {render.timeline_band(fr)[2]}. A follow-up outside its bar "
               "changed beyond the measurement's noise." if "threshold" in fr else
               f"Points: each session's value; bars: {render.timeline_band(fr)[2]}.")
    return chosen


@dataclass(frozen=True)
class Export:
    """A download: its button label, file name, MIME type and the function that builds its bytes (on click)."""

    label: str
    file_name: str
    mime: str
    build: Any


def exports(series: tc.Series, labels: list[str], index: int, key: str, pixel_size: float | None,
            timeline: list[str]) -> list[Export]:
    """The downloads of the results: JSON, CSV, the overlays zipped and the report. Names and
    contents carry the session labels and positions only (never a file name)."""

    def js() -> bytes:
        d = render.relabel_dict(series.to_dict(), labels)
        return json.dumps(d, indent=2, ensure_ascii=False, default=str).encode("utf-8")

    def csv() -> bytes:
        return _relabelled_frame(series, labels, key).to_csv(index=False).encode("utf-8")

    def zipped() -> bytes:
        from texturecmp.io import encode_png

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for i, c in enumerate(series.vs_baseline, start=1):
                stem = _safe(f"{i + 1}_{labels[i]}")
                for k in render.OVERLAYS:
                    if k == "outlines" or k in c.maps:
                        z.writestr(f"{stem}_{k}.png", encode_png(render.overlay_image(c.maps, k)))
                if "after_rgb_aligned" in c.maps:
                    z.writestr(f"{stem}_aligned.png", encode_png(c.maps["after_rgb_aligned"]))
        return buf.getvalue()

    def report() -> bytes:
        created = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        return render.report_html(series, labels, index, pixel_size_mm=pixel_size, timeline_metrics=timeline or
                                  list(render.KEY_METRICS), created=created).encode("utf-8")

    def pdf() -> bytes:
        from texturecmp.ui.pdf import report_pdf

        created = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        return report_pdf(series, labels, index, pixel_size_mm=pixel_size, timeline_metrics=timeline or
                          list(render.KEY_METRICS), created=created)

    return [Export("Comparison (JSON)", "texturecmp_series.json", "application/json", js),
            Export("Metrics table (CSV)", "texturecmp_metrics.csv", "text/csv", csv),
            Export("Overlays (PNG, zipped)", "texturecmp_overlays.zip", "application/zip", zipped),
            Export("Report (HTML, one page)", _safe(f"texturecmp_report_{labels[index]}") + ".html", "text/html", report),
            Export("Report (PDF, A4)", _safe(f"texturecmp_report_{labels[index]}") + ".pdf", "application/pdf", pdf)]


_DOWNLOAD_KEYS = {"application/json": "dl_json", "text/csv": "dl_csv", "application/zip": "dl_zip",
                  "text/html": "dl_report", "application/pdf": "dl_pdf"}


def _downloads_block(series: tc.Series, labels: list[str], index: int, key: str, pixel_size: float | None,
                     timeline: list[str]) -> None:
    st.markdown("##### Downloads")
    files = exports(series, labels, index, key, pixel_size, timeline)
    for col, ex in zip(st.columns(len(files)), files):
        col.download_button(ex.label, data=ex.build, file_name=ex.file_name, mime=ex.mime, key=_DOWNLOAD_KEYS[ex.mime],
                            on_click="ignore", type="primary" if ex.mime == "application/pdf" else "secondary")
    st.caption("PNG files carry no metadata; the reports (HTML, and PDF for record systems) hold the photos, "
               f"overlays, table, timeline, the texturecmp version ({tc.__version__}), the settings hash and the "
               "photos' SHA-256 hashes.")


def _safe(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)[:80]


@dataclass(frozen=True)
class _Run:
    """What the core is given for the photos on the page (one per rerun): the photos as
    :func:`cache.photo_input` hands them over, their hashes, the baseline repeat and its
    hash, the pixel size and the settings."""

    inputs: list
    shas: tuple[str, ...]
    repeat: bytes | None
    repeat_hash: str | None
    pixel_size: float | None
    settings: tc.Settings
    colour: colour_view.ColourTruth = colour_view.ColourTruth()


def _summary_block(series: tc.Series, labels: list[str]):
    """The answer: which follow-up, against what, its verdict sentences and warnings, or why it
    is not comparable. Returns (the comparison shown, the follow-up's index, against the previous?)."""
    n = len(labels)
    c1, c2 = st.columns([2, 3])
    with c1:
        # The options show the session labels, and the browser keeps showing the text of the
        # chosen option after a relabel: the widget is keyed by the labels and starts from the
        # follow-up chosen before (kept under "followup_index").
        chosen = min(max(int(st.session_state.get("followup_index", n - 1)), 1), n - 1)
        index = st.selectbox("Follow-up to show", list(range(1, n)), index=chosen - 1,
                             format_func=lambda i: f"photo {i + 1} · {labels[i]}",
                             key="followup_" + cache.digest("\0".join(labels).encode())[:12])
        st.session_state["followup_index"] = index
    against_prev = False
    if index >= 2:
        with c2:
            against_prev = st.radio("Compared with", ["the baseline", "the previous session"], horizontal=True,
                                    key="against") == "the previous session"
    cmp = series.vs_previous[index - 2] if against_prev else series.vs_baseline[index - 1]
    before_label = labels[index - 1] if against_prev else labels[0]
    st.markdown(f"#### Summary: {before_label} → {labels[index]}")
    nc = render.not_comparable_text(cmp, labels)
    if nc:
        st.error(nc.replace("Not comparable", "**Not comparable**", 1))
    lines = render.headlines(cmp, labels)
    if lines:
        st.markdown("\n".join(f"- {_VERDICT_ICON.get(v, ':gray[no detectable change]')} · {s}" for v, s in lines))
    else:
        st.caption("No key metric could be computed.")
    warns = list(dict.fromkeys(render.relabel_text(w, labels) for w in cmp.warnings))
    if warns:
        st.warning("\n".join(f"- {w[0].upper() + w[1:]}" for w in warns))
    st.caption(":material/palette: " + colour_view.truth_sentence(cmp))
    st.caption("Pictures, every metric, the timeline and the downloads are under **4 · Results** below.")
    return cmp, index, against_prev


def _results_section(photos: list[Photo], labels: list[str], masks: dict, hashes: dict, run: _Run,
                     prepared: Future | None, top) -> None:
    """The results. The answer (the summary of the chosen follow-up, its warnings, or why it
    cannot be given) goes into ``top``, a container above the inputs, so it is the first thing
    in view; the pictures, the table, the timeline and the downloads follow the inputs."""
    pixel_size = run.pixel_size
    key = (run.shas, tuple(hashes.get(k) for k in ("roi", "lesion", "reference")), run.repeat_hash, pixel_size,
           run.settings.hash, run.colour.key)
    key_s = cache.digest(repr(key).encode())[:20]
    box = top.container(border=True, key="tc_summary")
    with box:
        try:
            # a spinner, not st.status: st.status pauses whenever it is drawn, i.e. on every rerun
            with st.spinner(f"Measuring {len(photos)} photos at full resolution…"):
                computed = cache.compute_series(key, run.inputs, masks["roi"], masks["lesion"], masks["reference"],
                                                run.repeat, pixel_size, run.settings, prepared, run.colour.core_kwargs())
        except TextureCmpError as exc:
            st.error(f"{_sentence(render.relabel_text(str(exc), labels))} {_hint(exc)}")
            return
        except MemoryError:
            st.error("Not enough memory for these photos. Use fewer or smaller photos (for example 12 megapixels each).")
            return
        except Exception as exc:  # a defect of texturecmp: a plain message, never a traceback
            st.error(f"These photos could not be compared ({type(exc).__name__} inside texturecmp). Check that each "
                     "photo shows the skin area, lit and in the same orientation as the baseline, and please report it.")
            return
        series = computed.series
        cmp, index, against_prev = _summary_block(series, labels)
    st.subheader(f"4 · Results {_DONE}")
    st.caption(f":material/check: Measured {len(photos)} photos at full resolution in {computed.seconds:.1f} s."
               " The summary is at the top of the page.")
    _warnings_block(series, labels)
    before_label = labels[index - 1] if against_prev else labels[0]
    after_label = labels[index]

    ckey = f"{key_s}-{index}-{'p' if against_prev else 'b'}"
    _compare_block(cmp, ckey, before_label, after_label)
    _landing_block(series, photos, labels, key_s)
    _table_block(cmp, ckey, labels)
    chosen = _timeline_block(series, labels, key_s)
    _downloads_block(series, labels, index, key_s, pixel_size, chosen)
    records_view.save_section(series, [p.info.sha256 for p in photos], labels)


# ----------------------------------------------------------------------------------------- page

def _catalogue_frame():
    """The metric catalogue as shown on the first page (one row per metric)."""
    import pandas as pd

    return pd.DataFrame([{"metric": m.name, "family": render.FAMILY_TITLES.get(m.family, m.family),
                          "unit": m.unit if m.unit == m.unit_px else f"{m.unit} ({m.unit_px} without pixel size)",
                          "better": m.better, "definition": m.definition, "reference": m.reference}
                         for m in METRICS.values()])


def _catalogue_block() -> None:
    """Every metric, its unit, better direction, definition and reference, before any photo is in.

    Also a matter of speed: the browser fetches and compiles Streamlit's table code (about
    1.2 MB of JavaScript) the first time a page shows a table. Shown here, collapsed, that
    happens while the user picks photos instead of when the results appear.
    """
    with st.expander(f"What texturecmp measures: the {len(METRICS)} metrics, their units, better directions "
                     "and references"):
        st.dataframe(cache.table("catalogue", _catalogue_frame), hide_index=True, width="stretch",
                     alt="texturecmp's metric catalogue",
                     column_config={"metric": st.column_config.TextColumn("metric", width="medium"),
                                    "definition": st.column_config.TextColumn("definition", width="large"),
                                    "reference": st.column_config.TextColumn("reference", width="large")})
        st.caption("Texture values are intensity roughness of the L* detail layer, not heights. The results repeat "
                   "these definitions under the metrics table; the full method is in docs/method.md.")


def main(sample_dir: str | Path) -> None:
    """Render the page. ``sample_dir`` holds the sample series (photos and lesion.png)."""
    sample_dir = Path(sample_dir)
    tune_launcher()  # the server process is ours (idempotent)
    cache.warm_colour_science()  # the chart step's colour maths, imported while the user picks photos
    st.set_page_config(page_title="texturecmp: skin change between sessions", layout="wide")
    st.title("texturecmp")
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.markdown("Measures, from photos of one skin area across treatment sessions, whether **skin texture** and "
                "**scar visibility** changed, by how much, and whether the change is larger than the "
                "measurement's own noise.")
    c2.button("Try the sample images", type="primary", on_click=_load_sample, args=(sample_dir,), key="sample_button")
    chart_dir = sample_dir.parent / "series_chart"
    if chart_dir.is_dir():
        c2.button("Try the calibrated sample (colour chart)", on_click=_load_sample, args=(chart_dir,),
                  key="sample_chart_button")
    _catalogue_block()

    compare_tab, history_tab = st.tabs(["Compare photos", "Subject history"])
    with compare_tab:
        _compare_page(sample_dir)
    with history_tab:
        records_view.history_view(_timeline_chart)


def _compare_page(sample_dir: Path) -> None:
    top = st.container()  # the answer, once there is one (filled by _results_section)
    sample_dir = _sample_dir(sample_dir)
    photos, labels, repeat, pixel_size, using_sample = _photos_section(sample_dir)
    if len(photos) < 2:
        return
    marks_box = st.container()  # 2 · the marks, drawn after the colour step has been read
    with st.container():
        colour_header = st.empty()
        colour_header.subheader("3 · Colour truth")
        colour = colour_view.colour_section(photos, header=colour_header, suffix="s" if using_sample else "u",
                                            draw_region=lambda region: _one_region(region, photos[0]))
    exclude = colour.exclude
    exclude_key = cache.mask_digest(exclude) if exclude is not None else None

    # what the core gets, for the preparation and the compute alike
    run = _Run([cache.photo_input(p.info, p.data, i) for i, p in enumerate(photos, start=1)],
               tuple(p.info.sha256 for p in photos), repeat, cache.digest(repeat) if repeat is not None else None,
               pixel_size, colour.settings, colour)

    def prepare(roi: np.ndarray | None, roi_hash: str | None) -> Future | None:
        """Start what does not depend on the lesion (decoding, registration, the baseline's
        roi families) in the background while the lesion is being marked (:func:`cache.prepare_series`)."""
        if not colour.ready:
            return None
        key = (run.shas, roi_hash, run.repeat_hash, run.pixel_size, run.settings.hash, colour.key)
        return cache.prepare_series(key, run.inputs, roi, run.repeat, run.pixel_size, run.settings, colour.core_kwargs())

    # the region to measure (the skin by default, or the whole photo) is known before the lesion
    # is marked: start with it (the lesion is added to the skin once marked; then the key changes)
    shape = (photos[0].info.height, photos[0].info.width)
    roi_method = st.session_state.get(f"method_roi_{'s' if using_sample else 'u'}", SKIN)
    if roi_method == "Whole photo":
        prepare(*_roi_without((None, None), exclude, exclude_key, shape))
    elif roi_method == SKIN:
        try:
            prepare(*_roi_without(cache.skin_region(photos[0].info.sha256, photos[0].info, photos[0].data),
                                  exclude, exclude_key, shape))
        except TextureCmpError:
            pass  # shown under the region's control by _marks_section
    with marks_box:
        masks, hashes, ready, roi_settled = _marks_section(photos[0], using_sample, sample_dir, exclude, exclude_key)
    prepared = prepare(masks["roi"], hashes["roi"]) if roi_settled else None
    if not (ready and colour.ready):
        return
    _results_section(photos, labels, masks, hashes, run, prepared, top)
    st.caption(f"texturecmp {tc.__version__} · everything runs on this computer; nothing is uploaded elsewhere.")
