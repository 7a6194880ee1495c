"""Synthetic skin close-ups with known ground truth ("phantoms").

A phantom is a rendered photo of a patch of skin (cheek or forearm, about 0.05 mm per
pixel at the default 1024 x 768 size) whose texture, pores, fine lines and scar are set
by :class:`SkinParams`. They serve two purposes:

* **known-answer tests**: a treatment of known strength ``k`` must move every metric the
  right way, and a nuisance-only retake (exposure, white balance, small misalignment,
  JPEG, sensor noise) must not;
* **sample images** shipped in ``sample_images/`` (see ``scripts/make_samples.py``).

Rendering model
---------------
The *scene* (the skin) is built in CIE L*a*b* (D65) on a canvas larger than the photo
(a margin of 10 % of the longer side plus 16 px on every side), in scene coordinates
(the baseline photo's pixel grid, offset by the margin):

``L* = L0 + mottling_L + t(x) * (grain + microrelief - pores) - t(x) * wrinkles + w(x) * dL``
``a* = a0 + mottling_a + w(x) * da``,  ``b* = b0 + mottling_b + w(x) * db``

where ``w`` is the scar weight (1 inside, 0 outside, a logistic ramp whose 10-90 %
width is ``scar_border_px``) and ``t = 1 + (scar_texture_ratio - 1) * w`` scales the
texture inside the scar. The scar colour also carries a zero-mean low-frequency
variation (its lesion-weighted mean is removed, so the mean offset is exactly
``scar_delta_lab``).

The *capture* then maps the scene into the photo: the similarity transform of the
geometric nuisances (exact crop, no resampling, when there is none; Lanczos-4 otherwise),
conversion to linear RGB, a mild smooth illumination gradient (a property of the set-up,
fixed by ``seed``, in the photo's own grid), ``exposure`` and ``white_balance`` gains in
linear light, sRGB encoding, sensor noise (in sRGB units) and clipping to [0, 1].

Treatment of strength ``k`` in [0, 1] multiplies ``fine_amplitude``, ``microrelief_depth``,
``pore_depth`` and ``wrinkle_depth`` by ``(1 - k)``; with ``treat_scar`` it also
multiplies the scar colour offsets ``scar_delta_lab`` and ``(1 - scar_texture_ratio)``
by ``(1 - k)``. Everything else (positions, sizes, counts, mottling, tone) is unchanged:
the same ``seed`` always shows the same skin.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import cv2
import numpy as np
from PIL import Image

from texturecmp._checks import check_int
from texturecmp.errors import BadSettingsError

__all__ = [
    "SkinParams",
    "Phantom",
    "skin_phantom",
    "nuisance_retake",
    "jpeg_roundtrip",
    "to_uint8",
    "save_image",
    "save_mask",
    "NUISANCE_LEVELS",
    "MIN_SIDE",
    "MAX_SIDE",
]

#: Smallest allowed image side (pixels).
MIN_SIDE = 64
#: Largest allowed image side (pixels).
MAX_SIDE = 12000

#: Geometric nuisances resample with Lanczos-4 up to this many output pixels, bicubic above
#: (speed of the 12 MP benchmark images).
_LANCZOS_MAX_PX = 4_200_000

#: Ranges of the nuisance-only retakes drawn by :func:`nuisance_retake`
#: (half-widths around the identity, except ``jpeg_quality``: an inclusive range).
NUISANCE_LEVELS: dict[str, dict[str, Any]] = {
    "typical": {
        "exposure": 0.07,
        "white_balance": 0.03,
        "shift_px": 6.0,
        "rotation_deg": 1.0,
        "jpeg_quality": (80, 95),
    },
    "mild": {
        "exposure": 0.035,
        "white_balance": 0.015,
        "shift_px": 3.0,
        "rotation_deg": 0.5,
        "jpeg_quality": (88, 95),
    },
}


def _bad(name: str, expected: str, got: Any) -> BadSettingsError:
    return BadSettingsError(f"{name} must be {expected}, got {got!r}")


def _finite(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise _bad(name, "a number", value) from None
    if not math.isfinite(v):
        raise _bad(name, "a finite number", value)
    return v


def _triple(name: str, value: Any) -> tuple[float, float, float]:
    try:
        vals = tuple(_finite(name, v) for v in value)
    except TypeError:
        raise _bad(name, "a sequence of 3 numbers", value) from None
    if len(vals) != 3:
        raise _bad(name, "a sequence of 3 numbers", value)
    return vals  # type: ignore[return-value]


def _pair(name: str, value: Any) -> tuple[float, float]:
    try:
        vals = tuple(_finite(name, v) for v in value)
    except TypeError:
        raise _bad(name, "a pair of numbers", value) from None
    if len(vals) != 2:
        raise _bad(name, "a pair of numbers", value)
    return vals  # type: ignore[return-value]


@dataclass(frozen=True)
class SkinParams:
    """Settings of a synthetic skin patch (all amplitudes in CIE L* units unless noted).

    Parameters
    ----------
    base_rgb : tuple of float
        Mean skin tone, sRGB in (0, 1). The default is a light-medium tone
        (L* ~ 69, a* ~ 14, b* ~ 20).
    fine_amplitude : float
        Standard deviation of the fine isotropic grain (features ~1-3 px), L*.
    microrelief_depth : float
        Darkening on the furrows of the skin micro-relief (a network of fine furrows
        enclosing cells ~10-25 px across), L*. Scaled by treatment like the grain.
    pore_density : float
        Pores per 10^4 px^2.
    pore_depth : float
        Mean L* darkening at the pore centre (individual pores vary by +-40 %).
    pore_radius_px : float
        Mean pore radius, px (log-normal spread ~25 %, pores slightly elliptical).
    wrinkle_count : int
        Number of fine lines in the scene canvas.
    wrinkle_depth : float
        Mean L* darkening on the line centre (lines taper out at their ends).
    wrinkle_width_px : float
        Full width at half maximum of the line cross-section, px.
    mottling_amplitude : float
        Standard deviation of the low-frequency unevenness (pigment and redness
        blotches, scales ~50-250 px), L*.
    scar_delta_lab : tuple of float
        Lesion minus normal skin, (dL*, da*, db*).
    scar_texture_ratio : float
        Texture amplitude in the scar / outside it (< 1 smoother, > 1 rougher).
    scar_border_px : float
        10-90 % width of the soft scar border, px.
    scar_center : tuple of float or None
        (x, y) of the scar centre as fractions of width and height; None puts it near
        the centre (jittered by the seed by up to 3 %).
    scar_radii : tuple of float
        Semi-axes of the (irregular) ellipse as fractions of the image **width**.
    noise_sd : float
        Sensor noise standard deviation, sRGB units in [0, 1] (per channel).
    """

    base_rgb: tuple[float, float, float] = (0.80, 0.62, 0.52)
    fine_amplitude: float = 2.0
    microrelief_depth: float = 4.0
    pore_density: float = 1.5
    pore_depth: float = 10.0
    pore_radius_px: float = 3.0
    wrinkle_count: int = 12
    wrinkle_depth: float = 8.0
    wrinkle_width_px: float = 2.5
    mottling_amplitude: float = 2.0
    scar_delta_lab: tuple[float, float, float] = (-4.0, 10.0, 3.0)
    scar_texture_ratio: float = 0.5
    scar_border_px: float = 6.0
    scar_center: tuple[float, float] | None = None
    scar_radii: tuple[float, float] = (0.16, 0.11)
    noise_sd: float = 0.004

    def __post_init__(self) -> None:
        rgb = _triple("params.base_rgb", self.base_rgb)
        if not all(0.02 <= v <= 0.98 for v in rgb):
            raise _bad("params.base_rgb", "three sRGB values in [0.02, 0.98]", self.base_rgb)
        object.__setattr__(self, "base_rgb", rgb)
        for name in (
            "fine_amplitude",
            "microrelief_depth",
            "pore_density",
            "pore_depth",
            "wrinkle_depth",
            "mottling_amplitude",
            "scar_border_px",
            "noise_sd",
        ):
            v = _finite(f"params.{name}", getattr(self, name))
            if v < 0:
                raise _bad(f"params.{name}", "non-negative", getattr(self, name))
            object.__setattr__(self, name, v)
        if self.pore_density > 50:
            raise _bad("params.pore_density", "at most 50 pores per 10^4 px^2", self.pore_density)
        for name, lo, hi in (("pore_radius_px", 0.5, 30.0), ("wrinkle_width_px", 0.5, 30.0)):
            v = _finite(f"params.{name}", getattr(self, name))
            if not lo <= v <= hi:
                raise _bad(f"params.{name}", f"in [{lo}, {hi}]", getattr(self, name))
            object.__setattr__(self, name, v)
        object.__setattr__(self, "wrinkle_count", check_int(self.wrinkle_count, "params.wrinkle_count", ge=0, le=1000,
                                                            wording="must be"))
        object.__setattr__(self, "scar_delta_lab", _triple("params.scar_delta_lab", self.scar_delta_lab))
        r = _finite("params.scar_texture_ratio", self.scar_texture_ratio)
        if not 0 <= r <= 5:
            raise _bad("params.scar_texture_ratio", "in [0, 5]", self.scar_texture_ratio)
        object.__setattr__(self, "scar_texture_ratio", r)
        if self.scar_center is not None:
            c = _pair("params.scar_center", self.scar_center)
            if not all(0.0 <= v <= 1.0 for v in c):
                raise _bad("params.scar_center", "(x, y) fractions in [0, 1]", self.scar_center)
            object.__setattr__(self, "scar_center", c)
        rr = _pair("params.scar_radii", self.scar_radii)
        if not all(0.005 <= v <= 0.45 for v in rr):
            raise _bad("params.scar_radii", "two fractions of the width in [0.005, 0.45]", self.scar_radii)
        object.__setattr__(self, "scar_radii", rr)

    def treated(self, k: float, *, treat_scar: bool = True) -> SkinParams:
        """Return the parameters after a treatment of strength ``k`` (see module docs).

        Parameters
        ----------
        k : float
            Treatment strength in [0, 1].
        treat_scar : bool
            Whether the scar colour offsets and ``1 - scar_texture_ratio`` shrink too.

        Returns
        -------
        SkinParams
        """
        k = _finite("treatment", k)
        if not 0.0 <= k <= 1.0:
            raise _bad("treatment", "in [0, 1]", k)
        f = 1.0 - k
        changes: dict[str, Any] = {
            "fine_amplitude": self.fine_amplitude * f,
            "microrelief_depth": self.microrelief_depth * f,
            "pore_depth": self.pore_depth * f,
            "wrinkle_depth": self.wrinkle_depth * f,
        }
        if treat_scar:
            changes["scar_delta_lab"] = tuple(v * f for v in self.scar_delta_lab)
            changes["scar_texture_ratio"] = 1.0 - (1.0 - self.scar_texture_ratio) * f
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the parameters (tuples become lists)."""
        out: dict[str, Any] = {}
        for f_ in dataclasses.fields(self):
            v = getattr(self, f_.name)
            out[f_.name] = list(v) if isinstance(v, tuple) else v
        return out


