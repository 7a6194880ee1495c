r"""Pore family: dark, round blobs of pore size.

A difference of Gaussians :math:`B = G_{s_1} L^* - G_{s_2} L^*` approximates the
scale-normalised Laplacian of Gaussian (Lindeberg 1998), with
:math:`s_1 = d_{min} / (2\sqrt2)` and :math:`s_2 = d_{max} / (2\sqrt2)` from the accepted
diameters ``pore_diameter_mm``. Pixels where :math:`-B >` ``pore_threshold`` (L* units)
form candidate blobs; a blob is a pore when its equivalent diameter
:math:`2\sqrt{A/\pi}` lies within ``pore_diameter_mm``, its bounding box is at most 2:1
and it fills at least 45 % of that box (lines and spots are rejected by shape and size,
as VISIA separates pores from spots by size). A pore belongs to the region and tile that
hold its centroid.

A follow-up at registration scale s (its diameters d s px) weights the blobs within a
baseline pixel of the area limits by a ramp (``_size_weights``), so that it counts what
the baseline's whole-pixel limits accept.

- ``pore.density``: pores per area (1/cm² with a pixel size, else per 10⁴ px²).
- ``pore.mean_diameter``: mean equivalent diameter (mm or px; NaN without pores).
- ``pore.area_fraction``: pore pixels / region pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from texturecmp._filters import GaussRows, components
from texturecmp._parallel import map_rows
from texturecmp.metrics._base import Context, Family, register_family, safe_div

__all__ = ["PoreFamily", "detect_pores"]


def _pore_sigmas(d_min: float, d_max: float) -> tuple[float, float]:
    s1 = max(d_min / (2 * math.sqrt(2)), 0.7)
    return s1, max(d_max / (2 * math.sqrt(2)), s1 * 1.6)


def _pore_components(L: np.ndarray, mask: np.ndarray | None, *, d_min: float, d_max: float, threshold: float,
                     L_small: np.ndarray | None = None,
                     accept: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidates (DoG below -threshold inside the mask, on row strips), their connected
    components and the round ones. Returns (labels int32, ok uint8 per label, centroids, diameters,
    areas in px) of the pores. ``accept``: the diameter limits, when not (d_min, d_max)
    (which set the DoG's scales)."""
    s1, s2 = _pore_sigmas(d_min, d_max)
    h, w = L.shape
    lo = None if L_small is not None else GaussRows(L, s1)
    hi = GaussRows(L, s2)
    cand = np.empty((h, w), np.uint8)

    def strip(y0: int, y1: int) -> None:
        a = L_small[y0:y1] if lo is None else lo.rows(y0, y1)
        c = (a - hi.rows(y0, y1)) < -threshold
        if mask is not None:
            c &= mask[y0:y1]
        cand[y0:y1] = c

    map_rows(strip, h)
    n, lab, st, cen = components(cand)
    area = st[:, cv2.CC_STAT_AREA].astype(np.float64)
    bw = st[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    bh = st[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    diam = 2.0 * np.sqrt(area / math.pi)
    a_min, a_max = accept if accept is not None else (d_min, d_max)
    ok = (diam >= a_min) & (diam <= a_max) & (np.maximum(bw, bh) <= 2.0 * np.minimum(bw, bh)) & (area >= 0.45 * bw * bh)
    ok[0] = False
    return lab, ok.astype(np.uint8), cen[ok], diam[ok], area[ok]


def _size_weights(area: np.ndarray, *, d_min: float, d_max: float, scale: float) -> np.ndarray:
    """Weights of blobs of ``area`` (this photo's px) near the size limits, for a photo at
    ``scale`` against the baseline (``d_min``, ``d_max`` in the baseline's pixels).

    In the baseline a blob's area is a whole number of pixels, so the diameter limits
    accept whole areas ``a_lo = ceil(pi d_min^2 / 4)`` .. ``a_hi = floor(pi d_max^2 / 4)``.
    A follow-up at another scale has areas in steps of ``1 / scale^2`` baseline pixels, and
    a hard cut there falls elsewhere among the many small blobs at the limit (pore counts
    moved +6..+15 % at 0.9-1.1). The weight ramps over the one baseline pixel below
    ``a_lo`` (and above ``a_hi``), so that the follow-up counts, in expectation, the blobs
    the baseline would: 1 or 0 at the baseline's own whole areas (unchanged there).
    """
    a = area / (scale * scale)
    a_lo = math.ceil(math.pi * d_min * d_min / 4.0 - 1e-9)
    a_hi = math.floor(math.pi * d_max * d_max / 4.0 + 1e-9)
    return np.clip(a - (a_lo - 1), 0.0, 1.0) * np.clip(a_hi + 1 - a, 0.0, 1.0)


def detect_pores(L: np.ndarray, mask: np.ndarray, *, d_min: float, d_max: float, threshold: float,
                 L_small: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detect dark round blobs. Returns (centroids (n, 2) as x, y; diameters (n,) px; pore mask bool)."""
    lab, ok, cen, diam, _ = _pore_components(L, mask, d_min=d_min, d_max=d_max, threshold=threshold, L_small=L_small)
    return cen, diam, ok.astype(bool)[lab]


@register_family
class PoreFamily(Family):
    name = "pore"
    cost = 0.08
    metrics = ("pore.density", "pore.mean_diameter", "pore.area_fraction")

    def finest_mm(self, settings) -> dict[str, float]:
        s1 = settings.pore_diameter_mm[0] / (2 * math.sqrt(2))  # the DoG's lower scale
        return {n: s1 for n in self.metrics}

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        s = ctx.settings
        g = ctx.grid
        d_min, d_max = (ctx.px(v) for v in s.pore_diameter_mm)
        s1, _ = _pore_sigmas(d_min, d_max)
        reuse = ctx.L1 if abs(s1 - ctx.px(s.band_fine_mm[0])) < 1e-6 else None
        sc = ctx.scale
        # candidates a pixel beyond the limits too: their weight ramps (see _size_weights)
        lo, hi = (max(0.0, d_min - 2.0 / sc), d_max + 2.0 / sc) if sc != 1.0 else (d_min, d_max)
        _, _, cen, diam, area = _pore_components(ctx.L, None if ctx.roi_all else ctx.roi, d_min=d_min, d_max=d_max,
                                                 threshold=s.pore_threshold, L_small=reuse, accept=(lo, hi))
        wt = np.ones(len(area))
        if sc != 1.0:
            wt = _size_weights(area, d_min=d_min / sc, d_max=d_max / sc, scale=sc)
        # a pore, its diameter and its area belong to the tile holding its centroid
        idx = g.index_of(cen[:, 0], cen[:, 1]) if len(cen) else np.zeros(0, np.int64)
        sel = (idx >= 0) & (wt > 0)
        w = wt[sel]
        return {
            "n": ctx.roi_count(),
            "count": np.bincount(idx[sel], weights=w, minlength=g.n).astype(np.float64),
            "diam": np.bincount(idx[sel], weights=w * diam[sel], minlength=g.n),
            "area": np.bincount(idx[sel], weights=w * area[sel], minlength=g.n),
        }

    def finish(self, tot: dict[str, np.ndarray], pixel_size_mm: float | None) -> dict[str, np.ndarray]:
        n = tot["n"]
        if pixel_size_mm:
            density = safe_div(tot["count"], n * pixel_size_mm**2) * 100.0  # per mm^2 -> per cm^2
            mean_d = safe_div(tot["diam"], tot["count"]) * pixel_size_mm
        else:
            density = safe_div(tot["count"], n) * 1e4
            mean_d = safe_div(tot["diam"], tot["count"])
        return {
            "pore.density": density,
            "pore.mean_diameter": mean_d,
            "pore.area_fraction": safe_div(tot["area"], n),
        }
