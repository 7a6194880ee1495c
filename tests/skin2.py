"""A second, independent synthetic skin generator ("skin2") for validation.

texturecmp's capture-error model (its verdict thresholds) is calibrated on
``texturecmp.phantoms`` and a few real photos (``scripts/calibrate_capture.py``). Checking the verdicts on those same phantoms would only show
that the calibration fits its own data; this module renders skin with a different
model (its own noise fields, pore, line and scar shapes and colour maths), so that a
verdict that holds here holds on skin the project never tuned on. It deliberately
imports nothing from texturecmp (``tests/test_skin2.py`` checks that with ``ast``) and
uses only numpy, OpenCV and Pillow.

Scene model
-----------
The scene is rendered directly in CIE L*a*b* (D65 white) on the photo's pixel grid:

``L* = L0 + m_L(x) + s(x) * T(x) + w(x) * dL``,
``a* = a0 + m_a(x) + w(x) * da``,  ``b* = b0 + m_b(x) + w(x) * db``

* ``m`` (mottle) is a spectrally synthesised field: white Gaussian noise filtered in the
  Fourier domain by ``|f|^-1 * exp(-(|f| / f_m)^2)`` with ``f_m = 1 / 90`` cycles/px,
  scaled to unit standard deviation; ``m_L = -mottle * g``, ``m_a = 0.7 * mottle * g``,
  ``m_b = 0.35 * mottle * g2`` (``g2`` an independent field), i.e. redder blotches are
  darker, as erythema is.
* ``T`` (texture) is ``grain * G + P + W`` minus its image mean (so ``L0`` is the mean
  lightness):  ``G`` is unit-variance noise band-passed with a log-Gaussian radial
  filter centred on 1/7 cycles/px (one octave wide) and two orientation lobes at +-50
  degrees (skin's crossing micro-relief furrows); ``P`` are pores: dimples of depth
  ``pore_depth`` with profile ``-(1 - (r/R)^2)^2`` (``r < R``), radii ``R`` uniform in
  ``pore_radius_px * [0.7, 1.3]``, placed by a Poisson process of density
  ``pores_per_cm2`` at ``px_per_mm`` pixels per mm; ``W`` are ``lines`` fine lines:
  random curves of slowly turning direction (curvature a random walk), drawn
  anti-aliased and blurred (sigma 0.9 px), depth ``line_depth``.
* the scar weight ``w`` is 1 inside a star-shaped blob (an ellipse of semi-axes
  ``scar_radii_px`` whose radius is modulated by three random low harmonics), falling
  to 0 over ``scar_border_px`` with a raised-cosine ramp of the signed distance;
  ``s = 1 + (scar_texture - 1) * w`` scales the texture inside it. ``lesion`` is
  ``w >= 0.5``.

Treatment of strength ``k`` in [0, 1] multiplies ``grain``, ``pore_depth`` and
``line_depth`` by ``(1 - k)``, the scar colour offset by ``(1 - k)`` and the scar's
texture deficit ``1 - scar_texture`` by ``(1 - k)``. Positions, sizes, mottle and tone
do not change: the random fields are drawn from ``seed`` before any amplitude is applied.

Colour encoding
---------------
Lab -> XYZ (CIE 15:2004, D65 white ``Xn = 0.95047, Yn = 1, Zn = 1.08883``):
``fy = (L* + 16) / 116``, ``fx = fy + a* / 500``, ``fz = fy - b* / 200``,
``X = Xn * finv(fx)`` etc., with ``finv(t) = t^3`` if ``t > 6/29`` else
``3 (6/29)^2 (t - 4/29)``. XYZ -> linear sRGB by the IEC 61966-2-1 matrix, then the
sRGB transfer ``V = 12.92 c`` (``c <= 0.0031308``) or ``1.055 c^(1/2.4) - 0.055``.

Capture
-------
:func:`capture` applies photographic nuisances to any uint8 sRGB image: a similarity
transform about the image centre (``cv2.warpAffine``, Lanczos-4, reflected border),
exposure and white-balance gains in linear light, Gaussian sensor noise in 8-bit units,
rounding, and an optional JPEG round trip through Pillow.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

__all__ = [
    "Skin2Spec",
    "Skin2",
    "SKINS",
    "render",
    "capture",
    "random_capture",
    "smooth_region",
    "read_tem",
    "face_skin_mask",
    "lab_to_srgb",
    "srgb_to_linear",
    "linear_to_srgb",
]

# --------------------------------------------------------------------------- colour

#: D65 reference white (CIE 1931 2 degree), Y normalised to 1.
_WHITE = np.array([0.95047, 1.0, 1.08883])
#: XYZ (D65) -> linear sRGB, IEC 61966-2-1.
_XYZ_TO_RGB = np.array(
    [
        [3.2404542, -1.5371385, -0.4985314],
        [-0.9692660, 1.8760108, 0.0415560],
        [0.0556434, -0.2040259, 1.0572252],
    ]
)
_DELTA = 6.0 / 29.0


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """Decode sRGB values in [0, 1] to linear light.

    ``c = V / 12.92`` if ``V <= 0.04045`` else ``((V + 0.055) / 1.055)^2.4`` (IEC 61966-2-1).

    Parameters
    ----------
    v : ndarray
        sRGB-encoded values in [0, 1].

    Returns
    -------
    ndarray
        Linear-light values, same shape.
    """
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Encode linear light in [0, 1] with the sRGB transfer function.

    ``V = 12.92 c`` if ``c <= 0.0031308`` else ``1.055 c^(1/2.4) - 0.055``.

    Parameters
    ----------
    c : ndarray
        Linear-light values; clipped to [0, 1] first.

    Returns
    -------
    ndarray
        sRGB-encoded values in [0, 1].
    """
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055)


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """Convert CIE L*a*b* (D65) to sRGB in [0, 1] (formulas in the module docstring).

    Parameters
    ----------
    lab : ndarray, shape (..., 3)
        L* in [0, 100], a*, b*.

    Returns
    -------
    ndarray, shape (..., 3)
        sRGB-encoded values, out-of-gamut colours clipped to [0, 1].
    """
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    finv = np.where(f > _DELTA, f**3, 3.0 * _DELTA**2 * (f - 4.0 / 29.0))
    xyz = finv * _WHITE
    return linear_to_srgb(xyz @ _XYZ_TO_RGB.T)


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class Skin2Spec:
    """Parameters of a skin2 patch (units in the names; see the module docstring).

    Attributes
    ----------
    lab : tuple of float
        Base skin tone (L*, a*, b*), D65.
    mottle : float
        Standard deviation of the low-frequency lightness blotches, L* units (chroma
        blotches scale with it); 0 gives a flat chroma and lightness background.
    grain : float
        Standard deviation of the fine band-passed texture, L* units.
    pores_per_cm2 : float
        Mean pore density (Poisson), pores per cm^2 of skin.
    pore_radius_px : float
        Mean pore radius, px.
    pore_depth : float
        Pore darkening at the pore centre, L* units.
    lines : int
        Number of fine lines.
    line_depth : float
        Darkening along a line's centre, L* units.
    scar : bool
        Whether a scar is rendered.
    scar_lab_offset : tuple of float
        Mean colour offset (dL*, da*, db*) of the scar against its surroundings.
    scar_texture : float
        Texture amplitude ratio inside the scar (1 = same texture as around it).
    scar_radii_px : tuple of float
        Semi-axes (a, b) of the scar's base ellipse, px.
    scar_border_px : float
        Width of the scar's raised-cosine edge ramp, px.
    px_per_mm : float
        Pixel density of the rendered skin, px per mm (for the pore density).
    """

    lab: tuple[float, float, float] = (62.0, 14.0, 18.0)
    mottle: float = 1.5
    grain: float = 1.6
    pores_per_cm2: float = 60.0
    pore_radius_px: float = 3.0
    pore_depth: float = 8.0
    lines: int = 6
    line_depth: float = 4.0
    scar: bool = True
    scar_lab_offset: tuple[float, float, float] = (-4.0, 6.0, 2.0)
    scar_texture: float = 0.6
    scar_radii_px: tuple[float, float] = (170.0, 105.0)
    scar_border_px: float = 14.0
    px_per_mm: float = 20.0

    def __post_init__(self) -> None:
        for name in ("mottle", "grain", "pores_per_cm2", "pore_depth", "line_depth"):
            if getattr(self, name) < 0:
                raise ValueError(f"Skin2Spec.{name} must be >= 0, got {getattr(self, name)}")
        if self.pore_radius_px <= 0 or self.px_per_mm <= 0 or self.scar_border_px <= 0:
            raise ValueError("Skin2Spec: pore_radius_px, px_per_mm and scar_border_px must be > 0")
        if self.scar_texture < 0:
            raise ValueError(f"Skin2Spec.scar_texture must be >= 0, got {self.scar_texture}")
        if self.lines < 0:
            raise ValueError(f"Skin2Spec.lines must be >= 0, got {self.lines}")


