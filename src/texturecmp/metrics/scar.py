r"""Scar family: the lesion against the reference skin.

With :math:`\bar{Lab}_l` and :math:`\bar{Lab}_r` the mean colours of lesion and reference:

- ``scar.delta_e00`` :math:`= \Delta E_{00}(\bar{Lab}_l, \bar{Lab}_r)` (Sharma et al. 2005).
- ``scar.delta_L``, ``scar.delta_a``, ``scar.delta_b``: lesion minus reference means.
- ``scar.delta_erythema``, ``scar.delta_melanin``: lesion minus reference indices (see
  the colour family).
- ``scar.visible_area``: area of lesion pixels whose colour, smoothed at
  ``visibility_sigma_mm``, differs from the reference mean by more than
  ``jnd_delta_e00`` ΔE00 (mm² with a pixel size, else px²); computed on the lesion's
  neighbourhood downsampled to at most 0.25 MP and scaled back to full-resolution area.
- ``scar.visible_fraction``: visible area / lesion area.
- ``scar.texture_ratio`` :math:`= Sq_l / Sq_r` of the detail layer (1 = matches).
- ``scar.border_sharpness``: mean gradient magnitude of L* (smoothed at half the border
  width) over the band of pixels within ``border_width_mm`` of the lesion border
  (L*/mm or L*/px).

Uncertainty comes from tiles of a finer grid laid over lesion and reference.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from texturecmp._filters import gauss
from texturecmp.color import delta_e00
from texturecmp.metrics._base import Context, Family, register_family, safe_div
from texturecmp.metrics.color import lab_sums

__all__ = ["ScarFamily", "visibility_map"]


def _bbox(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    ys = np.nonzero(mask.any(axis=1))[0]
    xs = np.nonzero(mask.any(axis=0))[0]
    h, w = mask.shape
    return (slice(max(0, ys[0] - pad), min(h, ys[-1] + 1 + pad)), slice(max(0, xs[0] - pad), min(w, xs[-1] + 1 + pad)))


def visibility_map(lab: np.ndarray, ref_mean: np.ndarray, *, sigma_px: float, max_pixels: int = 250_000,
                   window: tuple[slice, slice] | None = None) -> tuple[np.ndarray, float, tuple[slice, slice]]:
    """ΔE00 of the (smoothed) photo against the reference mean colour, on a downsampled window.

    Returns (map float32, factor small/full, window slices in full-resolution pixels).
    """
    if window is None:
        window = (slice(0, lab.shape[0]), slice(0, lab.shape[1]))
    sub = lab[window]
    h, w = sub.shape[:2]
    f = min(1.0, math.sqrt(max_pixels / max(h * w, 1)))
    if f < 1.0:
        sub = cv2.resize(sub, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    sig = sigma_px * f
    if sig > 0.3:
        sub = gauss(np.ascontiguousarray(sub), sig)
    return delta_e00(sub, np.asarray(ref_mean, np.float32)[None, None, :]).astype(np.float32), f, window


@register_family
class ScarFamily(Family):
    name = "scar"
    grid = "scar"
    needs = "lesion"
    metrics = ("scar.delta_e00", "scar.delta_L", "scar.delta_a", "scar.delta_b", "scar.delta_erythema", "scar.delta_melanin",
               "scar.visible_area", "scar.visible_fraction", "scar.texture_ratio", "scar.border_sharpness")

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        s = ctx.settings
        g = ctx.scar_grid
        # everything happens in a window around lesion and reference (a fraction of the photo)
        bw = max(1, int(round(ctx.px(s.border_width_mm))))
        win = _bbox(ctx.lesion | ctx.reference, bw + int(3 * ctx.px(s.visibility_sigma_mm)) + 4)
        origin = (win[1].start, win[0].start)
        les, ref = ctx.lesion[win], ctx.reference[win]
        out = {f"l{k}": v for k, v in lab_sums(ctx, les, g, win).items()}
        out.update({f"r{k}": v for k, v in lab_sums(ctx, ref, g, win).items()})
        lf = les.astype(np.float32)
        rf = ref.astype(np.float32)
        D = ctx.D[win]
        D2 = cv2.multiply(D, D)
        out["lD2"] = g.sums(cv2.multiply(D2, lf), origin)
        out["rD2"] = g.sums(cv2.multiply(D2, rf), origin)
        # visible area: lesion pixels beyond the JND from the reference mean colour
        L, a, b = (c[win] for c in ctx.channels())
        ref_mean = np.array([L[ref].mean(), a[ref].mean(), b[ref].mean()], np.float32)
        vis, f, _ = visibility_map(ctx.lab, ref_mean, sigma_px=ctx.px(s.visibility_sigma_mm), window=win)
        ctx.extras["visibility"] = (vis, f, win, ref_mean)
        hw, ww = les.shape
        over = cv2.resize((vis > s.jnd_delta_e00).astype(np.float32), (ww, hw), interpolation=cv2.INTER_NEAREST)
        out["visible"] = g.sums(cv2.multiply(over, lf), origin)
        # border band and gradient of smoothed L*
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * bw + 1, 2 * bw + 1))
        l8 = les.astype(np.uint8)
        band = (cv2.dilate(l8, kernel) - cv2.erode(l8, kernel)).astype(np.float32)
        Ls = gauss(np.ascontiguousarray(L), max(0.5 * bw, 1.0))
        gx = cv2.Sobel(Ls, cv2.CV_32F, 1, 0, ksize=3) * 0.125
        gy = cv2.Sobel(Ls, cv2.CV_32F, 0, 1, ksize=3) * 0.125
        grad = cv2.magnitude(gx, gy)
        out["band"] = g.sums(band, origin)
        out["grad"] = g.sums(cv2.multiply(grad, band), origin)
        return out

    def valid(self, stats: dict[str, np.ndarray]) -> np.ndarray:
        return (stats["ln"] + stats["rn"]) > 0

    def finish(self, tot: dict[str, np.ndarray], pixel_size_mm: float | None) -> dict[str, np.ndarray]:
        ln, rn = tot["ln"], tot["rn"]
        lm = np.stack([safe_div(tot["lL"], ln), safe_div(tot["la"], ln), safe_div(tot["lb"], ln)], axis=-1)
        rm = np.stack([safe_div(tot["rL"], rn), safe_div(tot["ra"], rn), safe_div(tot["rb"], rn)], axis=-1)
        lR, lG = safe_div(tot["lR"], ln), safe_div(tot["lG"], ln)
        rR, rG = safe_div(tot["rR"], rn), safe_div(tot["rG"], rn)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_ei = 100 * np.log10(lR / lG) - 100 * np.log10(rR / rG)
            d_mi = 100 * np.log10(rR / lR)  # log10(1/lR) - log10(1/rR)
        area = tot["visible"] * (pixel_size_mm**2 if pixel_size_mm else 1.0)
        sharp = safe_div(tot["grad"], tot["band"]) / (pixel_size_mm if pixel_size_mm else 1.0)
        return {
            "scar.delta_e00": delta_e00(lm, rm).astype(np.float64),
            "scar.delta_L": lm[..., 0] - rm[..., 0],
            "scar.delta_a": lm[..., 1] - rm[..., 1],
            "scar.delta_b": lm[..., 2] - rm[..., 2],
            "scar.delta_erythema": d_ei,
            "scar.delta_melanin": d_mi,
            "scar.visible_area": area,
            "scar.visible_fraction": safe_div(tot["visible"], ln),
            "scar.texture_ratio": np.sqrt(safe_div(tot["lD2"], ln)) / np.sqrt(safe_div(tot["rD2"], rn)),
            "scar.border_sharpness": sharp,
        }