@dataclass(frozen=True, eq=False)
class Phantom:
    """A rendered phantom photo with its ground truth.

    Attributes
    ----------
    rgb : numpy.ndarray
        float32 (H, W, 3) sRGB in [0, 1].
    lesion : numpy.ndarray
        bool (H, W): the scar as drawn (scar weight >= 0.5), in this photo's pixel grid.
    truth : dict
        JSON-ready ground truth: the parameters after treatment (``params``) and before
        (``params_untreated``), ``treatment``, nuisances, the baseline-to-photo
        ``transform`` (2x3), pore and wrinkle counts, lesion geometry, ``noise_seed``...
    """

    rgb: np.ndarray
    lesion: np.ndarray
    truth: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _srgb_encode(lin: np.ndarray) -> np.ndarray:
    """Linear RGB -> sRGB (IEC 61966-2-1), float32, **in place** (``lin`` is overwritten)."""
    low = lin < 0.0031308
    anylow = bool(low.any())
    lowvals = 12.92 * np.maximum(lin[low], 0.0) if anylow else None
    out = np.maximum(lin, np.float32(0.0031308), out=lin)
    cv2.pow(out, 1.0 / 2.4, dst=out)
    out *= np.float32(1.055)
    out -= np.float32(0.055)
    if anylow:
        out[low] = lowvals
    return out


