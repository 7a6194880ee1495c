"""Synthetic photos of a ColorChecker Classic beside skin, rendered from spectra (test support).

Used by ``tests/test_chart.py`` and ``benchmarks/validate_chart.py`` to check
:mod:`texturecmp.chart` against a known truth. Independent of texturecmp's own colour
code: the spectral data and colorimetry come from colour-science, the skin from
``tests/skin2.py``.

Scene
-----
* **Chart**: the 24 "BabelColor Average" reflectance spectra (colour-science), patches
  of side ``0.8`` pitch on a card of reflectance 0.03 (flat) reaching 0.85 pitch beyond
  the outer patch centres.
* **Skin**: a skin2 patch (``tests/skin2.py``) whose sRGB pixels define the skin's true
  colour under D65. Each pixel's reflectance is a mixture ``sum_i w_i B_i`` of three
  smooth skin-like spectra ``B_i`` (colour-science's Jakob 2019 recovery of three skin
  tones) with the weights that give exactly that pixel's CIE XYZ under D65 (CIE 1931
  2°): so the skin's true L*a*b* is known and its spectrum is not one of the chart's
  (the chart's matrix has to generalise, metamerism included).

Capture (:class:`Shot`)
-----------------------
Camera ``"lab"`` renders without spectra (the issue's "rendered from known Lab"): the
chart's and the skin's D65 linear sRGB times per-channel gains, the white of the
``"ideal"`` camera under the illuminant (a von Kries cast, which a 3 x 3 matrix undoes
exactly). The spectral cameras compute
``raw_c = sum_lambda R(lambda) E_T(lambda) S_c(lambda)``, with ``E_T`` a Planckian
radiator (T < 4000 K) or CIE D-series daylight (T >= 4000 K) and ``S`` the camera:
``"ideal"`` (the CIE 1931 observer, then XYZ -> linear sRGB), ``"nikon"`` (Nikon D5100
sensitivities, NPL) or ``"sigma"`` (Sigma SD Merrill, NPL, a Foveon sensor with strong
overlap), the latter two followed by the camera's own 3 x 3 matrix (least squares on the
chart under D65, as a factory matrix would be). Then the camera's white balance corrects
a fraction ``awb`` of the cast (gains ``(w_D65 / w_T)^awb`` on the perfect white ``w``),
an optional ``crosstalk`` matrix (rows summing to 1) mixes the channels, the exposure
scales the image so that the perfect white's largest channel is ``0.65 * exposure``,
a Gaussian ``blur_px`` blurs it (in linear light), the sRGB transfer encodes it,
Gaussian noise of ``noise`` 8-bit units is added, it is rounded to 8 bits and
optionally JPEG-compressed (Pillow, 4:2:0).

Geometry: the chart's card is placed by a homography: a similarity (pitch ``pitch_px``,
``rotation_deg`` counter-clockwise, centre ``centre``) whose four card corners are then
moved by up to ``perspective`` x the card's diagonal (seeded).
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
from PIL import Image as PILImage

from skin2 import SKINS, Skin2Spec, render as render_skin

__all__ = ["Shot", "Render", "render", "random_shot", "crosstalk", "true_lab", "CAMERAS"]

CAMERAS = ("lab", "ideal", "nikon", "sigma")
_SHAPE = (400.0, 700.0, 10.0)
_RGB2XYZ = np.array([[0.412453, 0.357580, 0.180423],
                     [0.212671, 0.715160, 0.072169],
                     [0.019334, 0.119193, 0.950227]])  # OpenCV's sRGB D65 matrix
_WHITE = _RGB2XYZ.sum(axis=1)
_PATCH_SIDE = 0.8
_CARD_MARGIN = 0.85
_CARD_REFLECTANCE = 0.03


@functools.cache
def _colour() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour  # noqa: PLC0415
    return colour


@functools.cache
def _spectra() -> dict[str, np.ndarray]:
    """All spectral data on 400-700 nm in 10 nm steps (31 samples)."""
    colour = _colour()
    shape = colour.SpectralShape(*_SHAPE)
    wl = shape.wavelengths
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"].copy().align(shape).values
    chart = np.array([sd.copy().align(shape).values for sd in colour.SDS_COLOURCHECKERS["BabelColor Average"].values()])
    d65 = colour.SDS_ILLUMINANTS["D65"].copy().align(shape).values
    cams = {k: colour.MSDS_CAMERA_SENSITIVITIES[n].copy().align(shape).values
            for k, n in (("nikon", "Nikon 5100 (NPL)"), ("sigma", "Sigma SDMerill (NPL)"))}
    # three smooth skin-like spectra (light, red, tan), XYZ under D65 as in texturecmp
    basis = []
    for lab in ((74.0, 9.0, 15.0), (52.0, 22.0, 20.0), (46.0, 10.0, 30.0)):
        xyz = colour.Lab_to_XYZ(lab, colour.xyY_to_xy(colour.XYZ_to_xyY(_WHITE)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sd = colour.XYZ_to_sd(xyz, method="Jakob 2019", illuminant=colour.SDS_ILLUMINANTS["D65"])
        basis.append(np.clip(sd.copy().align(shape).values, 0.0, 1.0))
    return {"wl": wl, "cmfs": cmfs, "chart": chart, "d65": d65, **cams, "basis": np.array(basis)}


def _illuminant(T: float) -> np.ndarray:
    colour = _colour()
    shape = colour.SpectralShape(*_SHAPE)
    if T < 4000:
        sd = colour.sd_blackbody(T, shape)
    else:
        xy = colour.temperature.CCT_to_xy_CIE_D(T * 1.4388 / 1.4380)
        sd = colour.sd_CIE_illuminant_D_series(xy)
    return sd.copy().align(shape).values


def _xyz_d65(refl: np.ndarray) -> np.ndarray:
    """XYZ (Y of the perfect white = 1) of reflectances (..., 31) under D65."""
    s = _spectra()
    w = s["d65"][:, None] * s["cmfs"]
    return refl @ w / (s["d65"] @ s["cmfs"][:, 1])


def true_lab(lin_srgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of linear sRGB (..., 3), the renderer's truth (own code, not texturecmp's)."""
    xyz = np.asarray(lin_srgb, np.float64) @ _RGB2XYZ.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(np.maximum(xyz, 0)), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