#: Named presets, light to dark skin; two with ``mottle = 0``.
SKINS: dict[str, Skin2Spec] = {
    "fair_mottled": Skin2Spec(lab=(66.0, 13.0, 16.0), mottle=2.0),
    "fair_flat": Skin2Spec(lab=(68.0, 11.0, 15.0), mottle=0.0),
    "fair_lined": Skin2Spec(lab=(64.0, 12.0, 17.0), mottle=1.0, lines=14, line_depth=6.0),
    "olive_flat": Skin2Spec(
        lab=(55.0, 9.0, 24.0), mottle=0.0, grain=1.3, scar_lab_offset=(-3.0, 5.0, 1.0)
    ),
    "dark": Skin2Spec(
        lab=(38.0, 12.0, 20.0),
        mottle=1.0,
        grain=1.1,
        pore_depth=6.0,
        line_depth=3.0,
        scar_lab_offset=(4.0, -2.0, -3.0),  # hypopigmented scar on dark skin
        scar_texture=0.7,
    ),
}


@dataclass(frozen=True)
class Skin2:
    """A rendered skin2 patch.

    Attributes
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
        sRGB image.
    lesion : ndarray of bool, shape (H, W), or None
        Scar mask (scar weight >= 0.5); None without a scar.
    truth : dict
        Ground truth after treatment: ``treatment``, ``grain`` (L*), ``pore_depth`` (L*),
        ``line_depth`` (L*), ``texture_scale`` (= 1 - k), ``scar_lab_offset``
        ((dL*, da*, db*)), ``scar_texture`` (ratio), ``lab`` (base tone),
        ``n_pores``, ``n_lines``.
    """

    rgb: np.ndarray
    lesion: np.ndarray | None
    truth: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- fields


