"""The app's colour-truth step: what the follow-ups' colour is judged against.

Colour moves most between sessions (another room, lamp or phone). The core matches the
follow-up's exposure and white balance to the baseline with per-channel gains; estimated on
the skin being judged, those gains would also match away a real change of the skin's
colour, so without a colour truth the whole-region colour metrics (``COLOUR_TRUTH_METRICS``
of :mod:`texturecmp.compare`) are "not comparable: no colour reference". The step offers the
four answers of the core (``calibration=``, ``colour_reference=``, ``Settings.fixed_light``):

* **a colour chart in each photo**: detected in every photo (:func:`texturecmp.chart.calibrate`,
  cached by the photo's hash), shown outlined with each patch's error after correction, with
  a four-click fallback (the centres of the corner patches) for a photo where detection
  fails or picks the wrong place;
* **untreated skin as the colour reference**: a region drawn or uploaded on the baseline,
  left out of the region measured;
* **light and camera were fixed**: the user's statement, kept in the settings (and their hash);
* **none**: the whole region's colour is not compared (scar colour, lesion against the skin
  around it, still is).

The default is the chart when one is found in the baseline, else none; the page says which.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import streamlit as st

import texturecmp as tc
from texturecmp.errors import TextureCmpError
from texturecmp.ui import cache, render

__all__ = ["CHART", "COLOUR_REFERENCE", "FIXED", "NONE", "CHOICES", "ColourTruth", "corners_from_points",
           "colour_section", "truth_sentence"]

CHART = "A colour chart in each photo (ColorChecker Classic)"
COLOUR_REFERENCE = "Untreated skin marked as the colour reference"
FIXED = "Light and camera were fixed (same room, lamp and camera settings)"
NONE = "None: do not compare the whole region's colour"
CHOICES = (CHART, COLOUR_REFERENCE, FIXED, NONE)
#: The core's name (:attr:`texturecmp.Comparison.colour_truth`) of each choice.
KIND = {CHART: "chart", COLOUR_REFERENCE: "colour reference", FIXED: "fixed light", NONE: "none"}
#: How far beyond the outer patch centres the region measured keeps away from a chart found in
#: the baseline, in patch pitches: the card (0.85) and one pitch more. The card's edge inside
#: the region reads as texture: with the card's own outline (0.85) the calibrated sample's
#: medium-band texture read 1.25, 1.06, 1.06 L* over its sessions (and a false "blurred"
#: warning), with 1.85 it reads 0.70, 0.46, 0.22, as the same skin without a chart does.
CHART_KEEP_OUT = 1.85
#: The corner patches to click, in ChartCorners' order.
CORNER_PATCHES = ("1 · dark skin (brown)", "6 · bluish green", "24 · black", "19 · white")

_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}


@dataclass(frozen=True)
class ColourTruth:
    """What the page hands the core for colour: the choice, each photo's calibration (session
    order; None without a chart), the colour reference mask, the settings, the chart's mask on
    the baseline (kept out of the default region), a key for the caches and whether the step
    is complete."""

    choice: str = NONE
    calibrations: tuple | None = None
    colour_reference: np.ndarray | None = None
    colour_reference_hash: str | None = None
    settings: tc.Settings = dataclasses.field(default_factory=tc.Settings)
    exclude: np.ndarray | None = None
    key: tuple = ()
    ready: bool = True

    @property
    def kind(self) -> str:
        return KIND[self.choice]

    def core_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of compare_series / prepare_series for this colour truth."""
        kw: dict[str, Any] = {}
        if self.calibrations is not None:
            kw["calibration"] = list(self.calibrations)
        if self.colour_reference is not None:
            kw["colour_reference"] = self.colour_reference
        return kw


def corners_from_points(points: Sequence[tuple[float, float]], factor: float) -> tc.chart.ChartCorners:
    """ChartCorners from four points clicked on the photo shown at ``factor`` of its full size."""
    from texturecmp.chart import ChartCorners

    if len(points) != 4:
        raise tc.errors.BadSettingsError(f"chart corners: click exactly 4 points, got {len(points)}")
    return ChartCorners(tuple((float(x) / factor, float(y) / factor) for x, y in points))