@functools.cache
def _camera(camera: str, T: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chart raw (24, 3), skin matrix (3, 3) from scene linear sRGB to raw, white raw (3,)) in the camera's output RGB."""
    s = _spectra()
    E = _illuminant(T)
    if camera == "lab":  # no spectra: the cast is the colorimetric camera's white as channel gains
        _, _, white = _camera("ideal", T)
        chart = _xyz_d65(s["chart"]) @ np.linalg.inv(_RGB2XYZ).T * white
        return chart, np.diag(white), white
    if camera == "ideal":
        sens = s["cmfs"] @ np.linalg.inv(_RGB2XYZ).T  # colorimetric: XYZ -> linear sRGB
        fix = np.eye(3)
    elif camera in ("nikon", "sigma"):
        sens = s[camera]
        raw65 = s["chart"] @ (s["d65"][:, None] * sens)
        target = _xyz_d65(s["chart"]) @ np.linalg.inv(_RGB2XYZ).T
        fix, *_ = np.linalg.lstsq(raw65, target, rcond=None)  # the camera's own matrix (rows: raw -> sRGB)
    else:
        raise ValueError(f"camera must be one of {CAMERAS}, got {camera!r}")
    resp = (E[:, None] * sens) @ fix  # (31, 3): reflectance spectrum -> camera RGB
    norm = 1.0 / (np.ones(31) @ resp)[1]
    resp = resp * norm
    chart = s["chart"] @ resp
    white = np.ones(31) @ resp
    B = s["basis"]  # (3, 31)
    MB = _xyz_d65(B)  # (3 basis, 3 XYZ)
    # scene lin sRGB -> XYZ -> basis weights -> raw
    K = _RGB2XYZ.T @ np.linalg.inv(MB) @ (B @ resp)  # rows: lin sRGB channel -> raw (x @ K)
    return chart, K, white


def crosstalk(seed: int, strength: float = 0.12) -> tuple[tuple[float, ...], ...]:
    """A random channel-mixing matrix: off-diagonals uniform in +-strength, rows summing to 1."""
    rng = np.random.default_rng(seed)
    M = np.eye(3) + rng.uniform(-strength, strength, (3, 3)) * (1 - np.eye(3))
    M += np.diag(1.0 - M.sum(axis=1))
    return tuple(tuple(float(v) for v in row) for row in M)


