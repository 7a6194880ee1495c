r"""Texture family: roughness of the L* detail layer inside the region.

Symbols: D is the detail layer :math:`D = L^* - G_{\sigma}(L^*)` (masked Gaussian,
``detail_sigma_mm``); n the number of region pixels.

- ``texture.sa`` :math:`= \frac1n\sum |D|`, ``texture.sq`` :math:`= \sqrt{\frac1n\sum D^2}`
  (ISO 25178-2 Sa, Sq analogues; *intensity* roughness in L* units, not heights).
- ``texture.band_*`` :math:`= \sqrt{\frac1n\sum (G_{s_1}L^* - G_{s_2}L^*)^2}` for the
  (s1, s2) sigma pairs ``band_fine_mm``, ``band_medium_mm``, ``band_coarse_mm``.
- ``texture.glcm_*``: Haralick features of D quantised with a fixed bin width
  (``glcm_bin_width`` L* units, ``glcm_levels`` bins centred on 0; IBSI fixed bin size),
  symmetric GLCM at distance ``glcm_distance_mm``, 4 angles, counting pairs with both
  pixels in the region; each feature is computed per angle and averaged (IBSI "2D,
  averaged"). Energy is the joint energy (angular second moment); homogeneity the
  inverse difference moment; entropy in bits.
- ``texture.lbp_entropy``: Shannon entropy (bits) of the rotation-invariant uniform
  LBP(8, R) histogram (riu2, 10 codes; Ojala et al. 2002) of lightly smoothed L*. The 8
  neighbours lie on the square ring of radius R px (no interpolation).
- ``texture.anisotropy``: mean coherence :math:`((\lambda_1-\lambda_2)/(\lambda_1+\lambda_2))^2`
  of the structure tensor (gradients of smoothed L*, integrated over
  ``anisotropy_sigma_mm``).

References: Haralick et al. 1973; Ojala, Pietikainen & Maenpaa 2002; Zwanenburg et al.
2020 (IBSI); ISO 25178-2; Bigun & Granlund 1987.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from texturecmp._filters import gauss, gauss_small
from texturecmp.glcm import glcm, glcm_features
from texturecmp.metrics._base import Context, Family, register_family, safe_div

__all__ = ["TextureFamily", "lbp_riu2", "LBP_BINS"]

LBP_BINS = 10  # riu2 codes 0..8 (number of ones in a uniform pattern) and 9 (non-uniform)


def _riu2_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.uint16)
    bits = (codes[:, None] >> np.arange(8)) & 1
    transitions = np.sum(bits != np.roll(bits, -1, axis=1), axis=1)
    return np.where(transitions <= 2, bits.sum(axis=1), 9).astype(np.uint8)


_RIU2 = _riu2_table()


def lbp_riu2(image: np.ndarray, *, radius: int = 1) -> np.ndarray:
    """Rotation-invariant uniform LBP(8, radius) codes (0..9) of a 2-D float image.

    The neighbours are the 8 pixels at offsets of ``radius`` on the square ring (no
    interpolation); edge pixels use the reflected border. Code k (0..8) is a uniform
    pattern with k neighbours >= the centre; 9 is any non-uniform pattern (Ojala 2002).
    """
    r = int(radius)
    pad = cv2.copyMakeBorder(image, r, r, r, r, cv2.BORDER_REFLECT)
    h, w = image.shape
    c = image
    code = np.zeros((h, w), np.uint8)
    offsets = [(-r, -r), (-r, 0), (-r, r), (0, r), (r, r), (r, 0), (r, -r), (0, -r)]  # circular order
    for bit, (dy, dx) in enumerate(offsets):
        nb = pad[r + dy:r + dy + h, r + dx:r + dx + w]
        ge = cv2.compare(nb, c, cv2.CMP_GE)  # 255 where the neighbour >= the centre
        cv2.bitwise_or(code, cv2.bitwise_and(ge, 1 << bit), dst=code)
    return cv2.LUT(code, _RIU2)


def _entropy_bits(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        tot = p.sum(axis=-1, keepdims=True)
        q = p / tot
        e = -np.sum(np.where(q > 0, q * np.log2(np.where(q > 0, q, 1)), 0.0), axis=-1)
    return np.where(tot[..., 0] > 0, e, np.nan)


def quantize_detail(D: np.ndarray, *, bin_width: float, lower: float, n_levels: int) -> np.ndarray:
    """:func:`texturecmp.glcm.quantize_fixed_bin` for finite float32 images with <= 256 levels,
    in six passes instead of numpy's eight (the same levels: floor, then clip)."""
    t = cv2.subtract(D, float(lower))  # (v - lower) * (1 / w), exactly as the reference does
    t = cv2.multiply(t, 1.0 / bin_width)
    np.floor(t, out=t)
    t = cv2.max(t, 0.0)
    q = cv2.convertScaleAbs(t)  # exact for the integers t now holds; saturates at 255
    return cv2.min(q, n_levels - 1)


def _gauss_k(src: np.ndarray, sigma_full: float, k: int) -> np.ndarray:
    """Gaussian of sigma_full (full-resolution px) applied to an image area-downsampled by k.

    The k x k box of the downsampling already contributes a variance of (k^2 - 1) / 12.
    """
    if k == 1:
        return gauss(src, sigma_full)
    s = (max(sigma_full**2 - (k * k - 1) / 12.0, 0.25)) ** 0.5 / k
    return gauss(src, s)


