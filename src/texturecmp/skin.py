"""Find the skin in a photo: a default region to measure, from colour and texture (no model).

:func:`skin_mask` marks the pixels whose chroma matches the photo's own skin colour and
whose fine texture is as smooth as skin, then cleans the result into a few solid regions.
It is meant as a *default region* the user accepts or edits (the app shows it as an
outline), so that background, hair and clothes do not dilute the texture metrics of a
portrait; it is not a segmentation model and it makes no claim about anatomy.

Method
------
Working on a copy downsampled to ``work_side`` pixels on its long side:

1. **Seed chroma.** Convert sRGB to Y'CbCr (ITU-R BT.601, as OpenCV's ``COLOR_RGB2YCrCb``,
   8-bit codes) and take as seeds the pixels inside the skin chroma box of Chai & Ngan
   (1999), widened by a few codes, with luma ``Y' >= 40`` (not in deep shadow):
   ``133 <= Cr <= 178`` and ``77 <= Cb <= 130``. Grey, white, black and blue pixels (most
   backgrounds and many clothes) have ``Cr`` near or below 128 and fall outside.
   **Saturation.** Seeds must also have an HSV saturation
   :math:`S = (\\max(R,G,B) - \\min(R,G,B)) / \\max(R,G,B)` of at least ``min_saturation``
   (0.12). Chroma is not enough: a pale pinkish-grey backdrop has as little chroma as dark
   skin, but it is bright, so relative to its brightness it is nearly neutral, while dark
   skin is not (median chroma 7.8 codes on scikit-image's ``astronaut`` backdrop against
   10.6 on the darkest London portrait, 061, yet S 0.09 against 0.31). Measured S of face
   skin (lower decile, the six London neutral portraits and ``astronaut``): 0.16-0.32; of
   the ``astronaut`` backdrop: 0.09 median, 0.11 upper decile.
2. **The photo's own skin colour.** Fit a 2-D Gaussian to the seeds' (Cr, Cb): centre
   :math:`\\mu` = the median, covariance :math:`\\Sigma` from the seeds within the central
   90 % (one trimming pass). A pixel's chroma distance is the Mahalanobis distance

   .. math:: d^2 = (c - \\mu)^\\top \\Sigma^{-1} (c - \\mu),

   and pixels with :math:`d \\le` ``colour_distance`` are skin-coloured (3.0: a 2-D
   Gaussian holds 98.9 % of its mass within it). This adapts to the skin tone and white
   balance of each photo instead of fixing one box for every skin.
3. **Texture.** The local standard deviation of luma in a square window of side
   ``max(5, work_side / 64)`` (box filters of :math:`Y'` and :math:`Y'^2`). Hair, eyebrows,
   beards, knitted and printed fabric have much more fine contrast than skin: areas above
   ``texture_factor`` times the lower quartile of the skin-coloured pixels' local deviation
   (robust to a large textured share) are removed, after a morphological opening with a
   square of side ``2 * window + 1`` (so that the lines left by edges, eyelids, nose, jaw
   and the outline itself, do not cut the skin into pieces).
4. **Cleaning.** A morphological opening (3x3) and closing (5x5), holes enclosed by skin
   up to ``max_hole`` of the image filled (lesions, scars and moles inside the skin), and connected regions smaller than ``min_region``
   of the largest one dropped. The mask is resized back to the photo's size (linear
   interpolation of the 0/1 mask, threshold 0.5).

Limits
------
* Skin-coloured surroundings are taken for skin: wood, beige walls, tan or pink clothes,
  blond or red hair that is smooth at the working scale. Very dark or very pale skin lit
  with strongly coloured light can fall outside the seed box (then a
  :class:`~texturecmp.errors.BadMaskError` says no skin was found).
* A skin-coloured background that outweighs the skin takes the colour fit over. The
  saturation rule removes pale, nearly neutral backdrops (without it, ``astronaut``'s
  backdrop was found and the face left out), but not a saturated one: a beige wall under
  warm indoor light (``webmorph_same_person/lisa``) is kept, and blond hair next to the
  face is often inside the region (``astronaut``). The app shows the outline for the user
  to accept, and offers the whole photo, drawing and uploading instead.
* Enclosed holes are filled, so eyes, nostrils and the mouth of a portrait are inside the
  region, as a lesion inside the skin is; draw the region to leave them out.
* Deep shadows (``Y' < 40``) and clipped highlights (all channels saturated, chroma near
  neutral) are excluded, which is what a texture measurement wants.
* It sees colour only at the working resolution: details under about ``1 / work_side`` of
  the photo's size are not resolved.

References
----------
D. Chai and K. N. Ngan, "Face segmentation using skin-color map in videophone
applications", IEEE Trans. Circuits Syst. Video Technol. 9(4):551-564, 1999.
P. Kakumanu, S. Makrogiannis and N. Bourbakis, "A survey of skin-color modeling and
detection methods", Pattern Recognition 40(3):1106-1122, 2007.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from texturecmp._checks import check_int, check_real
from texturecmp.errors import BadMaskError, BadSettingsError

__all__ = ["skin_mask"]

#: The seed chroma box (8-bit Y'CbCr codes) and the darkest luma counted as lit skin.
_CR_RANGE = (133, 178)
_CB_RANGE = (77, 130)
_MIN_LUMA = 40


def _rgb8(image: Any) -> np.ndarray:
    """The photo as uint8 RGB (H, W, 3): an :class:`texturecmp.Image`, or an array (uint8, or floats in [0, 1])."""
    rgb8 = getattr(image, "rgb8", None)
    if rgb8 is not None:
        return rgb8
    if hasattr(image, "pixels") and callable(image.pixels):
        image = image.pixels()
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise BadSettingsError(f"image: expected an RGB array of shape (height, width, 3), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind != "f":
        raise BadSettingsError(f"image: expected uint8 or float values in [0, 1], got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise BadSettingsError("image: contains NaN or infinite values")
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _positive(name: str, v: Any) -> float:
    return check_real(v, name, gt=0, expected="a positive number")


def skin_mask(image: Any, *, colour_distance: float = 3.0, texture_factor: float = 3.0, work_side: int = 512,
              max_hole: float = 0.1, min_region: float = 0.25, min_saturation: float = 0.12) -> np.ndarray:
    """Return the photo's skin as a boolean mask of its size (True: skin).

    Parameters
    ----------
    image : texturecmp.Image or array (H, W, 3)
        The photo, sRGB: uint8 codes or floats in [0, 1].
    colour_distance : float, optional
        Largest Mahalanobis distance of a pixel's (Cr, Cb) chroma from the photo's skin
        colour (step 2 of the module's method). Default 3.0.
    texture_factor : float, optional
        Areas whose local luma deviation exceeds this many times the skin's lower quartile
        are not skin (step 3). Default 3.0.
    work_side : int, optional
        Long side in pixels of the copy the mask is found on (at least 64). Default 512.
    max_hole : float, optional
        Holes (regions not touching the border, enclosed by skin) up to this fraction of the
        image's area are filled. Default 0.1: a scar, mole or lesion inside the skin is skin,
        whatever its colour, so that a lesion marked later lies inside the region.
    min_region : float, optional
        Regions smaller than this fraction of the largest one are dropped. Default 0.25.
    min_saturation : float, optional
        Smallest HSV saturation ``(max - min) / max`` of the RGB codes of a skin pixel, in
        [0, 1) (step 1). Default 0.12: nearly neutral pale backdrops are left out, face
        skin is kept (on held-out portraits 0.12 keeps 97-100 % of the mask found without
        the rule; 0.15 already cut a face's coverage from 0.89 to 0.77). 0 turns it off.

    Returns
    -------
    numpy.ndarray of bool, shape (H, W)

    Raises
    ------
    BadMaskError
        No skin-coloured region was found (fewer than 0.5 % of the pixels).
    BadSettingsError
        A bad image or option.

    Notes
    -----
    The method, its thresholds and its limits are in the module's docstring. Works on a
    reduced copy, so its time barely depends on the photo's size, plus the final resize
    (vectorised OpenCV).
    """
    rgb = _rgb8(image)
    colour_distance = _positive("colour_distance", colour_distance)
    texture_factor = _positive("texture_factor", texture_factor)
    max_hole = _positive("max_hole", max_hole)
    min_region = _positive("min_region", min_region)
    check_real(min_saturation, "min_saturation", ge=0, lt=1, expected="a number in [0, 1)")
    check_int(work_side, "work_side", ge=64, expected="an integer of at least 64")
    h, w = rgb.shape[:2]
    f = min(1.0, work_side / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA) if f < 1 else rgb
    ycc = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2YCrCb)
    y, cr, cb = (ycc[..., k].astype(np.float32) for k in range(3))
    n = y.size

    seeds = ((cr >= _CR_RANGE[0]) & (cr <= _CR_RANGE[1]) & (cb >= _CB_RANGE[0]) & (cb <= _CB_RANGE[1])
             & (y >= _MIN_LUMA))
    if min_saturation > 0:  # HSV saturation: max - min >= s * max, in integer codes (no division)
        hi, lo = small.max(axis=2).astype(np.float32), small.min(axis=2).astype(np.float32)
        seeds &= (hi - lo) >= np.float32(min_saturation) * hi
    if np.count_nonzero(seeds) < 0.005 * n:
        raise BadMaskError("no skin found: fewer than 0.5 % of the photo's pixels have a skin colour; "
                           "draw the region to measure or use the whole photo")
    c = np.stack([cr[seeds], cb[seeds]], axis=1).astype(np.float64)
    mu = np.median(c, axis=0)
    cov = np.cov(c, rowvar=False) + np.eye(2)  # + 1 code^2: JPEG quantisation, and never singular
    inv = np.linalg.inv(cov)
    dcr, dcb = cr - mu[0], cb - mu[1]
    dist2 = inv[0, 0] * dcr * dcr + 2 * inv[0, 1] * dcr * dcb + inv[1, 1] * dcb * dcb
    colour = seeds & (dist2 <= colour_distance ** 2)

    win = max(5, int(round(max(small.shape[:2]) / 64)) | 1)
    mean = cv2.blur(y, (win, win))
    var = np.maximum(cv2.blur(y * y, (win, win)) - mean * mean, 0.0)
    sd = np.sqrt(var)
    ref = float(np.quantile(sd[colour], 0.25)) if colour.any() else 0.0
    # only broad textured areas (hair, fabric), not the thin lines that edges of the face
    # (eyelids, nose, jaw) leave in the deviation map: those would cut the skin into pieces
    rough = (sd > texture_factor * max(ref, 0.5)).astype(np.uint8)
    rough = cv2.morphologyEx(rough, cv2.MORPH_OPEN, np.ones((2 * win + 1, 2 * win + 1), np.uint8))
    m = (colour & (rough == 0)).astype(np.uint8)

    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    # fill small holes: background components (4-connected) not touching the border and small
    nb, lab, stats, _ = cv2.connectedComponentsWithStats((m == 0).astype(np.uint8), connectivity=4)
    hs, ws = m.shape
    area = stats[:, cv2.CC_STAT_AREA]
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]
    inner = (x0 > 0) & (y0 > 0) & (x1 < ws) & (y1 < hs) & (area <= max_hole * n)
    inner[0] = False  # label 0: the skin itself
    m[inner[lab]] = 1
    # keep the large regions
    nb, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if nb <= 1:
        raise BadMaskError("no skin found: the skin-coloured pixels form no solid region; "
                           "draw the region to measure or use the whole photo")
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    area[0] = 0
    keep = area >= min_region * area.max()
    m = keep[lab].astype(np.uint8)
    if np.count_nonzero(m) < 0.005 * n:
        raise BadMaskError("no skin found: the skin region is smaller than 0.5 % of the photo; "
                           "draw the region to measure or use the whole photo")
    if f < 1:
        big = cv2.resize(m * np.uint8(255), (w, h), interpolation=cv2.INTER_LINEAR)
        return big >= 128
    return m.astype(bool)
