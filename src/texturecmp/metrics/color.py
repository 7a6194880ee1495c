r"""Colour family: mean colour, skin-tone angle, erythema/melanin indices and unevenness.

Lab is device CIELAB (sRGB, D65; :func:`texturecmp.color.rgb_to_lab`: linear RGB, then
OpenCV's LRGB2Lab); linear R and G are
the sRGB-decoded channel values (device reflectance proxies).

- ``color.L``, ``color.a``, ``color.b``: region means.
- ``color.ita_deg`` :math:`= \operatorname{atan2}(\bar L^* - 50, \bar b^*)\cdot 180/\pi`
  (Chardon et al. 1991; equals arctan((L*-50)/b*) for b* > 0).
- ``color.erythema_index`` :math:`= 100\log_{10}(\bar R/\bar G)`,
  ``color.melanin_index`` :math:`= 100\log_{10}(1/\bar R)` of the region's mean linear
  R and G (Dawson et al. 1980; Takiwaki 1998). Device dependent: compare within one setup.
- ``color.unevenness``: :math:`\sqrt{\overline{\Delta E_{00}^2}}` between the region's
  colour smoothed at ``unevenness_sigma_mm`` (so that grain and pores do not count as
  colour) and its mean colour (CIEDE2000, Sharma et al. 2005). Computed on an image
  downsampled to a long side of at most 640 px.
"""

from __future__ import annotations

import cv2
import numpy as np

from texturecmp._filters import downsample, gauss, upsample
from texturecmp.color import delta_e00
from texturecmp.metrics._base import Context, Family, register_family, safe_div

__all__ = ["ColorFamily", "lab_sums"]


def lab_sums(ctx: Context, grid) -> dict[str, np.ndarray]:
    """Tile sums of the roi's pixel count, L, a, b and linear R and G (two 3-channel passes)."""
    k = ctx.ck
    if ctx.roi_all:
        lab, lin = grid.sums(ctx.lab, scale=k), grid.sums(ctx.lin, scale=k)
        n = ctx.roi_count()
    else:
        m = ctx.down("roi", k) if k > 1 else ctx.roi_f
        lab, lin = grid.sums(ctx.lab * m[..., None], scale=k), grid.sums(ctx.lin * m[..., None], scale=k)
        n = grid.sums(m, scale=k)
    return {"n": n, "L": lab[:, 0], "a": lab[:, 1], "b": lab[:, 2], "R": lin[:, 0], "G": lin[:, 1]}


def smoothed_lab_small(ctx: Context, sigma_mm: float, max_side: int = 640) -> tuple[np.ndarray, float]:
    """Lab smoothed at sigma_mm, computed on an image downsampled to <= max_side; (lab_small, factor)."""
    key = ("lab_small", sigma_mm, max_side)
    if key not in ctx.cache:
        small, f = downsample(ctx.lab, max_side)
        f /= ctx.ck  # factor relative to the full-resolution photo
        sig = ctx.px(sigma_mm) * f
        if sig > 0.3:
            small = gauss(small, sig)
        ctx.cache[key] = (np.ascontiguousarray(small), f)
    return ctx.cache[key]


@register_family
class ColorFamily(Family):
    name = "color"
    cost = 0.07
    metrics = ("color.L", "color.a", "color.b", "color.ita_deg", "color.erythema_index", "color.melanin_index", "color.unevenness")

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        g = ctx.grid
        out = lab_sums(ctx, g)
        lab_s, f = smoothed_lab_small(ctx, ctx.settings.unevenness_sigma_mm)
        roi_s = cv2.resize(ctx.roi.astype(np.uint8), (lab_s.shape[1], lab_s.shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
        if not roi_s.any():
            roi_s = np.ones_like(roi_s)
        mean = lab_s[roi_s].mean(axis=0, dtype=np.float64).astype(np.float32)
        de = delta_e00(lab_s, mean, dtype=np.float32)  # averaged over the region: float32 suffices
        # squared differences spread (nearest) over the colour grid, weighted by the roi fraction there
        k = ctx.ck
        de2 = upsample(de * de, ctx.lab.shape[:2], nearest=True)
        if not ctx.roi_all:
            de2 *= ctx.down("roi", k) if k > 1 else ctx.roi_f
        out["de2"] = g.sums(de2, scale=k)
        return out

    def finish(self, tot: dict[str, np.ndarray], pixel_size_mm: float | None) -> dict[str, np.ndarray]:
        n = tot["n"]
        L = safe_div(tot["L"], n)
        b = safe_div(tot["b"], n)
        R = safe_div(tot["R"], n)
        G = safe_div(tot["G"], n)
        with np.errstate(divide="ignore", invalid="ignore"):
            ei = np.where((R > 0) & (G > 0), 100 * np.log10(R / G), np.nan)
            mi = np.where(R > 0, 100 * np.log10(1 / R), np.nan)
        return {
            "color.L": L,
            "color.a": safe_div(tot["a"], n),
            "color.b": b,
            "color.ita_deg": np.degrees(np.arctan2(L - 50.0, b)),
            "color.erythema_index": ei,
            "color.melanin_index": mi,
            "color.unevenness": np.sqrt(safe_div(tot["de2"], n)),
        }