def _points(json_data: dict | None) -> list[tuple[float, float]]:
    """Centres of the points clicked on a drawing canvas (Fabric.js objects), in canvas pixels."""
    out = []
    for obj in (json_data or {}).get("objects", []):
        w = float(obj.get("width", 0) or 0) * float(obj.get("scaleX", 1) or 1)
        h = float(obj.get("height", 0) or 0) * float(obj.get("scaleY", 1) or 1)
        x = float(obj.get("left", 0)) + (0.5 - _ORIGIN.get(obj.get("originX", "left"), 0.0)) * w
        y = float(obj.get("top", 0)) + (0.5 - _ORIGIN.get(obj.get("originY", "top"), 0.0)) * h
        out.append((x, y))
    return out


def _method_and_reference(settings: tc.Settings) -> tuple[str, str]:
    """The chart fit's colour-science method and reference data set named by the settings."""
    from texturecmp import settings as _s
    from texturecmp.chart import REFERENCES

    methods = getattr(_s, "CHART_METHODS", {})
    method = methods.get(getattr(settings, "chart_method", ""), "Cheung 2004")
    return method, getattr(settings, "chart_reference", REFERENCES[0])


def _click_corners(ph, *, width: int) -> tc.chart.ChartCorners | None:
    """The four-click fallback on one photo: returns the corners once four points are clicked."""
    from streamlit_drawable_canvas import st_canvas

    small = ph.info.small
    h, w = small.shape[:2]
    cw = min(width, w)
    ch = max(1, round(h * cw / w))
    st.caption("Click the **centres** of the four corner patches, in this order: "
               + ", then ".join(f"**{p}**" for p in CORNER_PATCHES)
               + " (clockwise when the chart is upright). Undo with the canvas' toolbar.")
    res = st_canvas(fill_color="rgba(255,0,255,0.9)", stroke_width=1, stroke_color="#ff00ff",
                    background_image=cache.data_url(f"canvas/{ph.info.sha256}", lambda: small), width=cw, height=ch,
                    drawing_mode="point", point_display_radius=4, background_image_fit="stretch",
                    key=f"chart_click_{ph.info.sha256[:12]}")
    pts = _points(res.json_data if res is not None else None)
    if len(pts) < 4:
        st.caption(f"{len(pts)} of 4 points clicked.")
        return None
    try:
        return corners_from_points(pts[:4], (cw / w) * ph.info.factor)
    except TextureCmpError as exc:
        st.error(f"{exc}. Clear the points and click the four corner patches again, in the order above.")
        return None


