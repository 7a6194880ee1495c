"""Write the calibrated sample series ``sample_images/series_chart/`` (deterministic, fixed seeds).

Usage::

    python scripts/make_sample_chart.py [--out sample_images]

Three sessions of one synthetic scar (:func:`texturecmp.phantoms.skin_phantom`, seed 11 as
``series_scar``), each photographed with an X-Rite/Calibrite ColorChecker Classic held in
the frame, under a different light and, for the last session, another camera:

* the **scene** of each session is the phantom rendered without any capture nuisance
  (exposure 1, white balance 1, its own sensor noise) plus the chart, both in linear
  sRGB (D65) relative to a perfect white: the chart's 24 patches take their reference
  values (:func:`texturecmp.chart.reference_patches` of "ColorChecker24 - After November
  2014", the calibration's default reference; the cyan's slightly negative red is clipped
  to 0) on a card of reflectance 0.03;
* the **capture** multiplies the scene by a 3 x 3 camera crosstalk matrix (identity for
  the first camera), per-channel light gains (a von Kries cast), an exposure and 0.8
  (so that the white patch is not clipped), then encodes sRGB, 8 bits, JPEG quality 92
  without metadata.

The treatment fades the scar and smooths the texture as in ``series_scar`` and also
lowers the skin's redness: the phantom's base tone has a* lowered by 1.5 and 3.0 (CIE
L*a*b*, D65) in sessions 1 and 2. So with the chart (colour calibrated) the whole-region
colour metrics show that change; without a colour truth the per-channel gains estimated on
the skin would match it away (the app then reads "not comparable: no colour reference").

Writes ``session0_baseline.jpg``, ``session1.jpg``, ``session2.jpg``, ``lesion.png`` (the
scar on the baseline's grid) and ``truth.json`` (per photo: the phantom's truth, the light,
the camera matrix, the exposure, the skin's true base L*a*b* and the chart's corner patch
centres as :class:`texturecmp.chart.ChartCorners` points).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from texturecmp.chart import REFERENCES, reference_patches  # noqa: E402
from texturecmp.phantoms import SkinParams, save_image, save_mask, skin_phantom  # noqa: E402

__all__ = ["SESSIONS", "make_series_chart", "main"]

SHAPE = (768, 1024)
SEED = 11
QUALITY = 92
FOLDER = "series_chart"
#: Headroom of the capture: the scene's perfect white maps to 0.8 before light and exposure.
HEADROOM = 0.8
#: The chart: patch pitch in pixels, patch side as a fraction of the pitch, card margin beyond
#: the outer patch centres (in pitches) and the card's reflectance.
PITCH_PX = 36.0
PATCH = 0.8
CARD_MARGIN = 0.85
CARD_REFLECTANCE = 0.03
BASE_RGB = SkinParams().base_rgb

#: file -> treatment, a* change of the skin, nuisances of the skin, light gains, exposure,
#: camera crosstalk (rows sum to 1), chart centre (x, y) and rotation (degrees, counter-clockwise)
SESSIONS: list[tuple[str, dict[str, Any]]] = [
    ("session0_baseline.jpg", {"treatment": 0.0, "delta_a": 0.0, "shift_px": (0.0, 0.0), "rotation_deg": 0.0,
                               "light": (1.0, 1.0, 1.0), "exposure": 1.0, "camera": "A",
                               "chart_centre": (150.0, 650.0), "chart_rotation_deg": 2.0}),
    ("session1.jpg", {"treatment": 0.35, "delta_a": -1.5, "shift_px": (8.0, -5.0), "rotation_deg": 0.6,
                      "light": (1.16, 1.0, 0.80), "exposure": 1.08, "camera": "A",
                      "chart_centre": (162.0, 640.0), "chart_rotation_deg": -3.0}),
    ("session2.jpg", {"treatment": 0.7, "delta_a": -3.0, "shift_px": (-6.0, 4.0), "rotation_deg": -0.4,
                      "light": (0.92, 1.0, 1.12), "exposure": 0.93, "camera": "B",
                      "chart_centre": (145.0, 655.0), "chart_rotation_deg": 4.0}),
]
#: Camera matrices applied to linear sRGB (camera B mixes its channels, as another sensor would).
CAMERAS = {"A": np.eye(3),
           "B": np.array([[0.90, 0.08, 0.02], [0.05, 0.90, 0.05], [0.02, 0.10, 0.88]])}


def _srgb_to_lin(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _lin_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055)


def _tone(delta_a: float) -> tuple[tuple[float, float, float], list[float]]:
    """The phantom's base sRGB with a* moved by ``delta_a`` (CIE L*a*b*, D65), and that L*a*b*."""
    import colour

    lab = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(np.array(BASE_RGB)))
    lab = lab + np.array([0.0, delta_a, 0.0])
    rgb = np.clip(colour.XYZ_to_sRGB(colour.Lab_to_XYZ(lab)), 0.0, 1.0)
    return tuple(float(x) for x in rgb), [round(float(x), 3) for x in lab]