def _unit_std(a: np.ndarray) -> np.ndarray:
    """Scale ``a`` (in place) to zero mean and unit standard deviation (strided estimate)."""
    sub = a[::3, ::3]
    a -= np.float32(sub.mean())
    sd = float(sub.std())
    if sd > 0:
        a *= np.float32(1.0 / sd)
    return a


def _lowfreq(rng: np.random.Generator, shape: tuple[int, int], channels: int, sigmas_px: Sequence[float],
             weights: Sequence[float], mix: Sequence[Sequence[float]] | None = None) -> list[np.ndarray]:
    """Smooth random fields, unit std each, rendered at 1/8 resolution; a list of (H, W) planes.

    With ``mix`` (rows of ``channels`` weights plus a constant), the planes returned are
    those linear combinations instead (computed before upsampling).
    """
    h, w = shape
    step = 8
    hs, ws = h // step + 2, w // step + 2
    z = rng.standard_normal((channels, hs, ws), dtype=np.float32)
    planes = []
    for c in range(channels):
        acc = np.zeros((hs, ws), np.float32)
        for s, wt in zip(sigmas_px, weights):
            b = cv2.GaussianBlur(z[c], (0, 0), s / step, borderType=cv2.BORDER_REFLECT)
            b -= b.mean()
            b /= b.std() + 1e-12
            acc += np.float32(wt) * b
        acc -= acc.mean()
        acc /= acc.std() + 1e-12
        planes.append(acc)
    if mix is not None:
        planes = [sum((np.float32(c) * pl for c, pl in zip(row[:-1], planes)), np.zeros_like(planes[0]))
                  + np.float32(row[-1]) for row in mix]
    return [cv2.resize(pl, (w, h), interpolation=cv2.INTER_LINEAR) for pl in planes]


def _seed_of(*parts: Any) -> int:
    blob = json.dumps(parts, sort_keys=True, default=repr).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little")


def _check_shape(shape: Any) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in shape)
        ok = all(float(v) == int(v) for v in shape)
    except (TypeError, ValueError):
        raise _bad("shape", "(height, width) integers", shape) from None
    if not ok or not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise _bad("shape", f"(height, width) with each side in [{MIN_SIDE}, {MAX_SIDE}] px", shape)
    return h, w


# --------------------------------------------------------------------------- scene


