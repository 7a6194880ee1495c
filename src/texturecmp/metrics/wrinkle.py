r"""Wrinkle family: dark, elongated ridges of L* (fine lines and wrinkles).

A multi-scale Hessian ridge filter in the spirit of Frangi et al. (1998) and the hybrid
Hessian filter of Ng et al. (2014): at each scale sigma (``wrinkle_sigmas_mm``) the
Hessian of :math:`G_\sigma * L^*` has eigenvalues :math:`\lambda_1 \ge \lambda_2`. A dark
line has a large positive :math:`\lambda_1` (the profile across it is a valley) and a small
:math:`|\lambda_2|`. The ridge strength is :math:`R = \max_\sigma \sigma^2\lambda_1` where
:math:`\lambda_1 > \text{elongation}\cdot|\lambda_2|` (else 0). Pixels with
:math:`R >` ``wrinkle_threshold`` form ridges; connected ridges shorter than
``wrinkle_min_length_mm`` (their bounding box's long side) are dropped (pores, grain).

- ``wrinkle.density``: ridge pixels / region pixels (Osman et al. 2017 wrinkle index).
- ``wrinkle.length_density``: skeleton pixels of the ridges per region area (the
  skeleton pixel count approximates length; mm/mm² with a pixel size, else px/px²).
- ``wrinkle.depth``: mean of -D over ridge pixels (L* units; 0 when there are none).

Larger scales are computed on area-downsampled images (sigma stays >= 2 px there).
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.morphology import skeletonize

from texturecmp.metrics._base import Context, Family, register_family, safe_div

__all__ = ["WrinkleFamily", "ridge_strength"]


def _ridge_at(src: np.ndarray, s: float, elongation: float) -> np.ndarray:
    """s^2 * lambda_1 of the Hessian of G_s * src where lambda_1 > elongation * |lambda_2| (else 0)."""
    g = cv2.GaussianBlur(src, (0, 0), s, borderType=cv2.BORDER_REFLECT)
    dxx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=1)
    dyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=1)
    dxy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3, scale=0.25)  # [-1 0 1] x [-1 0 1] = 4 dxy
    # numpy's exactly rounded elementwise operations (OpenCV's SIMD multiply-adds may fuse
    # depending on memory alignment, and a ridge decision must not flip from run to run)
    half_tr = dxx + dyy
    half_tr *= 0.5
    diff = dxx - dyy
    diff *= 0.5
    root = np.sqrt(diff * diff + dxy * dxy)
    l1 = half_tr + root
    abs_l2 = np.abs(half_tr - root)
    r = l1 * np.float32(s * s)
    r[~(l1 > np.float32(elongation) * abs_l2)] = 0  # l1 > e|l2| (implies l1 > 0)
    return r


def ridge_strength(L: np.ndarray, sigmas_px: tuple[float, ...], *, elongation: float = 3.0) -> np.ndarray:
    """Scale-normalised dark-ridge strength max_sigma sigma^2 * lambda_1 (L* units), float32.

    Each scale is computed on L* area-downsampled by k = int(sigma / 2) (so sigma / k >= 2
    px there); the scales that share a k are combined there, and each level is enlarged
    (bilinear) once.
    """
    h, w = L.shape
    best = None
    by_k: dict[int, list[float]] = {}
    for sigma in sigmas_px:
        by_k.setdefault(max(1, int(sigma // 2)), []).append(sigma)
    for k, sigmas in sorted(by_k.items()):
        src = L if k == 1 else cv2.resize(L, (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA)
        level = None
        for sigma in sigmas:
            # the k x k box of the downsampling contributes (k^2 - 1) / 12 of variance
            s = max(sigma**2 - (k * k - 1) / 12.0, 0.25) ** 0.5 / k
            r = _ridge_at(src, s, elongation)
            level = r if level is None else cv2.max(level, r)
        if k > 1:
            level = cv2.resize(level, (w, h), interpolation=cv2.INTER_LINEAR)
        best = level if best is None else cv2.max(best, level)
    return best


@register_family
class WrinkleFamily(Family):
    name = "wrinkle"
    metrics = ("wrinkle.density", "wrinkle.length_density", "wrinkle.depth")

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        s = ctx.settings
        g = ctx.grid
        sig = tuple(ctx.px(v) for v in s.wrinkle_sigmas_mm)
        R = ridge_strength(ctx.L, sig, elongation=s.wrinkle_elongation)
        ridge = ((R > s.wrinkle_threshold) & ctx.roi).astype(np.uint8)
        n, lab, st, _ = cv2.connectedComponentsWithStats(ridge, connectivity=8)
        min_len = ctx.px(s.wrinkle_min_length_mm)
        keep = np.maximum(st[:, cv2.CC_STAT_WIDTH], st[:, cv2.CC_STAT_HEIGHT]) >= min_len
        keep[0] = False
        ridge = keep[lab]
        # skeleton on a 2x downsampled mask (ridges at sigma >= 1.5 px are >= 3 px wide), scaled back (x2 length)
        if min(sig) >= 1.5:
            small = cv2.resize(ridge.astype(np.uint8), (ridge.shape[1] // 2, ridge.shape[0] // 2), interpolation=cv2.INTER_NEAREST)
            sk = skeletonize(small.astype(bool)).astype(np.float32)
            sk = cv2.resize(sk, (ridge.shape[1], ridge.shape[0]), interpolation=cv2.INTER_NEAREST) * 0.5
        else:
            sk = skeletonize(ridge).astype(np.float32)
        rf = ridge.astype(np.float32)
        return {
            "n": ctx.roi_count(),
            "ridge": g.sums(rf),
            "skel": g.sums(sk),
            "dark": g.sums(-ctx.D * rf),
        }

    def finish(self, tot: dict[str, np.ndarray], pixel_size_mm: float | None) -> dict[str, np.ndarray]:
        n = tot["n"]
        length = safe_div(tot["skel"], n)
        if pixel_size_mm:
            length = length / pixel_size_mm  # px/px^2 -> mm/mm^2
        depth = np.where(tot["ridge"] > 0, safe_div(tot["dark"], tot["ridge"]), 0.0)
        return {
            "wrinkle.density": safe_div(tot["ridge"], n),
            "wrinkle.length_density": length,
            "wrinkle.depth": depth,
        }