@dataclass(frozen=True)
class Shot:
    """How a synthetic photo is taken (see the module docstring)."""

    shape: tuple[int, int] = (900, 1200)
    pitch_px: float = 40.0
    centre: tuple[float, float] | None = None  # (x, y); default: right third
    rotation_deg: float = 0.0
    perspective: float = 0.0
    cct_k: float = 6500.0
    camera: str = "ideal"
    crosstalk: tuple[tuple[float, ...], ...] | None = None
    awb: float = 0.5
    exposure: float = 1.0
    blur_px: float = 0.0
    noise: float = 0.0
    jpeg: int | None = None
    glare: tuple[float, float, float] | None = None  # (patch number 1-24, radius in pitches, strength)
    skin: Skin2Spec = field(default_factory=lambda: replace(SKINS["fair_flat"], scar=False))
    skin_lab_shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seed: int = 0


@dataclass(frozen=True)
class Render:
    """A rendered photo and its truth."""

    rgb: np.ndarray  # uint8 (H, W, 3)
    corners: tuple[tuple[float, float], ...]  # centres of patches 1, 6, 24, 19
    chart_mask: np.ndarray  # bool, the card
    skin_mask: np.ndarray  # bool, skin at least 0.5 pitch away from the card
    skin_lin: np.ndarray  # (3,) mean true linear sRGB (D65) over skin_mask
    skin_lab: np.ndarray  # (3,) its L*a*b*
    shot: Shot


def _card_homography(shot: Shot) -> np.ndarray:
    h, w = shot.shape
    cx, cy = shot.centre if shot.centre is not None else (0.72 * w, 0.5 * h)
    m = _CARD_MARGIN
    card = np.array([(-m, -m), (5 + m, -m), (5 + m, 3 + m), (-m, 3 + m)])
    th = math.radians(shot.rotation_deg)
    R = np.array([[math.cos(th), math.sin(th)], [-math.sin(th), math.cos(th)]])  # counter-clockwise on screen
    dst = (card - (2.5, 1.5)) * shot.pitch_px @ R.T + (cx, cy)
    if shot.perspective > 0:
        diag = shot.pitch_px * math.hypot(5 + 2 * m, 3 + 2 * m)
        rng = np.random.default_rng(np.random.SeedSequence([shot.seed, 0xC4A27]))
        dst = dst + rng.uniform(-1, 1, (4, 2)) * shot.perspective * diag
    return cv2.getPerspectiveTransform(card.astype(np.float32), dst.astype(np.float32)).astype(np.float64)


def _project(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts, np.ones(len(pts))] @ H.T
    return p[:, :2] / p[:, 2:3]