def _chart_homography(centre: tuple[float, float], rotation_deg: float) -> np.ndarray:
    """Grid coordinates (column 0-5, row 0-3 of the patch centres) -> photo pixels."""
    t = math.radians(rotation_deg)
    c, s = math.cos(t), math.sin(t)
    # a rotation counter-clockwise as displayed (y down), about the chart's centre (column 2.5, row 1.5)
    a = np.array([[PITCH_PX * c, PITCH_PX * s], [-PITCH_PX * s, PITCH_PX * c]])
    off = np.array(centre) - a @ np.array([2.5, 1.5])
    return np.array([[a[0, 0], a[0, 1], off[0]], [a[1, 0], a[1, 1], off[1]], [0.0, 0.0, 1.0]])


def _project(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts, np.ones(len(pts))] @ H.T
    return p[:, :2] / p[:, 2:]


def _render_chart(shape: tuple[int, int], H: np.ndarray, *, oversample: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The chart in linear sRGB (H, W, 3) and its coverage (H, W) in [0, 1], anti-aliased."""
    lin, _ = reference_patches()
    lin = np.clip(lin, 0.0, None)
    h, w = shape
    big = np.zeros((h * oversample, w * oversample, 3), np.float32)
    cover = np.zeros((h * oversample, w * oversample), np.float32)
    Hs = np.diag([oversample, oversample, 1.0]) @ H
    card = np.array([[-CARD_MARGIN, -CARD_MARGIN], [5 + CARD_MARGIN, -CARD_MARGIN], [5 + CARD_MARGIN, 3 + CARD_MARGIN],
                     [-CARD_MARGIN, 3 + CARD_MARGIN]])
    poly = np.round(_project(Hs, card)).astype(np.int32)
    cv2.fillConvexPoly(big, poly, (CARD_REFLECTANCE,) * 3)
    cv2.fillConvexPoly(cover, poly, 1.0)
    half = PATCH / 2
    for k in range(24):
        r, col = divmod(k, 6)
        sq = np.array([[col - half, r - half], [col + half, r - half], [col + half, r + half], [col - half, r + half]])
        cv2.fillConvexPoly(big, np.round(_project(Hs, sq)).astype(np.int32), tuple(float(v) for v in lin[k]))
    small = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    cov = cv2.resize(cover, (w, h), interpolation=cv2.INTER_AREA)
    return small, cov


def make_series_chart(out: Path) -> int:
    """Render ``series_chart`` into ``out``; return the bytes written."""
    d = out / FOLDER
    d.mkdir(parents=True, exist_ok=True)
    truths: dict[str, Any] = {}
    for i, (name, s) in enumerate(SESSIONS):
        rgb_tone, lab = _tone(s["delta_a"])
        ph = skin_phantom(SHAPE, seed=SEED, params=SkinParams(base_rgb=rgb_tone), treatment=s["treatment"],
                          shift_px=s["shift_px"], rotation_deg=s["rotation_deg"])
        scene = _srgb_to_lin(ph.rgb)
        H = _chart_homography(s["chart_centre"], s["chart_rotation_deg"])
        chart, cover = _render_chart(SHAPE, H)
        scene = scene * (1.0 - cover[..., None]) + chart * cover[..., None]
        cam = CAMERAS[s["camera"]]
        captured = (scene @ cam.T) * np.array(s["light"]) * (s["exposure"] * HEADROOM)
        save_image(d / name, _lin_to_srgb(captured).astype(np.float32), quality=QUALITY)
        corners = _project(H, np.array([[0.0, 0.0], [5.0, 0.0], [5.0, 3.0], [0.0, 3.0]]))  # patches 1, 6, 24, 19
        truth = dict(ph.truth)
        truth.update({"jpeg_quality": QUALITY, "skin_base_lab": lab, "delta_a": s["delta_a"],
                      "light_gains": list(s["light"]), "exposure": s["exposure"], "headroom": HEADROOM,
                      "camera": s["camera"], "camera_matrix": CAMERAS[s["camera"]].tolist(),
                      "chart": {"reference": REFERENCES[0], "pitch_px": PITCH_PX,
                                "rotation_deg": s["chart_rotation_deg"],
                                "corner_patch_centres": [[round(float(x), 2), round(float(y), 2)] for x, y in corners]}})
        truths[name] = truth
        if i == 0:
            save_mask(d / "lesion.png", ph.lesion)
    (d / "truth.json").write_text(json.dumps(truths, indent=1) + "\n")
    return sum(f.stat().st_size for f in d.iterdir() if f.is_file())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "sample_images")
    args = ap.parse_args(argv)
    n = make_series_chart(args.out)
    print(f"{FOLDER}: {n / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
