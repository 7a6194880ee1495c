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
- ``wrinkle.depth``: :math:`\sum_{ridges} (-D) / n`, the darkening integrated over the
  ridge pixels per region pixel (L* units: the region's mean darkening by lines; 0 when
  there are none). It is not the mean over the ridge pixels: the threshold keeps the
  darkest part of each line, so that mean stays where it is while lines fade (they fade
  out of the detection instead); the integral falls with both.

Larger scales are computed on area-downsampled images (sigma stays >= 2 px there); a
follow-up at another registration scale uses the baseline's levels.
"""

from __future__ import annotations

from typing import Callable, Iterator

import cv2
import numpy as np
from skimage.morphology import skeletonize

from texturecmp._filters import components, down_exact, gblur, kernel_size, small_sigma
from texturecmp._parallel import enlarge_rows, map_rows, sum_parts
from texturecmp.metrics._base import Context, Family, register_family, safe_div

__all__ = ["WrinkleFamily", "ridge_strength", "ridge_mask"]


def _ridge_at(src: np.ndarray, s: float, elongation: float) -> np.ndarray:
    """s^2 * lambda_1 of the Hessian of G_s * src where lambda_1 > elongation * |lambda_2| (else 0)."""
    l1, l2 = _eigen(src, s, elongation)
    l1[l1 <= l2] = 0  # keep l1 > e|l2| (implies l1 > 0)
    return l1


def _eigen(src: np.ndarray, s: float, elongation: float) -> tuple[np.ndarray, np.ndarray]:
    """(s^2 lambda_1, elongation * s^2 |lambda_2|) of the Hessian of G_s * src, lambda_1 >= lambda_2."""
    g = gblur(src, s)
    # the Sobel kernels carry the scale s^2 / 2, so a = s^2 (dxx + dyy) / 2 and b = s^2 (dxx - dyy) / 2
    h2 = 0.5 * s * s
    dxx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=1, scale=h2)
    dyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=1, scale=h2)
    dxy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3, scale=0.25 * s * s)  # [-1 0 1] x [-1 0 1] = 4 dxy
    # numpy's exactly rounded elementwise operations (OpenCV's SIMD multiply-adds may fuse
    # depending on memory alignment, and a ridge decision must not flip from run to run)
    a = dxx + dyy
    b = np.subtract(dxx, dyy, out=dxx)
    b *= b
    dxy *= dxy
    b += dxy
    root = np.sqrt(b, out=b)  # s^2 (l1 - l2) / 2
    l1 = a + root
    l2 = np.subtract(a, root, out=a)
    np.abs(l2, out=l2)
    l2 *= np.float32(elongation)
    return l1, l2


def _ridge_levels(L: np.ndarray, sigmas_px: tuple[float, ...], elongation: float,
                  down: Callable[[int], np.ndarray] | None = None,
                  level_sigmas: tuple[float, ...] | None = None) -> tuple[list[float], list[tuple[int, np.ndarray]]]:
    """Split the scales: those computed at full resolution (k = 1), and the coarse levels,
    each scale computed on L* area-downsampled by k = int(sigma / 2) (sigma / k >= 2 px
    there) and the scales sharing a k combined there (max). ``level_sigmas``: the sigmas
    that choose k (default ``sigmas_px``); a follow-up passes the baseline's, so that
    both photos compute each scale on the same pyramid level (a level switch between
    them moved the ridge decisions by several per cent)."""
    h, w = L.shape
    by_k: dict[int, list[float]] = {}
    for sigma, chooser in zip(sigmas_px, level_sigmas if level_sigmas is not None else sigmas_px):
        by_k.setdefault(max(1, int(chooser // 2)), []).append(sigma)
    coarse = []
    for k, sigmas in sorted(by_k.items()):
        if k == 1:
            continue
        src = down(k) if down is not None else down_exact(L, k)
        level = None
        for sigma in sigmas:
            r = _ridge_at(src, small_sigma(sigma, k), elongation)
            level = r if level is None else cv2.max(level, r)
        coarse.append((k, level))
    return by_k.get(1, []), coarse


def _scale_rows(L: np.ndarray, fine: list[float], coarse: list[tuple[int, np.ndarray]], elongation: float,
                y0: int, y1: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Rows y0..y1 of each scale: ``(s^2 lambda_1, elongation * s^2 |lambda_2|)`` of a
    full-resolution scale, computed on the strip plus a halo (the Gaussian kernel's radius
    + 2 rows for the derivatives); ``(strength, None)`` of a coarse level, enlarged
    (bilinear) for the strip only."""
    h, w = L.shape
    for sigma in fine:
        halo = kernel_size(sigma) // 2 + 2
        a, b = max(0, y0 - halo), min(h, y1 + halo)
        l1, l2 = _eigen(L[a:b], sigma, elongation)
        yield l1[y0 - a:y1 - a], l2[y0 - a:y1 - a]
    for k, level in coarse:
        yield enlarge_rows(level, k, y0, y1, w), None


def _ridge_rows(L: np.ndarray, fine: list[float], coarse: list[tuple[int, np.ndarray]], elongation: float,
                y0: int, y1: int) -> np.ndarray:
    """Rows y0..y1 of the ridge strength, the maximum over the scales of :func:`_scale_rows`."""
    r = None
    for l1, l2 in _scale_rows(L, fine, coarse, elongation, y0, y1):
        if l2 is not None:
            l1[l1 <= l2] = 0  # keep l1 > e|l2| (implies l1 > 0)
        r = l1 if r is None else np.maximum(r, l1)
    return r


