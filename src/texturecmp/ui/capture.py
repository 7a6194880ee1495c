"""The capture step's check of a new shot against the baseline, in plain words (no Streamlit).

Repeatability is won or lost at capture: this looks at what a clinician can still correct
before keeping the shot (distance, angle, focus, glare, exposure) and says it in words.
It measures nothing for the results: the kept shot goes through the core like any upload.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import cv2
import numpy as np

import texturecmp as tc
from texturecmp.errors import UnreadableImageError

__all__ = ["ShotCheck", "check_shot", "decode_data_url"]

#: Limits of the check (chosen for guidance, not measurement): relative framing scale, degrees,
#: sharpness ratio, clipped fraction, mean luma difference in 8-bit codes.
SCALE_TOLERANCE = 0.05
ANGLE_TOLERANCE = 3.0
#: A treatment that smooths the skin lowers the sharpness too (the sample's sessions: 0.49 and 0.13 of the
#: baseline's); a defocus of 1.5 px (Gaussian sigma) gives 0.04. Below this ratio the shot is called blurred.
SHARPNESS_RATIO = 0.08
CLIPPED_FRACTION = 0.01
EXPOSURE_CODES = 20.0


@dataclass(frozen=True)
class ShotCheck:
    """The check of a shot: ``ok`` when nothing needs correcting; ``advice`` in plain words."""

    ok: bool
    advice: tuple[str, ...]
    scale: float  # the skin's size in the shot relative to the baseline (1 = same framing)
    rotation_deg: float
    aligned: bool


def decode_data_url(url: str) -> bytes:
    """The bytes of a ``data:image/...;base64,`` URL (the camera component's shot)."""
    head, _, b64 = (url or "").partition(",")
    if not head.startswith("data:image/") or ";base64" not in head or not b64:
        raise UnreadableImageError("camera shot: not an image")
    try:
        return base64.b64decode(b64, validate=True)
    except ValueError:
        raise UnreadableImageError("camera shot: damaged image data") from None


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian at a common working size (long side 768 px)."""
    h, w = gray.shape
    f = 768 / max(h, w)
    g = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(g.astype(np.float32), cv2.CV_32F).var())


def check_shot(baseline: np.ndarray, shot: np.ndarray) -> ShotCheck:
    """Compare a new shot (uint8 RGB) with the baseline (uint8 RGB) and say what to correct.

    Scale and angle come from :func:`texturecmp.register` (the skin's size relative to the
    baseline, corrected for the two photos' resolutions); sharpness is the variance of the
    Laplacian at a common size; glare is the fraction of pixels with every channel at 250
    or more; exposure the difference of mean luma.
    """
    gb, gs = _gray(baseline), _gray(shot)
    advice: list[str] = []
    al = tc.register(gb.astype(np.float32), gs.astype(np.float32))
    res = max(gs.shape) / max(gb.shape)
    scale = al.scale / res if res > 0 else float("nan")
    if not al.ok:
        advice.append("The shot could not be lined up with the baseline: show the same skin area, framed as in the "
                      "ghost picture.")
    else:
        if abs(scale - 1) > SCALE_TOLERANCE:
            pct = abs(scale - 1) * 100
            advice.append(f"About {pct:.0f} % closer than the baseline; step back a little." if scale > 1 else
                          f"About {pct:.0f} % farther than the baseline; come a little closer.")
        if abs(al.rotation_deg) > ANGLE_TOLERANCE:
            side = "clockwise" if al.rotation_deg > 0 else "anticlockwise"
            advice.append(f"Turned about {abs(al.rotation_deg):.0f}° {side} against the baseline; hold the camera level "
                          "with the ghost picture.")
    sb, ss = _sharpness(gb), _sharpness(gs)
    if sb > 0 and ss < SHARPNESS_RATIO * sb:
        advice.append("Blurred: far less sharp than the baseline. Hold still and let the camera focus.")
    clipped = float(np.mean(np.all(shot >= 250, axis=2)))
    if clipped > CLIPPED_FRACTION:
        advice.append(f"Glare or overexposure on {clipped:.0%} of the photo; move the light or tilt the skin away from it.")
    diff = float(gs.mean()) - float(gb.mean())
    if abs(diff) > EXPOSURE_CODES:
        advice.append("Brighter than the baseline; reduce the light or the exposure." if diff > 0 else
                      "Darker than the baseline; add light.")
    return ShotCheck(not advice, tuple(advice), float(scale), float(al.rotation_deg), bool(al.ok))
