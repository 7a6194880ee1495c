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
- ``scar.visibility_excess``: the mean over the lesion of
  :math:`\max(0, \Delta E_{00} - \text{JND})` on the same map (ΔE00). The area saturates
  for a scar far above the JND; the excess falls with any fade of it.
- ``scar.texture_ratio`` :math:`= T_l / T_r` (1 = matches its surroundings), with
  :math:`T_m = \sqrt{\overline{(L^* - G_\sigma(L^* m)/G_\sigma(m))^2}}` over the mask m:
  lesion and reference each get their own normalised-convolution detail layer, so
  that neither crosses the lesion border, and a band of ``border_width_mm`` on both
  sides of the border (at most half the lesion's largest inscribed radius) is left
  out of both masks (the soft edge of the scar's colour). sigma is the upper scale of
  the medium texture band (``band_medium_mm[1]``, 0.5 mm): the ratio compares grain,
  micro-relief, pores and fine lines, not colour structure of a few mm inside the
  lesion, which a colour fade would move.
- ``scar.border_sharpness``: mean gradient magnitude of L* (smoothed at half the border
  width) over the band of pixels within ``border_width_mm`` of the lesion border
  (L*/mm or L*/px).

Photos over 2 MP are read area-downsampled by 2 for this family (means over regions and
a border gradient smoothed at >= 2 px do not need every pixel); the texture adds back
the full-resolution detail's variance within each 2 x 2 block (see ``_texture_sums``).

Uncertainty comes from tiles of a finer grid laid over lesion and reference.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from texturecmp._filters import down_exact, gauss, small_sigma
from texturecmp.color import delta_e00
from texturecmp.metrics._base import Context, Family, register_family, safe_div

__all__ = ["ScarFamily", "visibility_map", "texture_masks"]


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
    return delta_e00(sub, ref_mean, dtype=np.float32), f, window  # a map, then an area above the JND: float32 suffices


def texture_masks(lesion: np.ndarray, reference: np.ndarray, band_px: int) -> tuple[np.ndarray, np.ndarray]:
    """The lesion and reference pixels that the scar texture reads: a band of ``band_px``
    on either side of the lesion border left out (lesion eroded, reference minus the
    dilated lesion), the band at most half the lesion's largest inscribed radius (so a
    thin, linear scar keeps its core); bool."""
    l8 = lesion.astype(np.uint8)
    inscribed = float(cv2.distanceTransform(l8, cv2.DIST_L2, 3).max()) if l8.any() else 0.0
    b = min(int(band_px), int(inscribed / 2))
    if b < 1:
        return lesion, reference
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * b + 1, 2 * b + 1))
    # the border of the window counts as lesion for the erosion (a lesion cut by the photo's edge keeps its edge)
    inner = cv2.erode(l8, kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    return inner, reference & ~cv2.dilate(l8, kernel).astype(bool)


def _masked_detail(L: np.ndarray, m: np.ndarray, sigma: float) -> np.ndarray:
    """``L - G(L m) / G(m)``: L* minus its normalised-convolution Gaussian over the mask m
    (0..1 fractions; sigma in pixels of L), so that nothing outside m enters the smooth part."""
    num = gauss(np.ascontiguousarray(L * m), sigma)
    den = gauss(np.ascontiguousarray(m), sigma)
    return L - num / np.maximum(den, np.float32(1e-3))


def _texture_sums(ctx: Context, lab: np.ndarray, full_win: tuple[slice, slice], wk: tuple[slice, slice],
                  origin: tuple[int, int]) -> dict[str, np.ndarray]:
    """Tile sums of the scar texture: for lesion ("l") and reference ("r"), the mask weight
    ``{p}Tn`` and the weighted squared detail ``{p}T2``, each on its own detail layer.

    Each detail layer is a normalised convolution over its own mask (:func:`_masked_detail`,
    sigma = the upper scale of the medium texture band), on the masks of
    :func:`texture_masks`: neither crosses the lesion border, so the lesion's colour step
    (and a change of it) does not enter. Colour is kept at 1/k resolution; below that scale
    the detail is the full-resolution D's own variance within each k x k block,
    ``mean(D^2) - mean(D)^2``, which the masks do not change (their smooth parts are
    constant over a block): ``T^2 = (mean(D^2) - mean(D)^2) + D_m^2``, D_m the masked detail
    of the 1/k L*.
    """
    s, k, g = ctx.settings, ctx.ck, ctx.scar_grid
    les, ref = texture_masks(ctx.lesion[full_win], ctx.reference[full_win], int(round(ctx.px(s.border_width_mm))))
    sigma = small_sigma(ctx.px(s.band_medium_mm[1]), k)
    Lk = cv2.extractChannel(lab, 0)
    if k > 1:
        mean_d = ctx.cache[("down", "D", k)][wk]
        sub = np.maximum(ctx.cache[("down", "D2", k)][wk] - mean_d * mean_d, np.float32(0))
    else:
        sub = None
    cols = []
    for mask in (les, ref):
        m = mask.astype(np.float32)
        m = down_exact(m, k) if k > 1 else m
        t2 = _masked_detail(Lk, m, sigma)
        t2 *= t2
        if sub is not None:
            t2 += sub
        cols += [m, m * t2]
    sums = g.sums(cv2.merge(cols), origin, k)
    return {name: sums[:, c] for c, name in enumerate(("lTn", "lT2", "rTn", "rT2"))}


@register_family
class ScarFamily(Family):
    name = "scar"
    cost = 0.12
    full_res = False  # reads the colour grids, the D^2 grid and the masks
    grid = "scar"
    needs = "lesion"
    metrics = ("scar.delta_e00", "scar.delta_L", "scar.delta_a", "scar.delta_b", "scar.delta_erythema", "scar.delta_melanin",
               "scar.visible_area", "scar.visible_fraction", "scar.visibility_excess", "scar.texture_ratio",
               "scar.border_sharpness")

    def finest_mm(self, settings) -> dict[str, float]:
        # the texture ratio reads the detail down to the pixel (the fine band's lower scale);
        # colour and the visible area are means and smoothed maps
        return {"scar.texture_ratio": settings.band_fine_mm[0], "scar.border_sharpness": 0.5 * settings.border_width_mm}

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        s = ctx.settings
        g = ctx.scar_grid
        h, w = ctx.shape
        # means over lesion and reference do not need every pixel: photos over 2 MP are read
        # area-downsampled by k = 2 (masks as 0..1 fractions, so sums stay exact but for the
        # rounding of tile edges); everything happens in a window around lesion and reference
        k = ctx.ck  # colour is kept at this scale (texturecmp._filters.color_scale)
        bw = max(1, int(round(ctx.px(s.border_width_mm))))
        win = _bbox(ctx.lesion | ctx.reference, bw + int(3 * ctx.px(s.visibility_sigma_mm)) + 4)
        wk = (slice(win[0].start // k, -(-win[0].stop // k)), slice(win[1].start // k, -(-win[1].stop // k)))
        origin = (wk[1].start * k, wk[0].start * k)

        full_win = (slice(wk[0].start * k, wk[0].stop * k), slice(wk[1].start * k, wk[1].stop * k))

        def field(name: str) -> np.ndarray:
            if name in ("lesion", "reference"):  # exact k x k box fractions of the window only
                mk = getattr(ctx, name)[full_win].astype(np.float32)
                return down_exact(mk, k) if k > 1 else mk
            src = {"lab": ctx.lab, "lin": ctx.lin}[name]
            return src[wk]

        lf, rf = field("lesion"), field("reference")
        lab = field("lab")
        # two fields of <= 4 channels (OpenCV's area resize limit): (1, L*, a*, b*) and (linear R, G),
        # weighted by each mask and summed per tile
        R, G, _ = cv2.split(field("lin"))
        fields = (cv2.merge([np.ones_like(lf), *cv2.split(lab)]), cv2.merge([R, G]))
        out = {}
        for pre, m in (("l", lf), ("r", rf)):
            sums = np.concatenate([g.sums(f * m[..., None], origin, k) for f in fields], axis=1)
            for c, name in enumerate(("n", "L", "a", "b", "R", "G")):
                out[f"{pre}{name}"] = sums[:, c]
        out.update(_texture_sums(ctx, lab, full_win, wk, origin))
        # visible area: lesion pixels beyond the JND from the reference mean colour (the mean from
        # the tile sums: their order, and so the last bits, do not depend on threads)
        ref_mean = (np.array([out["rL"].sum(), out["ra"].sum(), out["rb"].sum()]) / max(float(out["rn"].sum()), 1e-9)).astype(np.float32)
        vis, f, _ = visibility_map(ctx.lab, ref_mean, sigma_px=ctx.px(s.visibility_sigma_mm) / k, window=wk)
        # where the map's pixels lie in the photo: full-resolution x = a * u + b (pixel centres)
        sx, sy = vis.shape[1] / (lf.shape[1] or 1), vis.shape[0] / (lf.shape[0] or 1)
        to_full = np.array([[k / sx, 0.0, k * (0.5 / sx + wk[1].start) - 0.5],
                            [0.0, k / sy, k * (0.5 / sy + wk[0].start) - 0.5]])
        ctx.extras["visibility"] = (vis, f, win, ref_mean, to_full)
        hk, wkk = lf.shape
        jnd = np.float32(s.jnd_delta_e00)
        over = cv2.resize((vis > jnd).astype(np.float32), (wkk, hk), interpolation=cv2.INTER_NEAREST)
        excess = cv2.resize(np.maximum(vis - jnd, np.float32(0)), (wkk, hk), interpolation=cv2.INTER_NEAREST)
        out["visible"] = g.sums(cv2.multiply(over, lf), origin, k)
        out["excess"] = g.sums(cv2.multiply(excess, lf), origin, k)
        # border band (within border_width of the lesion border) and gradient of smoothed L*
        # the band and the smoothing at the unrounded width: a follow-up taken 5 % closer or
        # farther must not get a band a whole pixel wider (its width is 10 px at 0.05 mm/px)
        bwf = max(1.0, ctx.px(s.border_width_mm) / k)
        l8 = (lf >= 0.5).astype(np.uint8)
        d_out = cv2.distanceTransform(1 - l8, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)  # to the lesion
        d_in = cv2.distanceTransform(l8, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)  # to the skin around it
        band = ((d_out <= bwf) & (l8 == 0)) | ((d_in <= bwf) & (l8 == 1))
        band = band.astype(np.float32)
        Ls = gauss(cv2.extractChannel(lab, 0), max(0.5 * bwf, 1.0))
        gx = cv2.Sobel(Ls, cv2.CV_32F, 1, 0, ksize=3) * (0.125 / k)  # per full-resolution pixel
        gy = cv2.Sobel(Ls, cv2.CV_32F, 0, 1, ksize=3) * (0.125 / k)
        grad = np.sqrt(gx * gx + gy * gy)  # not cv2.magnitude: its SIMD path varies in the last bits
        out["band"] = g.sums(band, origin, k)
        out["grad"] = g.sums(cv2.multiply(grad, band), origin, k)
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
            "scar.visibility_excess": safe_div(tot["excess"], ln),
            "scar.texture_ratio": np.sqrt(safe_div(tot["lT2"], tot["lTn"])) / np.sqrt(safe_div(tot["rT2"], tot["rTn"])),
            "scar.border_sharpness": sharp,
        }