def render(shot: Shot) -> Render:
    """Render a photo of skin with a chart (module docstring)."""
    h, w = shot.shape
    chart_raw, K, white = _camera(shot.camera, float(shot.cct_k))
    _, _, white65 = _camera(shot.camera, 6500.0)
    # skin: true linear sRGB from skin2 (its own Lab model), optional colour shift in Lab
    sk = render_skin(shot.skin, shape=(h, w), seed=shot.seed)
    lin_true = _srgb_decode(sk.rgb.astype(np.float64) / 255.0)
    if any(shot.skin_lab_shift):
        lab = true_lab(lin_true) + np.asarray(shot.skin_lab_shift)
        lin_true = _lab_to_lin(lab)
    raw = (lin_true.reshape(-1, 3) @ K).reshape(h, w, 3)
    # chart canvas in card coordinates, q px per pitch, then warped into the photo
    H = _card_homography(shot)
    q = max(8, int(math.ceil(shot.pitch_px * 1.5)))
    m = _CARD_MARGIN
    cw, ch = int(round((5 + 2 * m) * q)), int(round((3 + 2 * m) * q))
    canvas = np.empty((ch, cw, 3), np.float32)
    canvas[:] = _CARD_REFLECTANCE * white
    half = _PATCH_SIDE / 2
    for k in range(24):
        c, r = k % 6, k // 6
        x0, x1 = int(round((c + m - half) * q)), int(round((c + m + half) * q))
        y0, y1 = int(round((r + m - half) * q)), int(round((r + m + half) * q))
        canvas[y0:y1, x0:x1] = chart_raw[k]
    # canvas pixel (i + 0.5) / q - m  <->  card coordinate
    S = np.array([[1 / q, 0, 0.5 / q - m], [0, 1 / q, 0.5 / q - m], [0, 0, 1]])
    Hc = H @ S
    if q > 2 * shot.pitch_px:  # prefilter the canvas for its down-scaling
        canvas = cv2.GaussianBlur(canvas, (0, 0), 0.5 * q / shot.pitch_px)
    warped = cv2.warpPerspective(canvas, Hc, (w, h), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(np.ones((ch, cw), np.float32), Hc, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    raw = raw * (1 - alpha) + warped * alpha
    if shot.glare is not None:
        k, rad, strength = shot.glare
        k = int(k) - 1
        cxy = _project(H, np.array([[k % 6, k // 6]], np.float64))[0]
        yy, xx = np.mgrid[0:h, 0:w]
        g = np.exp(-((xx - cxy[0]) ** 2 + (yy - cxy[1]) ** 2) / (2 * (rad * shot.pitch_px) ** 2))
        raw = raw + strength * g[..., None] * white
    # camera processing
    gains = (white65 / white) ** shot.awb
    raw = raw * gains
    wb_white = white * gains
    if shot.crosstalk is not None:
        X = np.asarray(shot.crosstalk, np.float64)
        raw = raw @ X.T
        wb_white = wb_white @ X.T
    raw = raw * (0.65 * shot.exposure / wb_white.max())
    if shot.blur_px > 0:
        raw = cv2.GaussianBlur(raw.astype(np.float32), (0, 0), shot.blur_px).astype(np.float64)
    v = _srgb_encode(np.clip(raw, 0.0, 1.0)) * 255.0
    if shot.noise > 0:
        v = v + np.random.default_rng(np.random.SeedSequence([shot.seed, 0x9015E])).normal(0.0, shot.noise, v.shape)
    out = np.clip(np.rint(v), 0, 255).astype(np.uint8)
    if shot.jpeg is not None:
        buf = io.BytesIO()
        PILImage.fromarray(out).save(buf, format="JPEG", quality=int(shot.jpeg), subsampling=2)
        out = np.asarray(PILImage.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    # truth
    corners = _project(H, np.array([(0, 0), (5, 0), (5, 3), (0, 3)], np.float64))
    card = alpha[..., 0] > 0.5
    near = cv2.dilate(card.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, int(shot.pitch_px / 2)))
    skin_mask = ~near.astype(bool)
    skin_lin = lin_true[skin_mask].mean(axis=0)
    return Render(out, tuple(map(tuple, corners)), card, skin_mask, skin_lin, true_lab(skin_lin), shot)


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(np.maximum(c, 0), 1 / 2.4) - 0.055)


def _lab_to_lin(lab: np.ndarray) -> np.ndarray:
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE
    return xyz @ np.linalg.inv(_RGB2XYZ).T


def random_shot(seed: int, *, shape: tuple[int, int] = (900, 1200), **fixed: Any) -> Shot:
    """A shot drawn from the issue's ranges: 2700-6500 K, exposure 0.6-1.4, the three cameras with
    a crosstalk matrix half the time, blur 0-1.5 px, noise 0.5-3 (8-bit), JPEG 75-95 (or none, 1 in 5),
    rotation +-20 deg, perspective 0-0.04, pitch 28-60 px, a random position and skin tone; the four
    cameras of :data:`CAMERAS` equally often."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5407]))
    h, w = shape
    pitch = float(rng.uniform(28, 60))
    half_w, half_h = 4.5 * pitch, 3.8 * pitch
    skin = replace(SKINS[("fair_mottled", "fair_flat", "olive_flat", "dark")[int(rng.integers(4))]], scar=False)
    kw: dict[str, Any] = dict(
        shape=shape, pitch_px=pitch,
        centre=(float(rng.uniform(half_w, w - half_w)), float(rng.uniform(half_h, h - half_h))),
        rotation_deg=float(rng.uniform(-20, 20)), perspective=float(rng.uniform(0, 0.04)),
        cct_k=float(rng.uniform(2700, 6500)), camera=CAMERAS[int(rng.integers(len(CAMERAS)))],
        crosstalk=crosstalk(seed) if rng.random() < 0.5 else None, exposure=float(rng.uniform(0.6, 1.4)),
        blur_px=float(rng.uniform(0, 1.5)), noise=float(rng.uniform(0.5, 3.0)),
        jpeg=None if rng.random() < 0.2 else int(rng.integers(75, 96)), skin=skin, seed=seed,
    )
    kw.update(fixed)
    return Shot(**kw)