def colour_section(photos: Sequence[Any], *, header, suffix: str, draw_region: Callable[[str], Any]) -> ColourTruth:
    """The colour-truth step for the photos in session order (``header``: where its title goes;
    ``draw_region(region)``: the page's draw-or-upload control for a region on the baseline,
    returning (mask, hash) or (None, None)). Returns what the core is to be given."""
    base = photos[0]
    settings = tc.Settings()
    method, reference = _method_and_reference(settings)
    # is there a chart in the baseline? (the default, and the chart kept out of the default region)
    base_cal = None
    try:
        base_cal = cache.chart_calibration(base.info.sha256, base.info, base.data, None, method, reference)
    except TextureCmpError:
        base_cal = None
    found = base_cal is not None and base_cal.corners is not None
    key = f"colour_truth_{suffix}"
    default = CHART if found else NONE
    if key not in st.session_state or st.session_state.get(f"{key}__default") == st.session_state[key]:
        st.session_state[key] = default
    st.session_state[f"{key}__default"] = default
    st.caption("Colour moves most between sessions: another room, lamp or phone. Say what the follow-ups' colour "
               "is judged against. Without it, the colour of the whole region (L*, a*, b*, ITA, erythema and "
               "melanin indices) is **not comparable**; scar colour (the lesion against the skin around it) is "
               "compared either way.")
    choice = st.radio("Colour truth", CHOICES, key=key, label_visibility="collapsed")
    if st.session_state.get(f"{key}__default") == choice:
        st.caption(("Chosen for you: a colour chart was found in the baseline." if found else
                    "Chosen for you: no colour chart was found in the baseline.") + " Change it above if needed.")
    exclude = None
    if found:
        from texturecmp.chart import chart_mask

        exclude = cache.frozen_mask(f"chartmask/{base.info.sha256}/{base_cal.corners.points}/{CHART_KEEP_OUT}",
                                    lambda: chart_mask((base.info.height, base.info.width), base_cal.corners,
                                                       margin=CHART_KEEP_OUT))
    out = ColourTruth(choice=choice, settings=settings, exclude=exclude, key=(KIND[choice],))
    done = True
    if choice == CHART:
        cals, keys = [], []
        cols = st.columns(min(len(photos), 3))
        for i, ph in enumerate(photos):
            with cols[i % len(cols)]:
                st.markdown(f"**Photo {i + 1}**" + (" (baseline)" if i == 0 else ""))
                clicked = st.session_state.get(f"chart_corners_{ph.info.sha256}")
                try:
                    cal = cache.chart_calibration(ph.info.sha256, ph.info, ph.data, clicked, method, reference)
                except TextureCmpError as exc:
                    st.error(f"The chart cannot be read: {exc}")
                    cal = None
                if cal is not None:
                    pic = cache.picture(f"chart/{ph.info.sha256}/{clicked}/{method}/{reference}",
                                        lambda ph=ph, cal=cal: render.chart_picture(ph.info.small, cal, ph.info.factor))
                    st.image(pic, width="stretch", caption="Chart outlined (magenta); each patch's read window by "
                             "its error after correction: green < 2, orange < 4, red ≥ 4 ΔE00, grey not used")
                    if cal.ok:
                        st.success(f"{cal.message[0].upper()}{cal.message[1:]}.".replace("..", "."))
                    else:
                        st.warning(f"No usable chart: {cal.message}. This photo is measured in device colour. "
                                   "Mark the chart by hand below, or choose another colour truth.")
                        done = False
                # the drawing canvas (a component with its own page code) is only mounted while the
                # expander is open: on_change="rerun" keeps its open state in the session
                hand = f"chart_hand_{ph.info.sha256[:12]}"
                opened = cal is not None and not cal.ok and not clicked
                with st.expander("Mark the chart by hand (4 clicks)" + (" · :green[:material/check_circle: marked]"
                                                                         if clicked else ""), expanded=opened,
                                 key=hand, on_change="rerun"):
                    corners = _click_corners(ph, width=420) if st.session_state.get(hand, opened) else None
                    if corners is not None and corners.points != clicked:
                        st.session_state[f"chart_corners_{ph.info.sha256}"] = corners.points
                        st.rerun()
                    if clicked and st.button("Find the chart automatically again", key=f"chart_auto_{ph.info.sha256[:12]}"):
                        del st.session_state[f"chart_corners_{ph.info.sha256}"]
                        st.rerun()
                cals.append(cal)
                keys.append((ph.info.sha256, clicked, method, reference))
        out = dataclasses.replace(out, calibrations=tuple(cals), key=("chart", tuple(keys)))
    elif choice == COLOUR_REFERENCE:
        st.caption("Mark skin that the treatment does not reach (the same skin in every photo: it is carried into "
                   "the follow-ups by the registration). It is left out of the region measured; the follow-ups' "
                   "exposure and white balance are matched on it, so the treated skin's colour change shows.")
        mask, h = draw_region("colour_reference")
        if mask is None:
            done = False
        out = dataclasses.replace(out, colour_reference=mask, colour_reference_hash=h, key=("colour reference", h))
    elif choice == FIXED:
        st.caption("Stated by you: every photo was taken in the same room, under the same lamp, with the same camera "
                   "and settings. The follow-ups' colour is then taken as it is (no gains estimated on the skin), and "
                   "the statement is kept in the settings, the reports and the records.")
        try:
            settings = tc.Settings(fixed_light=True)
        except TypeError:  # a core without the colour-truth settings
            st.error("This texturecmp has no fixed-light setting.")
            done = False
        out = dataclasses.replace(out, settings=settings, key=("fixed light",))
    header.subheader("3 · Colour truth" + (f" {_done()}" if done else ""))
    return dataclasses.replace(out, ready=done or choice == CHART)


def _done() -> str:
    return ":green[:material/check_circle: done]"


truth_sentence = render.truth_sentence
