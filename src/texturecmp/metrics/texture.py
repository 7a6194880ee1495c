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
  averaged"). A follow-up at registration scale s mixes the co-occurrences of the two
  whole distances around d s linearly. Energy is the joint energy (angular second moment); homogeneity the
  inverse difference moment; entropy in bits.
- ``texture.lbp_entropy``: Shannon entropy (bits) of the rotation-invariant uniform
  LBP(8, R) histogram (riu2, 10 codes; Ojala et al. 2002) of lightly smoothed L*. The 8
  neighbours lie on the square ring of radius R px (no interpolation; a follow-up at
  registration scale s reads R s px, interpolated between the whole rings around it).
- ``texture.anisotropy``: mean coherence :math:`((\lambda_1-\lambda_2)/(\lambda_1+\lambda_2))^2`
  of the structure tensor (gradients of smoothed L*, integrated over
  ``anisotropy_sigma_mm``).

References: Haralick et al. 1973; Ojala, Pietikainen & Maenpaa 2002; Zwanenburg et al.
2020 (IBSI); ISO 25178-2; Bigun & Granlund 1987.
"""

from __future__ import annotations

import math
import threading
import warnings

import cv2
import numpy as np

from texturecmp._filters import GaussRows, blur_small, gauss, small_sigma
from texturecmp._parallel import STRIP_ROWS, down_rows, enlarge_rows, map_rows, sum_parts
from texturecmp.glcm import glcm_features, glcm_grid_rows, glcm_offsets
from texturecmp.metrics._base import Context, Family, register_family, safe_div

__all__ = ["TextureFamily", "lbp_riu2", "LBP_BINS"]

LBP_BINS = 10  # riu2 codes 0..8 (number of ones in a uniform pattern) and 9 (non-uniform)
#: A photo in which the LBP radius spans fewer pixels than this cannot read it (see finest_mm).
LBP_MIN_RADIUS_PX = 0.97


def _riu2_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.uint16)
    bits = (codes[:, None] >> np.arange(8)) & 1
    transitions = np.sum(bits != np.roll(bits, -1, axis=1), axis=1)
    return np.where(transitions <= 2, bits.sum(axis=1), 9).astype(np.uint8)


_RIU2 = _riu2_table()


def lbp_riu2(image: np.ndarray, *, radius: float = 1) -> np.ndarray:
    """Rotation-invariant uniform LBP(8, radius) codes (0..9) of a 2-D float image.

    The neighbours are the 8 points at offsets of ``radius`` on the square ring: pixels
    for a whole radius (no interpolation), bilinearly interpolated between the whole
    rings around it otherwise (a follow-up at another scale reads the baseline's radius
    in its own pixels). A radius below 1 reads as 1: interpolating toward the centre
    would not change a comparison with it. Edge pixels use the reflected border. Code k
    (0..8) is a uniform pattern with k neighbours >= the centre; 9 is any non-uniform
    pattern (Ojala 2002).
    """
    rf = max(1.0, float(radius))
    r0 = int(math.floor(rf + 1e-9))
    f = rf - r0 if rf - r0 > 1e-6 else 0.0
    r = r0 + (1 if f else 0)  # the border the farthest ring needs
    pad = cv2.copyMakeBorder(image, r, r, r, r, cv2.BORDER_REFLECT)
    h, w = image.shape
    c = image

    def at(dy: int, dx: int) -> np.ndarray:
        return pad[r + dy:r + dy + h, r + dx:r + dx + w]

    def neighbour(sy: int, sx: int) -> np.ndarray:
        if not f:
            return at(sy * r0, sx * r0)
        # bilinear between the rings r0 and r0 + 1 along each axis the offset moves on
        ys = [(sy * r0, 1.0 - f), (sy * (r0 + 1), f)] if sy else [(0, 1.0)]
        xs = [(sx * r0, 1.0 - f), (sx * (r0 + 1), f)] if sx else [(0, 1.0)]
        out = None
        for dy, wy in ys:
            for dx, wx in xs:
                term = at(dy, dx) * np.float32(wy * wx)
                out = term if out is None else out + term
        return out

    code = np.zeros((h, w), np.uint8)
    signs = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]  # circular order
    for bit, (sy, sx) in enumerate(signs):
        nb = neighbour(sy, sx)
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
    """Gaussian of sigma_full (full-resolution px) applied to an image area-downsampled by k
    (:func:`texturecmp._filters.small_sigma`)."""
    return gauss(src, sigma_full if k == 1 else small_sigma(sigma_full, k))


@register_family
class TextureFamily(Family):
    name = "texture"
    cost = 0.35
    metrics = ("texture.sa", "texture.sq", "texture.band_fine", "texture.band_medium", "texture.band_coarse",
               "texture.glcm_contrast", "texture.glcm_homogeneity", "texture.glcm_energy",
               "texture.glcm_correlation", "texture.glcm_entropy", "texture.lbp_entropy", "texture.anisotropy")

    def finest_mm(self, settings) -> dict[str, float]:
        # Sa, Sq and the anisotropy read the detail down to the fine band's lower scale
        # (the gradients of L1), the GLCM its pixel-pair distance, the LBP its radius
        fine = settings.band_fine_mm[0]
        out = {n: fine for n in ("texture.sa", "texture.sq", "texture.band_fine", "texture.anisotropy")}
        out.update({n: settings.glcm_distance_mm for n in self.metrics if n.startswith("texture.glcm_")})
        # the LBP ring cannot shrink below 1 px (nearer the centre the comparisons do not
        # change): a photo whose radius falls below 1 px reads a larger radius (+1.8 / +3.5 %
        # at 5 / 10 % farther), so it needs the radius itself, within 3 %
        out["texture.lbp_entropy"] = (settings.lbp_radius_mm, LBP_MIN_RADIUS_PX)
        return out

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        s = ctx.settings
        g = ctx.grid
        m = ctx.roi
        roi_all = ctx.roi_all
        D, L1 = ctx.D, ctx.L1
        h, w = ctx.shape
        out: dict[str, np.ndarray] = {"n": ctx.roi_count()}
        # difference-of-Gaussian bands of L*: the fine band at full resolution (its lower sigma
        # is ctx.L1), the medium and coarse bands on area-downsampled L* (by 2 and 4), where
        # their content is still fully resolved; tile sums are scaled back (k^2)
        for band, k in (("medium", 2), ("coarse", 4)):
            lo, hi = getattr(s, f"band_{band}_mm")
            src = ctx.down("L", k)
            diff = _gauss_k(src, ctx.px(lo), k) - _gauss_k(src, ctx.px(hi), k)
            sq = cv2.multiply(diff, diff)
            if not roi_all:
                sq = cv2.multiply(sq, ctx.down("roi", k))
            out[f"band_{band}"] = g.sums(sq, scale=k)
        g_hi = GaussRows(ctx.L, ctx.px(s.band_fine_mm[1]))
        # GLCM on D with a fixed bin width, centred on 0
        levels = s.glcm_levels
        lower = -0.5 * levels * s.glcm_bin_width
        # the baseline's whole-pixel distance; a follow-up at another scale needs that length
        # in its own pixels, d * scale, generally not whole: its co-occurrences are those of the
        # two whole distances around it, mixed linearly (weight w of the farther one)
        d_base = max(1, int(round(s.px(s.glcm_distance_mm, ctx.pixel_size_mm))))
        d_want = max(1.0, d_base * ctx.scale)
        d_lo = int(math.floor(d_want + 1e-9))
        w_hi = d_want - d_lo if d_want - d_lo > 1e-6 else 0.0
        dists = (d_lo, d_lo + 1) if w_hi else (d_lo,)
        dist = dists[-1]  # the farthest neighbour's rows
        offset_sets = [glcm_offsets((0, 45, 90, 135), distance=d) for d in dists]
        grid = (g.x0, g.y0, g.t, g.nx, g.ny)
        glcm_sets = [np.zeros((g.n, 4, levels, levels), np.int64) for _ in dists]
        lock = threading.Lock()
        # the baseline's whole-pixel radius, in this photo's pixels (interpolated when not whole)
        r_want = max(1.0, max(1, int(round(s.px(s.lbp_radius_mm, ctx.pixel_size_mm)))) * ctx.scale)
        r_lbp = int(math.ceil(r_want - 1e-9))  # the rows the ring reaches
        # structure tensor: products of the gradients of L1, area-downsampled by kt in the strips
        sig = ctx.px(s.anisotropy_sigma_mm)
        kt = max(1, min(int(sig / 2.0), h, w))  # a photo smaller than the box keeps one full box
        J = np.empty((max(1, h // kt), max(1, w // kt), 3), np.float32)
        ex = g.col_edges(w)
        cells = [(ix, ex[ix], ex[ix + 1]) for ix in range(g.nx) if ex[ix + 1] > ex[ix]]
        roi8 = None if roi_all else m.view(np.uint8)

        def strip(y0: int, y1: int) -> dict[str, np.ndarray]:
            part: dict[str, np.ndarray] = {}
            d = D[y0:y1]  # 0 outside the roi
            part["abs"] = g.row_sums(np.abs(d), y0)
            part["sq"] = g.row_sums(d * d, y0)
            diff = L1[y0:y1] - g_hi.rows(y0, y1)
            diff *= diff
            if not roi_all:
                diff *= m[y0:y1]
            part["band_fine"] = g.row_sums(diff, y0)
            # GLCM of the pairs starting in the strip (their neighbours reach dist rows below)
            y2 = min(h, y1 + dist)
            q = quantize_detail(D[y0:y2], bin_width=s.glcm_bin_width, lower=lower, n_levels=levels)
            for offsets, counts in zip(offset_sets, glcm_sets):
                glcm_grid_rows(q, y0, y1, height=h, n_levels=levels, grid=grid, offsets=offsets,
                               mask=None if roi_all else m[y0:y2], out=counts, lock=lock)
            # uniform LBP histogram of each tile's part of the strip (calcHist, the roi as its mask)
            a, b = max(0, y0 - r_lbp), min(h, y1 + r_lbp)
            codes = lbp_riu2(L1[a:b], radius=r_want)[y0 - a:y1 - a]
            lbp = np.zeros((g.ny, g.nx, LBP_BINS))
            for iy, ya, yb in g.row_bands(y0, y1):
                cr = codes[ya - y0:yb - y0]
                for ix, xa, xb in cells:
                    mk = None if roi8 is None else roi8[ya:yb, xa:xb]
                    lbp[iy, ix] = cv2.calcHist([cr[:, xa:xb]], [0], mk, [LBP_BINS], [0, LBP_BINS]).ravel()
            part["lbp"] = lbp.reshape(g.n, LBP_BINS)
            # gradients of L1 (one halo row), products, exact kt x kt box means
            a, b = max(0, y0 - 1), min(h, y1 + 1)
            gx = cv2.Sobel(L1[a:b], cv2.CV_32F, 1, 0, ksize=3)[y0 - a:y1 - a]
            gy = cv2.Sobel(L1[a:b], cv2.CV_32F, 0, 1, ksize=3)[y0 - a:y1 - a]
            down_rows(cv2.merge([gx * gx, gy * gy, gx * gy]), y0, kt, J)
            return part

        rows = kt * max(1, -(-STRIP_ROWS // kt))  # strips start at multiples of kt
        out.update(sum_parts(map_rows(strip, h, rows)))
        # coherence ((l1 - l2) / (l1 + l2))^2 of the tensor integrated at sig, on the small grid
        jxx, jyy, jxy = cv2.split(blur_small(J, sig, kt))
        # numpy's separate, exactly rounded operations: OpenCV's SIMD kernels may fuse
        # multiply-adds depending on memory alignment, which made the last bits vary run to run
        tr = jxx + jyy
        dd = jxx - jyy
        e = 2 * jxy
        coh = (dd * dd + e * e) / np.maximum(tr * tr, 1e-24)
        del jxx, jyy, jxy, tr, dd, e
        sym = [c + c.swapaxes(-1, -2) for c in glcm_sets]  # symmetric: each pair in both orders
        out["glcm"] = sym[0] if not w_hi else (1.0 - w_hi) * sym[0] + w_hi * sym[1]

        def coherence(y0: int, y1: int) -> dict[str, np.ndarray]:
            c = enlarge_rows(coh, kt, y0, y1, w)
            if not roi_all:
                c = c * m[y0:y1]
            return {"coherence": g.row_sums(c, y0)}

        out.update(sum_parts(map_rows(coherence, h)))
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