def _grain(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Fine isotropic grain, unit std: white noise blurred with a Gaussian of sigma 0.9 px.

    The white noise is uniform (cheaper to draw); after the blur (about 10 samples per
    effective kernel area) the grain is close to Gaussian.
    """
    z = np.empty(shape, np.float32)
    rng.random(dtype=np.float32, out=z)
    cv2.GaussianBlur(z, (0, 0), 0.9, dst=z)
    return _unit_std(z)


def _microrelief(rng: np.random.Generator, shape: tuple[int, int], cell_px: float = 12.0) -> np.ndarray:
    """Skin micro-relief: a polygonal network of thin furrows (Voronoi edges), uint8 0..255.

    Cells are ``cell_px`` across on average; every cell draws its outline with one of
    three strengths (primary and secondary furrows), anti-aliased, slightly blurred.
    """
    h, w = shape
    n = max(int(h * w / cell_px**2), 4)
    x = rng.uniform(-cell_px, w + cell_px, n)
    y = rng.uniform(-cell_px, h + cell_px, n)
    strength = rng.integers(0, 3, n)
    # insert in a boustrophedon order: Subdiv2D's point location then walks a short way
    band = (y // 64).astype(np.int64)
    order = np.lexsort((np.where(band % 2 == 0, x, -x), band))
    sub = cv2.Subdiv2D((-int(3 * cell_px), -int(3 * cell_px), w + int(6 * cell_px), h + int(6 * cell_px)))
    sub.insert(np.column_stack([x[order], y[order]]).astype(np.float32))
    facets, _ = sub.getVoronoiFacetList([])
    lens = np.fromiter(map(len, facets), np.int64, len(facets))
    pts = np.round(np.concatenate(facets) * 4.0)
    np.clip(pts, -4 * (w + h + 64), 4 * (w + h + 64), out=pts)
    pts = pts.astype(np.int32)
    # pad every facet to the same vertex count by repeating its last vertex (same drawing)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    kmax = int(lens.max())
    j = np.minimum(np.arange(kmax)[None, :], (lens - 1)[:, None])
    padded = pts[starts[:, None] + j]  # (n_facets, kmax, 2)
    img = np.zeros((h, w), np.uint8)
    # facets come back in insertion order (ids 4.. are the points), strength follows them
    grp = strength[order][: len(padded)]
    for g, val in ((0, 115), (1, 175), (2, 255)):
        sel = padded[grp == g]
        if len(sel):
            cv2.polylines(img, list(sel), True, val, 1, cv2.LINE_AA, shift=2)
    cv2.GaussianBlur(img, (0, 0), 0.7, dst=img)
    return img


def _pores(
    rng: np.random.Generator, canvas: tuple[int, int], p: SkinParams
) -> tuple[list[tuple[float, float]], list[np.ndarray], list[tuple[int, int]]]:
    """Pore centres (canvas x, y), darkening patches (>0) and their top-left corners."""
    hc, wc = canvas
    n = int(round(p.pore_density * hc * wc / 1e4))
    if n == 0:
        return [], [], []
    xs = rng.uniform(0, wc, n)
    ys = rng.uniform(0, hc, n)
    radii = p.pore_radius_px * np.clip(rng.lognormal(0.0, 0.25, n), 0.5, 2.0)
    q = rng.uniform(0.7, 1.0, n)
    ang = rng.uniform(0, np.pi, n)
    depth = p.pore_depth * rng.uniform(0.6, 1.4, n)
    half = int(math.ceil(2.0 * p.pore_radius_px * 2.0)) + 2
    ix = np.floor(xs).astype(int)
    iy = np.floor(ys).astype(int)
    fx = (xs - ix)[:, None, None]
    fy = (ys - iy)[:, None, None]
    g = np.arange(-half, half + 1, dtype=np.float64)
    u0 = g[None, None, :] - fx  # x offsets
    v0 = g[None, :, None] - fy  # y offsets
    c, s = np.cos(ang)[:, None, None], np.sin(ang)[:, None, None]
    u = u0 * c + v0 * s
    v = -u0 * s + v0 * c
    rho = np.sqrt((u / radii[:, None, None]) ** 2 + (v / (q * radii)[:, None, None]) ** 2)
    prof = 0.5 * (1.0 - np.tanh((rho - 1.0) * 2.2))
    prof *= (depth / prof.max(axis=(1, 2)))[:, None, None]
    patches = prof.astype(np.float32)
    corners = list(zip((iy - half).tolist(), (ix - half).tolist()))
    return list(zip(xs.tolist(), ys.tolist())), list(patches), corners


def _add_patches(img: np.ndarray, patches: list[np.ndarray], corners: list[tuple[int, int]], sign: float) -> None:
    h, w = img.shape
    for patch, (y0, x0) in zip(patches, corners):
        ph, pw = patch.shape
        ya, xa = max(y0, 0), max(x0, 0)
        yb, xb = min(y0 + ph, h), min(x0 + pw, w)
        if ya >= yb or xa >= xb:
            continue
        img[ya:yb, xa:xb] += sign * patch[ya - y0 : yb - y0, xa - x0 : xb - x0]


def _wrinkles(rng: np.random.Generator, canvas: tuple[int, int], p: SkinParams, ref: int,
              detail: np.ndarray) -> list[dict[str, Any]]:
    """Subtract fine lines from ``detail`` (in place); return the line descriptions.

    Each line is a gently curved, slightly wavy curve around a dominant orientation,
    tapering out over the last 12 % of its length at both ends. Its cross-section is a
    narrow core (65 % of the depth, FWHM ``wrinkle_width_px``) on a shallow shoulder
    (35 %, 2.5x wider) that is lit slightly from the upper left (a faint light rim on one
    side), so that the darkening on the line centre is ``wrinkle_depth`` times the line's
    depth factor (mean 1).
    """
    hc, wc = canvas
    n = p.wrinkle_count
    theta0 = rng.uniform(0, np.pi)
    lines: list[dict[str, Any]] = []
    xs_all, ys_all, ws_all = [], [], []
    for _ in range(n):
        cx, cy = rng.uniform(0, wc), rng.uniform(0, hc)
        th = theta0 + rng.normal(0, np.deg2rad(12))
        length = rng.uniform(0.15, 0.45) * ref
        sag = rng.uniform(-0.06, 0.06) * length
        wig_a = rng.uniform(0.0, 0.012) * length
        wig_f = rng.uniform(1.0, 3.0)
        wig_p = rng.uniform(0, 2 * np.pi)
        dep = rng.uniform(0.6, 1.4)
        var_f, var_p = rng.uniform(1, 3), rng.uniform(0, 2 * np.pi)
        m = int(math.ceil(length * 3)) + 2
        t = np.linspace(-0.5, 0.5, m)
        off = sag * (1 - 4 * t**2) + wig_a * np.sin(2 * np.pi * wig_f * t + wig_p)
        ux, uy = math.cos(th), math.sin(th)
        x = cx + t * length * ux - off * uy
        y = cy + t * length * uy + off * ux
        ds = np.hypot(np.diff(x), np.diff(y))
        ds = np.concatenate([ds[:1], (ds[:-1] + ds[1:]) / 2, ds[-1:]])
        e = np.clip((0.5 - np.abs(t)) / 0.12, 0, 1)
        taper = e * e * (3 - 2 * e)
        amp = dep * taper * (1 + 0.2 * np.sin(2 * np.pi * var_f * t + var_p))
        xs_all.append(x)
        ys_all.append(y)
        ws_all.append(amp * ds)
        lines.append({"center": [cx, cy], "angle_deg": math.degrees(th) % 180.0, "length_px": length,
                      "depth_factor": dep})
    if n == 0 or p.wrinkle_depth == 0:
        return lines
    x = np.concatenate(xs_all)
    y = np.concatenate(ys_all)
    wt = np.concatenate(ws_all)
    ix, iy = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - ix, y - iy
    splat = np.zeros((hc, wc), np.float32)
    flat = splat.reshape(-1)
    for dx, dy, ww in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xx, yy = ix + dx, iy + dy
        ok = (xx >= 0) & (xx < wc) & (yy >= 0) & (yy < hc)
        np.add.at(flat, yy[ok] * wc + xx[ok], (wt * ww)[ok].astype(np.float32))
    # only the rows/cols that hold lines need blurring
    rows = np.clip([iy.min(), iy.max() + 1], 0, hc - 1)
    cols = np.clip([ix.min(), ix.max() + 1], 0, wc - 1)
    sig1 = p.wrinkle_width_px / 2.3548
    sig2 = 2.5 * sig1
    pad = int(math.ceil(4 * sig2)) + 4
    y0, y1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, hc)
    x0, x1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, wc)
    sp = splat[y0:y1, x0:x1]
    root = math.sqrt(2 * math.pi)
    c1 = 0.65 * p.wrinkle_depth * root * math.sqrt(sig1**2 + 1 / 6)
    c2 = 0.35 * p.wrinkle_depth * root * math.sqrt(sig2**2 + 1 / 6)
    core = cv2.GaussianBlur(sp, (0, 0), sig1)
    core *= np.float32(c1)
    # the shoulder is smooth: blur at half resolution (sum-preserving down, linear up)
    hh, ww = sp.shape
    small = cv2.resize(sp, ((ww + 1) // 2, (hh + 1) // 2), interpolation=cv2.INTER_AREA)
    cv2.GaussianBlur(small, (0, 0), math.sqrt(max(sig2**2 - 0.5, 0.25)) / 2.0, dst=small)
    shoulder = cv2.resize(small, (ww, hh), interpolation=cv2.INTER_LINEAR)
    shoulder *= np.float32(c2)
    core += shoulder
    # directional shading: dark toward the lower right, faint light rim toward the upper left
    o = max(int(round(1.5 * sig2)), 1)
    rim = np.zeros_like(shoulder)
    rim[:-o, :-o] = shoulder[o:, o:]
    rim -= shoulder
    core += np.float32(0.5) * rim
    detail[y0:y1, x0:x1] -= core
    return lines


def _scar_weight(
    rng: np.random.Generator, canvas: tuple[int, int], margin: int, shape: tuple[int, int], p: SkinParams
) -> tuple[np.ndarray, tuple[int, int], dict[str, Any]]:
    """Scar weight in its bounding box on the canvas, the box corner (y0, x0) and geometry."""
    h, w = shape
    hc, wc = canvas
    jit = rng.uniform(-0.03, 0.03, 2)
    if p.scar_center is None:
        cxf, cyf = 0.5 + jit[0], 0.5 + jit[1]
    else:
        cxf, cyf = p.scar_center
    cx, cy = cxf * w + margin, cyf * h + margin
    rx, ry = p.scar_radii[0] * w, p.scar_radii[1] * w
    ang = rng.uniform(-25, 25)
    ks = np.arange(2, 7)
    amps = rng.uniform(-1, 1, ks.size) * 0.07 / (ks - 1) ** 0.6
    phases = rng.uniform(0, 2 * np.pi, ks.size)
    s = max(p.scar_border_px, 0.2) / 4.394
    ext = (1 + np.abs(amps).sum()) * max(rx, ry) + 8 * s + 4
    x0, x1 = max(int(cx - ext), 0), min(int(cx + ext) + 2, wc)
    y0, y1 = max(int(cy - ext), 0), min(int(cy + ext) + 2, hc)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    xx -= np.float32(cx)
    yy -= np.float32(cy)
    c, sn = math.cos(math.radians(ang)), math.sin(math.radians(ang))
    u = xx * np.float32(c) + yy * np.float32(sn)
    v = -xx * np.float32(sn) + yy * np.float32(c)
    un = u / np.float32(rx)
    vn = v / np.float32(ry)
    rho_e = np.sqrt(un * un + vn * vn)
    inv = np.float32(1.0) / np.maximum(rho_e, np.float32(1e-6))
    c1, s1 = un * inv, vn * inv  # cos, sin of the elliptic angle
    # radial modulation sum_k a_k cos(k th + phi_k), cos/sin(k th) by Chebyshev recurrence
    rfac = np.ones_like(un)
    ck, sk = c1, s1
    for kk in range(2, int(ks[-1]) + 1):
        ck, sk = ck * c1 - sk * s1, sk * c1 + ck * s1
        a, ph = amps[kk - 2], phases[kk - 2]
        rfac += np.float32(a * math.cos(ph)) * ck - np.float32(a * math.sin(ph)) * sk
    rloc = np.sqrt((rx * c1) ** 2 + (ry * s1) ** 2) * rfac
    d = (rho_e / rfac - 1) * rloc
    # small-scale irregularity of the outline (a few px), smooth along the border
    wob = _lowfreq(rng, d.shape, 1, (0.12 * min(rx, ry),), (1.0,))[0]
    d += np.float32(0.05 * min(rx, ry)) * wob
    wgt = 1.0 / (1.0 + np.exp(np.clip(d / np.float32(s), -60, 60)))
    geom = {
        "center_xy": [cx - margin, cy - margin],
        "radii_px": [rx, ry],
        "angle_deg": ang,
        "harmonic_amplitudes": amps.tolist(),
        "border_px": p.scar_border_px,
    }
    return wgt.astype(np.float32), (y0, x0), geom


# --------------------------------------------------------------------------- main API


def skin_phantom(
    shape: tuple[int, int] = (768, 1024),
    *,
    seed: int = 0,
    params: SkinParams | None = None,
    treatment: float = 0.0,
    treat_scar: bool = True,
    exposure: float = 1.0,
    white_balance: Sequence[float] = (1.0, 1.0, 1.0),
    shift_px: Sequence[float] = (0.0, 0.0),
    rotation_deg: float = 0.0,
    scale: float = 1.0,
    noise_seed: int | None = None,
) -> Phantom:
    """Render a synthetic skin close-up with known ground truth.

    Parameters
    ----------
    shape : tuple of int
        (height, width) of the photo, each side in [64, 12000].
    seed : int
        Fixes the scene: mottling, grain, micro-relief, pore and line positions, scar
        shape and the illumination gradient of the set-up. The same seed with any
        treatment or nuisance shows the same skin.
    params : SkinParams, optional
        Untreated skin settings (default ``SkinParams()``).
    treatment : float
        Strength ``k`` in [0, 1]. ``fine_amplitude``, ``microrelief_depth``,
        ``pore_depth`` and ``wrinkle_depth`` are multiplied by ``1 - k``; with
        ``treat_scar``, so are the three ``scar_delta_lab`` offsets and
        ``1 - scar_texture_ratio`` (the scar's texture ratio moves toward 1).
        ``k = 0`` is the untreated baseline.
    treat_scar : bool
        Whether the treatment acts on the scar.
    exposure : float
        Gain on linear-light RGB (e.g. 0.9-1.1), > 0.
    white_balance : sequence of 3 float
        Per-channel linear-light gains (R, G, B), > 0.
    shift_px : sequence of 2 float
        (dx, dy): a feature at baseline (x, y) appears at (x + dx, y + dy).
    rotation_deg : float
        Rotation of the skin about the image centre, counter-clockwise as displayed
        (the sign of ``cv2.getRotationMatrix2D``); |rotation| <= 10.
        Geometric nuisances resample the scene with Lanczos-4 (bicubic above 4.2 MP).
    scale : float
        Magnification of the skin about the image centre, in [0.85, 1.25].
    noise_seed : int, optional
        Seed of the sensor noise. Default: derived from every other argument, so that
        two retakes with different nuisances have independent noise. Two calls that
        differ only in ``noise_seed`` are the same photo taken twice.

    Returns
    -------
    Phantom
        ``rgb`` float32 (H, W, 3) sRGB in [0, 1]; ``lesion`` bool (H, W) in this photo's
        grid (scar weight >= 0.5, warped with the geometric nuisance); ``truth``.

    Raises
    ------
    texturecmp.errors.BadSettingsError
        Any argument out of range (the message names it).

    Notes
    -----
    Geometric nuisances are applied by rendering the scene on a canvas with a margin
    and sampling it with ``cv2.warpAffine`` (Lanczos-4); without them the photo is an
    exact crop of the canvas (no resampling). The forward map from baseline pixel
    coordinates ``p`` to this photo is ``A p + b`` with ``[A | b]`` =
    ``cv2.getRotationMatrix2D(centre, rotation_deg, scale)`` plus ``shift_px``,
    ``centre = ((W - 1) / 2, (H - 1) / 2)``; it is recorded as ``truth["transform"]``.
    """
    h, w = _check_shape(shape)
    if params is None:
        params = SkinParams()
    if not isinstance(params, SkinParams):
        raise _bad("params", "a SkinParams", type(params).__name__)
    seed = check_int(seed, "seed", ge=0, expected="a non-negative integer", wording="must be")
    k = _finite("treatment", treatment)
    if not 0.0 <= k <= 1.0:
        raise _bad("treatment", "in [0, 1]", treatment)
    exposure = _finite("exposure", exposure)
    if not 0.05 <= exposure <= 20:
        raise _bad("exposure", "a gain in [0.05, 20]", exposure)
    wb = _triple("white_balance", white_balance)
    if not all(0.05 <= v <= 20 for v in wb):
        raise _bad("white_balance", "three gains in [0.05, 20]", white_balance)
    dx, dy = _pair("shift_px", shift_px)
    rot = _finite("rotation_deg", rotation_deg)
    if abs(rot) > 10:
        raise _bad("rotation_deg", "in [-10, 10] degrees", rotation_deg)
    scale = _finite("scale", scale)
    if not 0.85 <= scale <= 1.25:
        raise _bad("scale", "in [0.85, 1.25]", scale)
    if noise_seed is not None:
        check_int(noise_seed, "noise_seed", ge=0, expected="a non-negative integer or None", wording="must be")

    p = params.treated(k, treat_scar=bool(treat_scar))
    margin = int(math.ceil(0.10 * max(h, w))) + 16
    hc, wc = h + 2 * margin, w + 2 * margin
    ref = max(h, w)

    # geometry: baseline pixel coords -> this photo's pixel coords
    centre = ((w - 1) / 2.0, (h - 1) / 2.0)
    A = cv2.getRotationMatrix2D(centre, rot, scale)
    A[0, 2] += dx
    A[1, 2] += dy
    geometric = not (rot == 0.0 and scale == 1.0 and dx == 0.0 and dy == 0.0)
    # canvas coords = baseline coords + margin
    M = A.copy()
    M[:, 2] -= A[:, :2] @ np.array([margin, margin], dtype=np.float64)
    if geometric:
        Ainv = cv2.invertAffineTransform(M)
        corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=np.float64)
        src = corners @ Ainv.T
        if (src.min() < 4) or (src[:, 0].max() > wc - 5) or (src[:, 1].max() > hc - 5):
            raise BadSettingsError(
                f"shift_px/rotation_deg/scale move the view beyond the rendered margin ({margin} px): "
                f"shift_px={(dx, dy)!r}, rotation_deg={rot!r}, scale={scale!r}"
            )

    ss = np.random.SeedSequence([seed, 20240611])
    r_mot, r_grain, r_micro, r_pore, r_wr, r_scar, r_ill = (np.random.default_rng(s) for s in ss.spawn(7))

    # ---- scene in Lab on the canvas
    base = np.array(p.base_rgb, np.float32).reshape(1, 1, 3)
    L0, a0, b0 = (float(v) for v in cv2.cvtColor(base, cv2.COLOR_RGB2Lab).reshape(3))
    # mottling: pigment P (darker, yellower), redness E (darker, redder), shading S
    ma = p.mottling_amplitude
    Lc, ac, bc = _lowfreq(
        r_mot, (hc, wc), 3, (45.0, 110.0, 240.0), (0.45, 0.7, 0.55),
        mix=((-0.8 * ma, -0.45 * ma, -0.35 * ma, L0), (0.0, 0.7 * ma, 0.0, a0), (0.55 * ma, 0.0, 0.0, b0)),
    )

    # texture detail (L*): grain + micro-relief - pores - lines
    if p.fine_amplitude > 0:
        detail = _grain(r_grain, (hc, wc))
        detail *= np.float32(p.fine_amplitude)
    else:
        detail = np.zeros((hc, wc), np.float32)
    if p.microrelief_depth > 0:
        net = _microrelief(r_micro, (hc, wc)).astype(np.float32)
        cv2.scaleAdd(net, -p.microrelief_depth / 255.0, detail, dst=detail)
        del net
    pore_xy, patches, pcorners = _pores(r_pore, (hc, wc), p)
    if p.pore_depth > 0:
        _add_patches(detail, patches, pcorners, -1.0)
    del patches
    lines = _wrinkles(r_wr, (hc, wc), p, ref, detail)

    wgt, (sy0, sx0), scar_geom = _scar_weight(r_scar, (hc, wc), margin, (h, w), p)
    sh, sw = wgt.shape
    box = (slice(sy0, sy0 + sh), slice(sx0, sx0 + sw))
    ratio = np.float32(p.scar_texture_ratio)
    detail[box] *= np.float32(1.0) + (ratio - np.float32(1.0)) * wgt
    Lc += detail
    del detail
    # scar colour: mean offset + zero-mean low-frequency variation inside the lesion
    var = _lowfreq(r_scar, (sh, sw), 1, (25.0, 70.0), (0.6, 0.8))[0]
    wsum = float(wgt.sum()) + 1e-12
    var -= np.float32(float((var * wgt).sum()) / wsum)
    dL, da, db = p.scar_delta_lab
    vamp = np.float32(0.35)
    for ch, dv in ((Lc, dL), (ac, da), (bc, db)):
        if dv != 0:
            ch[box] += wgt * np.float32(dv) * (np.float32(1.0) + vamp * var)

    # ---- capture: geometry
    interp = cv2.INTER_LANCZOS4 if h * w <= _LANCZOS_MAX_PX else cv2.INTER_CUBIC
    if geometric:
        lab = cv2.merge([cv2.warpAffine(c, M, (w, h), flags=interp, borderMode=cv2.BORDER_REFLECT)
                         for c in (Lc, ac, bc)])
        Mb = M.copy()
        Mb[:, 2] += M[:, :2] @ np.array([sx0, sy0], dtype=np.float64)
        wimg = cv2.warpAffine(wgt, Mb, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    else:
        crop = (slice(margin, margin + h), slice(margin, margin + w))
        lab = cv2.merge([Lc[crop], ac[crop], bc[crop]])
        wimg = np.zeros((h, w), np.float32)
        ya, xa = max(sy0 - margin, 0), max(sx0 - margin, 0)
        yb, xb = min(sy0 + sh - margin, h), min(sx0 + sw - margin, w)
        if ya < yb and xa < xb:
            wimg[ya:yb, xa:xb] = wgt[ya + margin - sy0 : yb + margin - sy0, xa + margin - sx0 : xb + margin - sx0]
    del Lc, ac, bc
    lesion = wimg >= 0.5

    # ---- capture: photometry in linear light
    lin = cv2.cvtColor(lab, cv2.COLOR_Lab2LRGB, dst=lab)
    gx, gy = r_ill.uniform(-0.035, 0.035, 2)
    vig = r_ill.uniform(0.01, 0.035)
    X = np.linspace(-1, 1, w, dtype=np.float32)
    Y = np.linspace(-1, 1, h, dtype=np.float32) * np.float32(h / w)
    gain = (np.float32(1) + np.float32(gx) * X - np.float32(vig) * X * X)[None, :] + (
        np.float32(gy) * Y - np.float32(vig) * Y * Y
    )[:, None]
    lin *= gain[..., None]
    lin *= np.array([exposure * g for g in wb], np.float32).reshape(1, 1, 3)
    rgb = _srgb_encode(lin)
    del lin

    # ---- sensor noise (sRGB units, independent per channel)
    if noise_seed is None:
        noise_seed = _seed_of(seed, [h, w], params.to_dict(), k, bool(treat_scar), exposure, list(wb), [dx, dy], rot,
                              scale) % (2**63)
    noise_seed = int(noise_seed)
    if p.noise_sd > 0:
        rn = np.random.default_rng(noise_seed)
        z = rn.standard_normal((h, w, 3), dtype=np.float32)
        z *= np.float32(p.noise_sd)
        rgb += z
        del z
    np.clip(rgb, 0.0, 1.0, out=rgb)

    # ---- ground truth
    if pore_xy:
        pc = np.asarray(pore_xy, np.float64) - margin
        pc = pc @ A[:, :2].T + A[:, 2]
        n_in = int(np.count_nonzero((pc[:, 0] >= 0) & (pc[:, 0] <= w - 1) & (pc[:, 1] >= 0) & (pc[:, 1] <= h - 1)))
    else:
        n_in = 0
    lc = np.asarray(scar_geom["center_xy"], np.float64) @ A[:, :2].T + A[:, 2]
    area = int(np.count_nonzero(lesion))
    truth: dict[str, Any] = {
        "seed": seed,
        "noise_seed": noise_seed,
        "shape": [h, w],
        "treatment": k,
        "treat_scar": bool(treat_scar),
        "treatment_factor": 1.0 - k,
        "params": p.to_dict(),
        "params_untreated": params.to_dict(),
        "base_lab": [L0, a0, b0],
        "exposure": exposure,
        "white_balance": list(wb),
        "shift_px": [dx, dy],
        "rotation_deg": rot,
        "scale": scale,
        "transform": A.tolist(),
        "resampled": geometric,
        "interpolation": ("lanczos4" if interp == cv2.INTER_LANCZOS4 else "cubic") if geometric else None,
        "margin_px": margin,
        "illumination": {"gradient_x": float(gx), "gradient_y": float(gy), "vignetting": float(vig)},
        "pore_count": n_in,
        "pore_count_scene": len(pore_xy),
        "wrinkle_count": p.wrinkle_count,
        "wrinkle_angle_deg": (float(np.median([ln["angle_deg"] for ln in lines])) if lines else None),
        "lesion": {
            **scar_geom,
            "center_xy": lc.tolist(),
            "radii_px": [r * scale for r in scar_geom["radii_px"]],
            "angle_deg": scar_geom["angle_deg"] + rot,
            "area_px": area,
            "area_fraction": area / float(h * w),
        },
        "jpeg_quality": None,
    }
    return Phantom(rgb=rgb, lesion=lesion, truth=truth)


# --------------------------------------------------------------------------- I/O


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] (H, W[, 3]) to uint8 with rounding and clipping.

    Parameters
    ----------
    rgb : numpy.ndarray
        Float image, values in [0, 1] (values outside are clipped).

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape.
    """
    a = np.asarray(rgb)
    if a.dtype == np.uint8:
        return a
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise _bad("rgb", "an (H, W) or (H, W, 3) array", a.shape)
    out = np.clip(a.astype(np.float32) * np.float32(255.0) + np.float32(0.5), 0, 255)
    return out.astype(np.uint8)


def jpeg_roundtrip(rgb: np.ndarray, quality: int = 90) -> np.ndarray:
    """Encode as JPEG (Pillow, 4:2:0 chroma like a phone camera) and decode back.

    Parameters
    ----------
    rgb : numpy.ndarray
        float (H, W, 3) in [0, 1].
    quality : int
        JPEG quality, 1-100.

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 3) in [0, 1].
    """
    q = _check_quality(quality)
    buf = io.BytesIO()
    Image.fromarray(to_uint8(rgb)).save(buf, format="JPEG", quality=q)
    buf.seek(0)
    with Image.open(buf) as im:
        out = np.asarray(im.convert("RGB"), dtype=np.float32)
    out *= np.float32(1.0 / 255.0)
    return out


def _check_quality(quality: Any) -> int:
    return check_int(quality, "quality", ge=1, le=100, wording="must be")


def save_image(path: str | os.PathLike, rgb: np.ndarray, *, quality: int = 92) -> None:
    """Save a float [0, 1] RGB image as JPEG (``.jpg``/``.jpeg``) or PNG, without metadata.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; the suffix picks the format.
    rgb : numpy.ndarray
        float (H, W, 3) in [0, 1] (or uint8).
    quality : int
        JPEG quality (ignored for PNG).
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    im = Image.fromarray(to_uint8(rgb))
    if suffix in (".jpg", ".jpeg"):
        im.save(path, format="JPEG", quality=_check_quality(quality), optimize=True)
    elif suffix == ".png":
        im.save(path, format="PNG", optimize=True)
    else:
        raise _bad("path", "a .jpg, .jpeg or .png file name", os.fspath(path))


def save_mask(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Save a boolean mask as an 8-bit PNG (0 / 255).

    Parameters
    ----------
    path : str or os.PathLike
        Destination (``.png``).
    mask : numpy.ndarray
        2-D array; non-zero is inside.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise _bad("mask", "a 2-D array", m.shape)
    if os.path.splitext(os.fspath(path))[1].lower() != ".png":
        raise _bad("path", "a .png file name", os.fspath(path))
    Image.fromarray(np.where(m.astype(bool), 255, 0).astype(np.uint8)).save(path, format="PNG", optimize=True)


# --------------------------------------------------------------------------- retakes


def nuisance_retake(
    seed: int = 0,
    *,
    shape: tuple[int, int] = (768, 1024),
    level: str = "typical",
    variant: int = 0,
    params: SkinParams | None = None,
) -> tuple[Phantom, Phantom]:
    """A baseline and a nuisance-only retake of the same untreated skin.

    Parameters
    ----------
    seed : int
        Scene seed (the skin).
    shape : tuple of int
        (height, width).
    level : {"typical", "mild"}
        Nuisance ranges, see :data:`NUISANCE_LEVELS`. "typical": exposure 0.93-1.07,
        white-balance gains 0.97-1.03, shift up to +-6 px per axis, rotation up to
        +-1 deg; JPEG quality 80-95 on both photos; independent sensor noise.
    variant : int
        Picks the (deterministic) random nuisances of the retake.
    params : SkinParams, optional
        Skin settings (default ``SkinParams()``).

    Returns
    -------
    tuple of Phantom
        (baseline, retake); both JPEG round-tripped (``truth["jpeg_quality"]``).
    """
    if level not in NUISANCE_LEVELS:
        raise _bad("level", f"one of {sorted(NUISANCE_LEVELS)}", level)
    check_int(variant, "variant", ge=0, expected="a non-negative integer", wording="must be")
    check_int(seed, "seed", ge=0, expected="a non-negative integer", wording="must be")
    lv = NUISANCE_LEVELS[level]
    rng = np.random.default_rng([int(seed), int(variant), 7919])
    q_lo, q_hi = lv["jpeg_quality"]
    q_base, q_re = (int(v) for v in rng.integers(q_lo, q_hi + 1, 2))
    exposure = 1.0 + rng.uniform(-1, 1) * lv["exposure"]
    wb = tuple(float(v) for v in 1.0 + rng.uniform(-1, 1, 3) * lv["white_balance"])
    shift = tuple(float(v) for v in rng.uniform(-1, 1, 2) * lv["shift_px"])
    rot = float(rng.uniform(-1, 1) * lv["rotation_deg"])
    ns_base, ns_re = (int(v) for v in rng.integers(0, 2**62, 2))
    base = skin_phantom(shape, seed=seed, params=params, noise_seed=ns_base)
    re = skin_phantom(shape, seed=seed, params=params, exposure=exposure, white_balance=wb, shift_px=shift,
                      rotation_deg=rot, noise_seed=ns_re)
    out = []
    for ph, q in ((base, q_base), (re, q_re)):
        truth = dict(ph.truth)
        truth["jpeg_quality"] = q
        truth["nuisance_level"] = level
        truth["variant"] = int(variant)
        out.append(Phantom(rgb=jpeg_roundtrip(ph.rgb, q), lesion=ph.lesion, truth=truth))
    return out[0], out[1]