@register_family
class TextureFamily(Family):
    name = "texture"
    metrics = ("texture.sa", "texture.sq", "texture.band_fine", "texture.band_medium", "texture.band_coarse",
               "texture.glcm_contrast", "texture.glcm_homogeneity", "texture.glcm_energy",
               "texture.glcm_correlation", "texture.glcm_entropy", "texture.lbp_entropy", "texture.anisotropy")

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        s = ctx.settings
        g = ctx.grid
        m = ctx.roi
        D = ctx.D
        out: dict[str, np.ndarray] = {"n": ctx.roi_count()}
        out["abs"] = g.sums(np.abs(D))  # D is 0 outside the roi
        D2 = cv2.multiply(D, D)
        ctx.cache["D2"] = D2
        out["sq"] = g.sums(D2)
        # difference-of-Gaussian bands of L*: the fine band at full resolution (its lower sigma
        # is ctx.L1), the medium and coarse bands on area-downsampled L* (by 2 and 4), where
        # their content is still fully resolved; tile sums are scaled back (k^2)
        for band, k in (("fine", 1), ("medium", 2), ("coarse", 4)):
            lo, hi = getattr(s, f"band_{band}_mm")
            src = ctx.L if k == 1 else ctx.down("L", k)
            a = ctx.L1 if k == 1 else _gauss_k(src, ctx.px(lo), k)
            diff = a - _gauss_k(src, ctx.px(hi), k)
            sq = cv2.multiply(diff, diff)
            if not ctx.roi_all:
                sq = cv2.multiply(sq, ctx.roi_f if k == 1 else ctx.down("roi", k))
            out[f"band_{band}"] = g.sums(sq, scale=k)
        # GLCM on D with a fixed bin width, centred on 0
        levels = s.glcm_levels
        lower = -0.5 * levels * s.glcm_bin_width
        q = quantize_detail(D, bin_width=s.glcm_bin_width, lower=lower, n_levels=levels)
        dist = max(1, int(round(ctx.px(s.glcm_distance_mm))))
        tl = ctx.cache.get("grid_labels")
        if tl is None:
            tl = g.labels(ctx.shape)
            ctx.cache["grid_labels"] = tl
        out["glcm"] = glcm(q, n_levels=levels, mask=m, distance=dist, symmetric=True, tile_labels=tl, n_tiles=g.n)
        # uniform LBP histogram per tile: one bincount of (tile * 10 + code), pixels outside the
        # roi or the grid go to a dump bin
        codes = lbp_riu2(ctx.L1, radius=max(1, int(round(ctx.px(s.lbp_radius_mm)))))
        base = ctx.cache.get("lbp_base")
        if base is None:
            lab = np.where(tl >= 0, tl, g.n)
            if not ctx.roi_all:
                lab[~m] = g.n
            base = (lab * 10).astype(np.uint16 if (g.n + 1) * 10 < 65536 else np.int32)
            ctx.cache["lbp_base"] = base
        idx = base + codes
        out["lbp"] = np.bincount(idx.ravel(), minlength=(g.n + 1) * 10)[: g.n * 10].reshape(g.n, 10).astype(np.float64)
        # structure-tensor coherence ((l1 - l2) / (l1 + l2))^2, combined at the integration scale
        del idx, codes
        gx = cv2.Sobel(ctx.L1, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(ctx.L1, cv2.CV_32F, 0, 1, ksize=3)
        sig = ctx.px(s.anisotropy_sigma_mm)
        jxx = gauss_small(cv2.multiply(gx, gx), sig)
        jyy = gauss_small(cv2.multiply(gy, gy), sig)
        jxy = gauss_small(cv2.multiply(gx, gy), sig)
        del gx, gy
        # numpy's separate, exactly rounded operations: OpenCV's SIMD kernels may fuse
        # multiply-adds depending on memory alignment, which made the last bits vary run to run
        tr = jxx + jyy
        d = jxx - jyy
        e = 2 * jxy
        coh = (d * d + e * e) / np.maximum(tr * tr, 1e-24)
        coh = cv2.resize(coh, (ctx.shape[1], ctx.shape[0]), interpolation=cv2.INTER_LINEAR)
        out["coherence"] = g.sums(ctx.in_roi(coh))
        for key in ("grid_labels", "lbp_base"):  # 72 MB at 12 MP that no other family needs
            ctx.cache.pop(key, None)
        return out

    def finish(self, tot: dict[str, np.ndarray], pixel_size_mm: float | None) -> dict[str, np.ndarray]:
        n = tot["n"]
        res = {
            "texture.sa": safe_div(tot["abs"], n),
            "texture.sq": np.sqrt(safe_div(tot["sq"], n)),
            "texture.band_fine": np.sqrt(safe_div(tot["band_fine"], n)),
            "texture.band_medium": np.sqrt(safe_div(tot["band_medium"], n)),
            "texture.band_coarse": np.sqrt(safe_div(tot["band_coarse"], n)),
            "texture.anisotropy": safe_div(tot["coherence"], n),
            "texture.lbp_entropy": _entropy_bits(tot["lbp"]),
        }
        feats = glcm_features(tot["glcm"], features=("contrast", "homogeneity", "joint_energy", "correlation", "joint_entropy"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN angles (flat region) give NaN
            res["texture.glcm_contrast"] = np.nanmean(feats["contrast"], axis=-1)
            res["texture.glcm_homogeneity"] = np.nanmean(feats["homogeneity"], axis=-1)
            res["texture.glcm_energy"] = np.nanmean(feats["joint_energy"], axis=-1)
            res["texture.glcm_correlation"] = np.nanmean(feats["correlation"], axis=-1)
            res["texture.glcm_entropy"] = np.nanmean(feats["joint_entropy"], axis=-1)
        return res