def ridge_strength(L: np.ndarray, sigmas_px: tuple[float, ...], *, elongation: float = 3.0) -> np.ndarray:
    """Scale-normalised dark-ridge strength max_sigma sigma^2 * lambda_1 (L* units), float32.

    Each scale is computed on L* area-downsampled by k = int(sigma / 2) (so sigma / k >= 2
    px there; the scales that share a k are combined there) and enlarged (bilinear, k-fold).
    The full-resolution scales run on row strips in threads (texturecmp._parallel).
    """
    fine, coarse = _ridge_levels(L, sigmas_px, elongation)
    out = np.empty(L.shape, np.float32)

    def strip(y0: int, y1: int) -> None:
        out[y0:y1] = _ridge_rows(L, fine, coarse, elongation, y0, y1)

    map_rows(strip, L.shape[0])
    return out


def ridge_mask(L: np.ndarray, sigmas_px: tuple[float, ...], *, elongation: float, threshold: float,
               roi: np.ndarray | None = None, down: Callable[[int], np.ndarray] | None = None,
               level_sigmas: tuple[float, ...] | None = None) -> np.ndarray:
    """``(ridge_strength(L) > threshold) & roi`` as uint8 0/1, without storing the strength
    (``level_sigmas``: see :func:`_ridge_levels`)."""
    fine, coarse = _ridge_levels(L, sigmas_px, elongation, down, level_sigmas)
    out = np.empty(L.shape, np.uint8)
    thr = np.float32(threshold)

    def strip(y0: int, y1: int) -> None:
        # max_sigma(r_sigma) > t  <=>  some r_sigma > t: the decision per scale, no strength kept
        m = None
        for l1, l2 in _scale_rows(L, fine, coarse, elongation, y0, y1):
            mm = l1 > thr
            if l2 is not None:
                mm &= l1 > l2
            m = mm if m is None else (m | mm)
        if roi is not None:
            m &= roi[y0:y1]
        out[y0:y1] = m

    map_rows(strip, L.shape[0])
    return out


@register_family
class WrinkleFamily(Family):
    name = "wrinkle"
    cost = 0.31
    metrics = ("wrinkle.density", "wrinkle.length_density", "wrinkle.depth")

    def finest_mm(self, settings) -> dict[str, float]:
        return {n: min(settings.wrinkle_sigmas_mm) for n in self.metrics}  # the finest Hessian scale

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        s = ctx.settings
        g = ctx.grid
        sig = tuple(ctx.px(v) for v in s.wrinkle_sigmas_mm)
        base_sig = tuple(s.px(v, ctx.pixel_size_mm) for v in s.wrinkle_sigmas_mm)  # the baseline's pixels
        ridge = ridge_mask(ctx.L, sig, elongation=s.wrinkle_elongation, threshold=s.wrinkle_threshold,
                           down=lambda k: ctx.down("L", k),  # shared with the texture bands
                           roi=None if ctx.roi_all else ctx.roi, level_sigmas=base_sig)
        n, lab, st, _ = components(ridge)
        min_len = ctx.px(s.wrinkle_min_length_mm)
        keep = (np.maximum(st[:, cv2.CC_STAT_WIDTH], st[:, cv2.CC_STAT_HEIGHT]) >= min_len).astype(np.uint8)
        keep[0] = 0
        h, w = ctx.shape
        # skeleton on a 2x downsampled mask (even rows and columns) when ridges at sigma >= 1.5 px
        # are >= 3 px wide; its pixels then count twice in length
        half = min(base_sig) >= 1.5
        kept = np.empty((h // 2, w // 2) if half else (h, w), np.uint8)
        D = ctx.D

        def strip(y0: int, y1: int) -> dict[str, np.ndarray]:
            rk = keep[lab[y0:y1]]  # the kept ridges, 0/1
            if half:
                a = (y0 + 1) // 2
                kept[a:(y1 + 1) // 2] = rk[2 * a - y0::2, : 2 * (w // 2):2][: max(0, min(h // 2, (y1 + 1) // 2) - a)]
            else:
                kept[y0:y1] = rk
            rf = rk.astype(np.float32)
            return {"ridge": g.row_sums(rf, y0), "dark": g.row_sums(-D[y0:y1] * rf, y0)}

        out = sum_parts(map_rows(strip, h))
        del ridge
        sk = skeletonize(kept.astype(bool)).astype(np.float32)
        skel = g.sums(sk, scale=2) * 0.5 if half else g.sums(sk)  # scale 2: x4 area, x0.5 -> twice the count
        return {"n": ctx.roi_count(), "ridge": out["ridge"], "skel": skel, "dark": out["dark"]}

    def finish(self, tot: dict[str, np.ndarray], pixel_size_mm: float | None) -> dict[str, np.ndarray]:
        n = tot["n"]
        length = safe_div(tot["skel"], n)
        if pixel_size_mm:
            length = length / pixel_size_mm  # px/px^2 -> mm/mm^2
        depth = np.where(tot["ridge"] > 0, safe_div(tot["dark"], n), 0.0)
        return {
            "wrinkle.density": safe_div(tot["ridge"], n),
            "wrinkle.length_density": length,
            "wrinkle.depth": depth,
        }