def _freq_radius(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    return np.hypot(fx, fy), fx, fy


def _spectral(rng: np.random.Generator, shape: tuple[int, int], gain: np.ndarray) -> np.ndarray:
    """White noise filtered by ``gain`` in the Fourier domain, scaled to unit std."""
    noise = rng.standard_normal(shape)
    out = np.fft.irfft2(np.fft.rfft2(noise) * gain, s=shape)
    out -= out.mean()
    sd = out.std()
    return out / sd if sd > 0 else out


def _mottle_field(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    f, _, _ = _freq_radius(shape)
    gain = np.where(f > 0, 1.0 / np.maximum(f, 1e-9), 0.0) * np.exp(-((f * 90.0) ** 2))
    return _spectral(rng, shape, gain)


def _grain_field(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    f, fx, fy = _freq_radius(shape)
    with np.errstate(divide="ignore"):
        radial = np.exp(-(np.log2(np.where(f > 0, f, 1e-9) * 7.0) ** 2) / (2 * 0.5**2))
    theta = np.arctan2(fy, fx)
    # Orientation lobes (furrows at +-50 deg have spectra perpendicular to them).
    lobes = sum(np.exp(-(np.angle(np.exp(2j * (theta - c))) ** 2) / (2 * 0.6**2)) for c in (
        math.radians(40.0), math.radians(-40.0)))
    return _spectral(rng, shape, radial * (1.0 + 0.8 * lobes))


def _pore_field(
    rng: np.random.Generator, shape: tuple[int, int], spec: Skin2Spec
) -> tuple[np.ndarray, int]:
    """Pores of unit depth (centre value -1); returns the field and the pore count."""
    h, w = shape
    area_cm2 = (h / spec.px_per_mm / 10.0) * (w / spec.px_per_mm / 10.0)
    n = int(rng.poisson(spec.pores_per_cm2 * area_cm2))
    ys = rng.uniform(0, h, n)
    xs = rng.uniform(0, w, n)
    radii = spec.pore_radius_px * rng.uniform(0.7, 1.3, n)
    out = np.zeros(shape, np.float64)
    # Three radius bins, each an impulse map convolved with its dimple kernel.
    edges = spec.pore_radius_px * np.array([0.7, 0.9, 1.1, 1.3 + 1e-9])
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (radii >= lo) & (radii < hi)
        if not sel.any():
            continue
        rad = 0.5 * (lo + hi)
        half = int(math.ceil(rad)) + 1
        yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
        rr = np.hypot(yy, xx) / rad
        kern = -np.clip(1.0 - rr**2, 0.0, None) ** 2
        imp = np.zeros(shape, np.float64)
        np.add.at(imp, (ys[sel].astype(int), xs[sel].astype(int)), 1.0)
        out += cv2.filter2D(imp, -1, kern, borderType=cv2.BORDER_CONSTANT)
    return np.maximum(out, -1.5), n


def _line_field(rng: np.random.Generator, shape: tuple[int, int], count: int) -> np.ndarray:
    """``count`` fine lines of unit depth (centre value about -1)."""
    h, w = shape
    canvas = np.zeros(shape, np.float32)
    step = 4.0
    for _ in range(count):
        length = rng.uniform(0.3, 0.7) * max(h, w)
        n = max(int(length / step), 2)
        heading = rng.uniform(-0.6, 0.6) + (0.0 if rng.random() < 0.7 else math.pi / 2)
        turn = np.cumsum(rng.normal(0.0, 0.03, n))
        ang = heading + turn
        x0, y0 = rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h)
        px = x0 + np.cumsum(step * np.cos(ang)) - 0.5 * length * math.cos(heading)
        py = y0 + np.cumsum(step * np.sin(ang)) - 0.5 * length * math.sin(heading)
        pts = np.round(np.stack([px, py], axis=1) * 16).astype(np.int32)  # 4 fractional bits
        cv2.polylines(canvas, [pts], False, 1.0, thickness=2, lineType=cv2.LINE_AA, shift=4)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.9)
    peak = canvas.max()
    return -(canvas / peak).astype(np.float64) if peak > 0 else canvas.astype(np.float64)


def _scar_weight(rng: np.random.Generator, shape: tuple[int, int], spec: Skin2Spec) -> np.ndarray:
    h, w = shape
    cy = h / 2 + rng.uniform(-0.08, 0.08) * h
    cx = w / 2 + rng.uniform(-0.08, 0.08) * w
    rot = rng.uniform(-math.pi / 4, math.pi / 4)
    harm = [(k, rng.uniform(0.03, 0.09), rng.uniform(0, 2 * math.pi)) for k in (2, 3, 5)]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = xx - cx, yy - cy
    u = dx * math.cos(rot) + dy * math.sin(rot)
    v = -dx * math.sin(rot) + dy * math.cos(rot)
    a, b = spec.scar_radii_px
    phi = np.arctan2(v / b, u / a)
    mod = 1.0 + sum(amp * np.cos(k * phi + ph) for k, amp, ph in harm)
    rho = np.hypot(u / a, v / b)  # 1 on the base ellipse
    # Approximate signed distance to the boundary in px (positive inside).
    scale = np.hypot(a * np.cos(phi), b * np.sin(phi))
    sd = (mod - rho) * scale
    t = np.clip(sd / spec.scar_border_px + 0.5, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(math.pi * t)


def render(
    spec: Skin2Spec, *, shape: tuple[int, int] = (768, 1024), seed: int = 0, treatment: float = 0.0
) -> Skin2:
    """Render a skin2 patch (model in the module docstring).

    Parameters
    ----------
    spec : Skin2Spec
        Skin parameters.
    shape : tuple of int, optional
        (H, W) in px.
    seed : int, optional
        Seed of every random field; the same seed gives the same skin at any treatment.
    treatment : float, optional
        Treatment strength k in [0, 1].

    Returns
    -------
    Skin2
        Image, scar mask and ground truth.

    Raises
    ------
    ValueError
        If ``treatment`` is outside [0, 1] or ``shape`` is not two positive ints.
    """
    if not 0.0 <= float(treatment) <= 1.0:
        raise ValueError(f"treatment must be in [0, 1], got {treatment}")
    h, w = (int(shape[0]), int(shape[1]))
    if h < 16 or w < 16:
        raise ValueError(f"shape must be at least 16 x 16 px, got {shape}")
    k = float(treatment)
    keep = 1.0 - k
    # Independent streams per field, so one field's parameters never move another's.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    g_mot = _mottle_field(streams[0], (h, w))
    g_mot2 = _mottle_field(streams[1], (h, w))
    grain = _grain_field(streams[2], (h, w))
    pores, n_pores = _pore_field(streams[3], (h, w), spec)
    lines = _line_field(streams[4], (h, w), spec.lines)
    weight = _scar_weight(streams[5], (h, w), spec) if spec.scar else np.zeros((h, w))

    texture = keep * (spec.grain * grain + spec.pore_depth * pores + spec.line_depth * lines)
    texture -= texture.mean()
    ratio = 1.0 - (1.0 - spec.scar_texture) * keep
    s = 1.0 + (ratio - 1.0) * weight
    off = np.asarray(spec.scar_lab_offset, np.float64) * keep if spec.scar else np.zeros(3)
    L0, a0, b0 = spec.lab
    lab = np.empty((h, w, 3))
    lab[..., 0] = L0 - spec.mottle * g_mot + s * texture + weight * off[0]
    lab[..., 1] = a0 + 0.7 * spec.mottle * g_mot + weight * off[1]
    lab[..., 2] = b0 + 0.35 * spec.mottle * g_mot2 + weight * off[2]
    rgb = np.clip(np.round(lab_to_srgb(lab) * 255.0), 0, 255).astype(np.uint8)
    truth = {
        "treatment": k,
        "texture_scale": keep,
        "grain": spec.grain * keep,
        "pore_depth": spec.pore_depth * keep,
        "line_depth": spec.line_depth * keep,
        "scar_lab_offset": tuple(float(v) for v in off),
        "scar_texture": ratio if spec.scar else None,
        "lab": tuple(spec.lab),
        "n_pores": n_pores,
        "n_lines": spec.lines,
    }
    return Skin2(rgb=rgb, lesion=(weight >= 0.5) if spec.scar else None, truth=truth)


# --------------------------------------------------------------------------- capture


def capture(
    rgb: np.ndarray,
    *,
    seed: int,
    exposure: float = 1.0,
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0),
    shift_px: tuple[float, float] = (0.0, 0.0),
    rotation_deg: float = 0.0,
    scale: float = 1.0,
    noise: float = 0.0,
    jpeg_quality: int | None = None,
    subsampling: int = 2,
    encoded: bool = False,
) -> np.ndarray | bytes:
    """Photograph ``rgb`` again with the given nuisances.

    Steps: similarity transform about the centre ``c``, ``x' = s R(theta) (x - c) + c + t``
    (content moves by ``shift_px = (dx, dy)`` px; ``cv2.warpAffine``, Lanczos-4, reflected
    border; skipped when it is the identity); linear-light gains ``exposure * wb_c``;
    Gaussian noise of ``noise`` (8-bit units) on the sRGB values; rounding; optional JPEG.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
        sRGB image (a rendered patch or a real photo).
    seed : int
        Seed of the sensor noise.
    exposure : float, optional
        Linear-light gain.
    white_balance : tuple of float, optional
        Linear-light gains of R, G, B.
    shift_px : tuple of float, optional
        Translation (dx, dy) of the content, px.
    rotation_deg : float, optional
        Counter-clockwise rotation (OpenCV convention), degrees.
    scale : float, optional
        Zoom factor.
    noise : float, optional
        Standard deviation of the sensor noise, 8-bit units.
    jpeg_quality : int or None, optional
        JPEG quality (1-95) of a round trip through Pillow; None for none.
    subsampling : int, optional
        Pillow chroma subsampling (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0).
    encoded : bool, optional
        Return the file a camera would write (JPEG bytes; PNG bytes without
        ``jpeg_quality``) instead of its decoded pixels.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3), or bytes when ``encoded``
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    img = rgb
    if shift_px != (0.0, 0.0) or rotation_deg != 0.0 or scale != 1.0:
        m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(rotation_deg), float(scale))
        m[:, 2] += np.asarray(shift_px, np.float64)
        img = cv2.warpAffine(
            img, m, (w, h), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT_101
        )
    v = img.astype(np.float64) / 255.0
    gains = float(exposure) * np.asarray(white_balance, np.float64)
    if not np.all(gains == 1.0):
        v = linear_to_srgb(srgb_to_linear(v) * gains)
    v = v * 255.0
    if noise > 0:
        v = v + np.random.default_rng(seed).normal(0.0, float(noise), v.shape)
    out = np.clip(np.round(v), 0, 255).astype(np.uint8)
    if jpeg_quality is not None or encoded:
        buf = io.BytesIO()
        if jpeg_quality is None:
            Image.fromarray(out).save(buf, format="PNG")
            return buf.getvalue()
        Image.fromarray(out).save(buf, format="JPEG", quality=int(jpeg_quality), subsampling=subsampling)
        if encoded:
            return buf.getvalue()
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return out


def random_capture(
    rgb: np.ndarray, seed: int, *, level: str = "typical", encoded: bool = False, lossless: bool = False
) -> tuple[np.ndarray | bytes, dict[str, Any]]:
    """Retake ``rgb`` with nuisances drawn at random.

    Ranges at ``level="typical"`` (``"mild"`` halves each range about its neutral value):
    exposure 0.9-1.1, white-balance gains 1 +- 3 %, shift up to 8 px per axis (sub-pixel),
    rotation +-1 degree, scale 0.99-1.01, JPEG quality 75-95 (mild: 85-95), sensor noise
    sigma 1-2 (mild: 0.5-1) in 8-bit units.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
        sRGB image.
    seed : int
        Seed of the draw and of the sensor noise.
    level : {"typical", "mild"}, optional
        Size of the nuisances.
    encoded : bool, optional
        Return the JPEG file's bytes instead of its decoded pixels.
    lossless : bool, optional
        Save without JPEG (``jpeg_quality`` None; a PNG file when ``encoded``); the
        other nuisances are drawn as without it.

    Returns
    -------
    out : ndarray of uint8, or bytes when ``encoded``
        The retake.
    drawn : dict
        The keyword arguments passed to :func:`capture` (without ``seed``).
    """
    if level not in ("typical", "mild"):
        raise ValueError(f"level must be 'typical' or 'mild', got {level!r}")
    f = 1.0 if level == "typical" else 0.5
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5C1A2]))
    drawn = {
        "exposure": float(1.0 + f * rng.uniform(-0.1, 0.1)),
        "white_balance": tuple(float(1.0 + f * rng.uniform(-0.03, 0.03)) for _ in range(3)),
        "shift_px": tuple(float(f * rng.uniform(-8.0, 8.0)) for _ in range(2)),
        "rotation_deg": float(f * rng.uniform(-1.0, 1.0)),
        "scale": float(1.0 + f * rng.uniform(-0.01, 0.01)),
        "noise": float(f * rng.uniform(1.0, 2.0)),
        "jpeg_quality": int(round(95 - f * rng.uniform(0.0, 20.0))),
    }
    if lossless:
        drawn["jpeg_quality"] = None
    return capture(rgb, seed=int(rng.integers(2**31)), encoded=encoded, **drawn), drawn


def smooth_region(rgb: np.ndarray, mask: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Simulate a smoothing treatment on a real photo: blur the pixels in ``mask``.

    ``out = (1 - m) * rgb + m * G_sigma(rgb)`` where ``m`` is the mask blurred with a
    Gaussian of ``2 * sigma`` px (a feathered edge).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
        sRGB image.
    mask : ndarray of bool, shape (H, W)
        Region to smooth.
    sigma : float, optional
        Gaussian sigma of the smoothing, px.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    rgb = np.asarray(rgb)
    mask = np.asarray(mask, bool)
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image {rgb.shape[:2]}")
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    src = rgb.astype(np.float32)
    blur = cv2.GaussianBlur(src, (0, 0), float(sigma))
    m = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2.0 * float(sigma))[..., None]
    return np.clip(np.round((1 - m) * src + m * blur), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- real photos


def read_tem(path: str | Path) -> np.ndarray:
    """Read the landmarks of a Psychomorph/WebMorph ``.tem`` file.

    Format: first line the point count N, then N lines ``x y`` (tab or space separated),
    then the line definitions (ignored here).

    Parameters
    ----------
    path : str or Path
        The ``.tem`` file.

    Returns
    -------
    ndarray of float, shape (N, 2)
        Point coordinates (x, y) in px.
    """
    rows = Path(path).read_text().split("\n")
    n = int(rows[0].strip())
    pts = np.array([[float(t) for t in rows[1 + i].split()[:2]] for i in range(n)], np.float64)
    return pts


def _r(a: int, b: int) -> list[int]:
    return list(range(a, b + 1))


#: Index groups of the templates met in shared/data/real, keyed by point count
#: (found by plotting numbered points): eyes (two groups), brows, nose, mouth, and the
#: face outline in drawing order (for the 189-point FRL template including the hairline).
_TEMPLATES: dict[int, dict[str, list]] = {
    189: {
        "eyes": [_r(18, 22) + _r(28, 30), _r(23, 27) + _r(31, 33)],
        "brows": _r(71, 86),
        "nose": _r(44, 70) + _r(179, 182),
        "mouth": _r(87, 108),
        "outline": [109, 185, 110, 186, 111] + _r(125, 133) + [114, 188, 113, 187, 112]
        + _r(134, 144)[::-1],
    },
    106: {
        "eyes": [_r(35, 42), _r(44, 51)],
        "brows": _r(53, 70),
        "nose": _r(71, 85),
        "mouth": _r(86, 105),
        "outline": _r(2, 34),
    },
    83: {
        "eyes": [[44, 4, 56, 51, 79, 25, 11, 58], [61, 67, 38, 34, 40, 47, 17, 41]],
        "brows": [32, 62, 68, 80, 48, 7, 5, 49, 16, 64, 15, 69, 66, 8, 55, 43],
        "nose": [70, 71, 54, 78, 37, 77, 33, 74, 59, 35],
        "mouth": [29, 0, 3, 26, 72, 42, 45, 1, 82, 46, 52, 14, 9, 10, 39, 12, 2, 75],
        "outline": [24, 23, 22, 21, 20, 19, 18, 53, 13, 6, 60, 65, 31, 76, 36, 30, 27, 28, 73],
    },
}


def face_skin_mask(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Cheek and forehead skin of a face from its template landmarks.

    In the eye frame (origin at the midpoint of the two eye centres, ``u`` along the eye
    axis, ``v`` down, unit ``d`` = eye-centre distance), the cheeks are
    ``0.3 <= |u| <= 0.85, 0.3 <= v <= 0.9`` and the forehead is ``|u| <= 0.5`` and
    ``v_b - 0.42 <= v <= v_b - 0.12`` where ``v_b`` is the top of the brows. Both are
    clipped to the face outline shrunk by ``0.08 d`` (for the forehead only when the
    template has a hairline), and the convex hulls of eyes, brows, nose and mouth,
    grown by ``0.1 d``, are removed.

    Parameters
    ----------
    points : ndarray, shape (N, 2)
        Landmarks from :func:`read_tem` (N = 189 FRL, 106 or 83 as in shared/data/real).
    shape : tuple of int
        Image shape (H, W, ...).

    Returns
    -------
    ndarray of bool, shape (H, W)

    Raises
    ------
    ValueError
        For a template of unknown point count.
    """
    pts = np.asarray(points, np.float64)
    tpl = _TEMPLATES.get(len(pts))
    if tpl is None:
        raise ValueError(f"unknown landmark template with {len(pts)} points (known: {sorted(_TEMPLATES)})")
    h, w = int(shape[0]), int(shape[1])
    eyes = sorted((pts[g].mean(axis=0) for g in tpl["eyes"]), key=lambda p: p[0])
    centre = 0.5 * (eyes[0] + eyes[1])
    axis = eyes[1] - eyes[0]
    d = float(np.hypot(*axis))
    ex = axis / d
    ey = np.array([-ex[1], ex[0]])  # image y down: perpendicular pointing down

    def frame(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = (p - centre) / d
        return q @ ex, q @ ey

    gx = (np.arange(w, dtype=np.float64)[None, :] - centre[0]) / d
    gy = (np.arange(h, dtype=np.float64)[:, None] - centre[1]) / d
    u = gx * ex[0] + gy * ex[1]
    v = gx * ey[0] + gy * ey[1]
    au = np.abs(u)
    cheeks = (au >= 0.3) & (au <= 0.85) & (v >= 0.3) & (v <= 0.9)
    _, vbrow = frame(pts[tpl["brows"]])
    vb = float(vbrow.min())
    forehead = (au <= 0.5) & (v >= vb - 0.42) & (v <= vb - 0.12)

    def poly(idx: list[int]) -> np.ndarray:
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(pts[idx]).astype(np.int32)], 1)
        return m.astype(bool)

    grow = max(int(round(0.1 * d)), 1)
    face = poly(tpl["outline"])
    shrink = max(int(round(0.08 * d)), 1)
    face_in = cv2.erode(face.astype(np.uint8), np.ones((2 * shrink + 1,) * 2, np.uint8)).astype(bool)
    mask = cheeks & face_in
    mask |= forehead & (face_in if 189 == len(pts) else True)
    kern = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
    for idx in list(tpl["eyes"]) + [tpl["brows"], tpl["nose"], tpl["mouth"]]:
        hull = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.round(pts[idx]).astype(np.int32)), 1)
        mask &= ~cv2.dilate(hull, kern).astype(bool)
    return mask
