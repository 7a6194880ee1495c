"""Colour conversions and skin colour indices.

Everything here is vectorised over whole images (no Python loop over pixels):

* sRGB transfer functions (IEC 61966-2-1): :func:`srgb_to_linear`,
  :func:`linear_to_srgb`;
* sRGB <-> CIE L*a*b* (D65) through OpenCV's float32 path: :func:`rgb_to_lab`,
  :func:`lab_to_rgb`;
* the CIEDE2000 colour difference: :func:`delta_e00`;
* the individual typology angle: :func:`ita_deg`, :func:`ita_category`;
* the erythema and melanin indices from linear RGB reflectance:
  :func:`erythema_index`, :func:`melanin_index`.

Conventions: colour arrays have the channel axis last; images are float32 in
[0, 1] (unsigned-integer images are scaled by their dtype's maximum, as
``skimage.util.img_as_float`` does). L*a*b* values use L* in 0..100 and
unscaled a*, b* (OpenCV's float32 convention).
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from texturecmp._parallel import pool_map
from texturecmp.errors import BadSettingsError, UnreadableImageError

__all__ = [
    "srgb_to_linear",
    "linear_to_srgb",
    "rgb_to_lab",
    "lab_to_rgb",
    "delta_e00",
    "ita_deg",
    "ita_category",
    "ITA_CATEGORIES",
    "erythema_index",
    "melanin_index",
]

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

_CHUNK = 1 << 20  # elements per work unit of the threaded transfer functions


def _as_float32(x: ArrayLike, name: str) -> NDArray[np.float32]:
    """Return ``x`` as a C-contiguous float32 array.

    Unsigned integers are scaled to [0, 1] by the maximum of their dtype
    (uint8 / 255, uint16 / 65535); floats are cast; anything else is refused.
    """
    arr = np.asarray(x)
    if arr.dtype.kind == "u":
        scale = np.float32(1.0 / np.iinfo(arr.dtype).max)
        return np.asarray(arr, dtype=np.float32, order="C") * scale
    if arr.dtype.kind == "f":
        return np.asarray(arr, dtype=np.float32, order="C")
    raise UnreadableImageError(
        f"{name} must be a float array (or an unsigned-integer image), got dtype {arr.dtype}"
    )


def _map_chunked(
    x: NDArray[np.float32], fn: Callable[[NDArray[np.float32], NDArray[np.float32]], None]
) -> NDArray[np.float32]:
    """Apply ``fn(src_chunk, dst_chunk)`` over flat chunks of ``x``, in threads.

    NumPy ufuncs and OpenCV release the GIL, so large images use all cores.
    """
    out = np.empty_like(x)
    src = x.reshape(-1)
    dst = out.reshape(-1)
    n = src.size
    if n <= _CHUNK:
        fn(src, dst)
        return out
    starts = range(0, n, _CHUNK)
    pool_map(lambda s: fn(src[s : s + _CHUNK], dst[s : s + _CHUNK]), starts)
    return out


#: cv2.pow runs its vectorised loop over whole SIMD vectors and a scalar loop over the
#: rest, and the two differ in the last bit; lengths that are multiples of this (at least
#: any x86-64 vector width in float32) take the vectorised loop only.
_POW_BLOCK = 64


def _pow_into(dst: NDArray[np.float32], power: float) -> None:
    """In-place ``dst **= power`` (OpenCV's SIMD pow is faster than numpy's float32 pow).

    A tail shorter than ``_POW_BLOCK`` is raised in a padded block, so that every value
    takes the same (vectorised) path: the result of an element does not depend on the
    length of the array it came in.
    """
    flat = dst.reshape(1, -1)
    n = flat.shape[1]
    body = n - n % _POW_BLOCK
    if body:
        cv2.pow(flat[:, :body], power, dst=flat[:, :body])
    if body < n:
        tail = np.ones((1, _POW_BLOCK), np.float32)
        tail[0, : n - body] = flat[0, body:]
        cv2.pow(tail, power, dst=tail)
        flat[0, body:] = tail[0, : n - body]


# ---------------------------------------------------------------------------
# transfer functions
# ---------------------------------------------------------------------------

_A = np.float32(0.055)
_DECODE_KNEE = np.float32(0.04045)
_ENCODE_KNEE = np.float32(0.0031308)


def _decode_chunk(src: NDArray[np.float32], dst: NDArray[np.float32]) -> None:
    np.add(src, _A, out=dst)
    dst *= np.float32(1.0 / 1.055)
    _pow_into(dst, 2.4)
    low = src <= _DECODE_KNEE
    np.copyto(dst, src * np.float32(1.0 / 12.92), where=low)


def _encode_chunk(src: NDArray[np.float32], dst: NDArray[np.float32]) -> None:
    # negative values take the linear branch, so pow never sees them in the output
    np.copyto(dst, src)
    _pow_into(dst, 1.0 / 2.4)
    dst *= np.float32(1.055)
    dst -= _A
    low = src <= _ENCODE_KNEE
    np.copyto(dst, src * np.float32(12.92), where=low)


def srgb_to_linear(rgb: ArrayLike) -> NDArray[np.float32]:
    r"""Decode sRGB values to linear light (IEC 61966-2-1).

    .. math::

        C_\mathrm{lin} =
        \begin{cases}
            C / 12.92 & C \le 0.04045 \\
            \left(\dfrac{C + 0.055}{1.055}\right)^{2.4} & C > 0.04045
        \end{cases}

    Parameters
    ----------
    rgb : array_like
        sRGB values in [0, 1], any shape (values outside [0, 1] follow the same
        formulas). Floats are cast to float32; unsigned-integer images are
        scaled by their dtype's maximum first.

    Returns
    -------
    lin : ndarray of float32
        Linear values, same shape. NaN stays NaN.

    Notes
    -----
    Computed in float32 (max error against a float64 evaluation ~4e-7) in
    chunks spread over the available cores (the time at 12 MP is in
    benchmarks/README.md).

    References
    ----------
    .. [1] IEC 61966-2-1:1999, Multimedia systems and equipment - Colour
       measurement and management - Part 2-1: Default RGB colour space - sRGB.
    """
    return _map_chunked(_as_float32(rgb, "rgb"), _decode_chunk)


def linear_to_srgb(lin: ArrayLike) -> NDArray[np.float32]:
    r"""Encode linear-light values to sRGB (IEC 61966-2-1), inverse of :func:`srgb_to_linear`.

    .. math::

        C =
        \begin{cases}
            12.92\, C_\mathrm{lin} & C_\mathrm{lin} \le 0.0031308 \\
            1.055\, C_\mathrm{lin}^{1/2.4} - 0.055 & C_\mathrm{lin} > 0.0031308
        \end{cases}

    Parameters
    ----------
    lin : array_like
        Linear values, nominally in [0, 1], any shape. Not clipped.

    Returns
    -------
    rgb : ndarray of float32
        sRGB values, same shape. NaN stays NaN.

    References
    ----------
    .. [1] IEC 61966-2-1:1999 (sRGB).
    """
    return _map_chunked(_as_float32(lin, "lin"), _encode_chunk)


# ---------------------------------------------------------------------------
# L*a*b*
# ---------------------------------------------------------------------------


def _as_color_image(x: ArrayLike, name: str) -> tuple[NDArray[np.float32], tuple[int, ...]]:
    arr = _as_float32(x, name)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise UnreadableImageError(
            f"{name} must have 3 channels on its last axis (e.g. shape (H, W, 3)), got shape {arr.shape}"
        )
    shape = arr.shape
    if arr.ndim != 3:
        arr = arr.reshape(-1, 1, 3)
    return arr, shape


def rgb_to_lab(rgb: ArrayLike) -> NDArray[np.float32]:
    r"""Convert sRGB to CIE L*a*b* (D65 white, 2° observer).

    Decodes the sRGB transfer function with :func:`srgb_to_linear`, then
    converts linear RGB to XYZ (D65) and L*a*b* with
    ``cv2.cvtColor(lin, cv2.COLOR_LRGB2Lab)`` (float32):

    .. math::

        L^* = 116 f(Y/Y_n) - 16,\quad
        a^* = 500\,[f(X/X_n) - f(Y/Y_n)],\quad
        b^* = 200\,[f(Y/Y_n) - f(Z/Z_n)]

    with :math:`f(t) = t^{1/3}` above :math:`(6/29)^3` and linear below.

    Parameters
    ----------
    rgb : array_like, shape (..., 3)
        sRGB image in [0, 1] (float; uint8/uint16 are scaled to [0, 1]).
        Usually (H, W, 3); any leading shape is accepted.

    Returns
    -------
    lab : ndarray of float32, shape (..., 3)
        L* in [0, 100], a* and b* unscaled (roughly -128..127).

    Raises
    ------
    UnreadableImageError
        If the last axis does not have 3 channels or the dtype is not numeric.

    Notes
    -----
    Agreement with ``skimage.color.rgb2lab`` (float64, D65, 2°), measured over
    all 16.7 million 8-bit sRGB codes: maximum absolute difference 0.0041 in L*,
    0.032 in a*, 0.014 in b*, the largest at L* < 10; for L* >= 10, 0.0007 L*,
    0.020 a*, 0.0072 b*. Random float colours stay within the same bounds
    (0.031 a* at worst). These bounds are those of OpenCV's vectorised float
    path, which rows of 8 pixels or more take; shorter rows take its scalar
    path, within 7e-5 L*, 0.0025 a* and 0.0047 b*, so a few pixels converted
    alone can differ from the same pixels converted in an image by up to the
    larger bounds. Tested on a dense grid of 8-bit codes (``tests/test_color.py``).

    Why not ``cv2.COLOR_RGB2Lab`` directly: with OpenCV 5.0 its float32 sRGB
    path decodes the gamma through a coarse table and quantises a*, b* (steps
    of 1/64), differing from skimage by up to 0.23 L* and 0.6 a*/b* units on
    random colours (mostly dark ones); the linear-input path does not.

    Non-finite inputs give undefined (not necessarily NaN) output: mask them
    beforehand.

    References
    ----------
    .. [1] CIE 015:2018, Colorimetry, 4th edition.
    .. [2] OpenCV, "Color conversions", RGB <-> CIE L*a*b*.
    """
    arr, shape = _as_color_image(rgb, "rgb")
    lin = srgb_to_linear(arr)
    lab = cv2.cvtColor(lin, cv2.COLOR_LRGB2Lab)
    return lab.reshape(shape)


def lab_to_rgb(lab: ArrayLike) -> NDArray[np.float32]:
    """Convert CIE L*a*b* (D65) to sRGB in [0, 1], inverse of :func:`rgb_to_lab`.

    Uses ``cv2.cvtColor(lab, cv2.COLOR_Lab2LRGB)`` on float32, clips linear
    RGB to [0, 1] (colours outside the sRGB gamut) and encodes with
    :func:`linear_to_srgb`. Round trip with :func:`rgb_to_lab`: within 1e-4.

    Parameters
    ----------
    lab : array_like, shape (..., 3)
        L* in [0, 100], a*, b* unscaled.

    Returns
    -------
    rgb : ndarray of float32, shape (..., 3)
        sRGB values clipped to [0, 1].

    References
    ----------
    .. [1] CIE 015:2018, Colorimetry, 4th edition.
    """
    arr = np.asarray(lab)
    if arr.dtype.kind not in "fiu":
        raise UnreadableImageError(f"lab must be a numeric array, got dtype {arr.dtype}")
    arr, shape = _as_color_image(arr.astype(np.float32, copy=False), "lab")
    lin = cv2.cvtColor(arr, cv2.COLOR_Lab2LRGB)
    np.clip(lin, 0.0, 1.0, out=lin)
    rgb = linear_to_srgb(lin)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    return rgb.reshape(shape)


# ---------------------------------------------------------------------------
# CIEDE2000
# ---------------------------------------------------------------------------

_25_POW_7 = 25.0**7
_DE_CHUNK = 1 << 16  # pairs per work unit of delta_e00
_COS30, _SIN30 = float(np.cos(np.radians(30.0))), float(np.sin(np.radians(30.0)))
_COS6, _SIN6 = float(np.cos(np.radians(6.0))), float(np.sin(np.radians(6.0)))
_COS63, _SIN63 = float(np.cos(np.radians(63.0))), float(np.sin(np.radians(63.0)))


def _pow7(x: NDArray[np.float64]) -> NDArray[np.float64]:
    x2 = x * x
    return x2 * x2 * x2 * x


def _de00_core(
    a1: NDArray[np.float64], a2: NDArray[np.float64], kL: float, kC: float, kH: float
) -> NDArray[np.float64]:
    """CIEDE2000 on validated float64 (..., 3) arrays (see :func:`delta_e00`)."""
    L1, A1, B1 = a1[..., 0], a1[..., 1], a1[..., 2]
    L2, A2, B2 = a2[..., 0], a2[..., 1], a2[..., 2]

    # Speed: transcendental ufuncs are slow per value, so
    # hypot/pow/mod are spelled with arithmetic and the four cosines of T come
    # from one cos and one sin of the mean hue (multiple-angle identities).
    with np.errstate(invalid="ignore"):
        b1sq = B1 * B1
        b2sq = B2 * B2
        c_bar = 0.5 * (np.sqrt(A1 * A1 + b1sq) + np.sqrt(A2 * A2 + b2sq))
        c7 = _pow7(c_bar)
        g1 = 1.5 - 0.5 * np.sqrt(c7 / (c7 + _25_POW_7))  # 1 + G
        ap1 = A1 * g1
        ap2 = A2 * g1
        cp1 = np.sqrt(ap1 * ap1 + b1sq)
        cp2 = np.sqrt(ap2 * ap2 + b2sq)
        cprod = cp1 * cp2
        achromatic = cprod == 0

        # hue angles in degrees, [0, 360); h' = 0 when a' = b = 0 (eq. 7)
        hp1 = np.degrees(np.arctan2(B1, ap1))
        hp2 = np.degrees(np.arctan2(B2, ap2))
        hp1 = np.where(hp1 < 0, hp1 + 360.0, hp1)
        hp2 = np.where(hp2 < 0, hp2 + 360.0, hp2)
        hp1 = np.where(cp1 == 0, 0.0, hp1)
        hp2 = np.where(cp2 == 0, 0.0, hp2)

        # hue difference in [-180, 180] (eq. 10)
        dhp = hp2 - hp1
        dhp = np.where(dhp > 180.0, dhp - 360.0, np.where(dhp < -180.0, dhp + 360.0, dhp))
        dhp = np.where(achromatic, 0.0, dhp)

        dLp = L2 - L1
        dCp = cp2 - cp1
        dHp = 2.0 * np.sqrt(cprod) * np.sin(np.radians(0.5 * dhp))

        # means (eq. 14): the mean hue on the shorter arc, in [0, 360)
        Lbar = 0.5 * (L1 + L2)
        Cbar = 0.5 * (cp1 + cp2)
        hsum = hp1 + hp2
        far = np.abs(hp1 - hp2) > 180.0
        hbar = np.where(far, np.where(hsum < 360.0, hsum + 360.0, hsum - 360.0), hsum) * 0.5
        hbar = np.where(achromatic, hsum, hbar)

        hr = np.radians(hbar)
        c1 = np.cos(hr)
        s1 = np.sin(hr)
        c2 = 2.0 * c1 * c1 - 1.0
        s2 = 2.0 * s1 * c1
        c3 = c1 * (4.0 * c1 * c1 - 3.0)
        s3 = s1 * (3.0 - 4.0 * s1 * s1)
        c4 = 2.0 * c2 * c2 - 1.0
        s4 = 2.0 * s2 * c2
        T = (
            1.0
            - 0.17 * (c1 * _COS30 + s1 * _SIN30)
            + 0.24 * c2
            + 0.32 * (c3 * _COS6 - s3 * _SIN6)
            - 0.20 * (c4 * _COS63 + s4 * _SIN63)
        )
        z = (hbar - 275.0) * (1.0 / 25.0)
        dtheta = 30.0 * np.exp(-(z * z))
        cb7 = _pow7(Cbar)
        Rc = 2.0 * np.sqrt(cb7 / (cb7 + _25_POW_7))
        l50 = (Lbar - 50.0) ** 2
        Sl = 1.0 + 0.015 * l50 / np.sqrt(20.0 + l50)
        Sc = 1.0 + 0.045 * Cbar
        Sh = 1.0 + 0.015 * Cbar * T
        Rt = -np.sin(np.radians(2.0 * dtheta)) * Rc

        tl = dLp / (kL * Sl)
        tc = dCp / (kC * Sc)
        th = dHp / (kH * Sh)
        sq = tl * tl + tc * tc + th * th + Rt * tc * th
        # rounding can make a ~0 sum slightly negative; np.maximum keeps NaN
        de = np.sqrt(np.maximum(sq, 0.0))

    return de


def delta_e00(
    lab1: ArrayLike,
    lab2: ArrayLike,
    *,
    kL: float = 1.0,
    kC: float = 1.0,
    kH: float = 1.0,
    dtype: type = np.float64,
) -> NDArray[np.floating] | np.floating:
    r"""CIEDE2000 colour difference :math:`\Delta E_{00}` (Sharma, Wu & Dalal 2005).

    With :math:`C^*_{ab} = \sqrt{a^{*2} + b^{*2}}` and :math:`\bar C^*_{ab}` the
    mean chroma of the two samples:

    .. math::

        G &= 0.5\left(1 - \sqrt{\bar C^{*7}_{ab} / (\bar C^{*7}_{ab} + 25^7)}\right),
        \quad a' = (1 + G)\,a^*,\quad C' = \sqrt{a'^2 + b^{*2}},
        \quad h' = \operatorname{atan2}(b^*, a') \bmod 360^\circ \\
        \Delta L' &= L^*_2 - L^*_1,\quad \Delta C' = C'_2 - C'_1,\quad
        \Delta H' = 2\sqrt{C'_1 C'_2}\,\sin(\Delta h'/2) \\
        \Delta E_{00} &= \sqrt{\left(\frac{\Delta L'}{k_L S_L}\right)^2
            + \left(\frac{\Delta C'}{k_C S_C}\right)^2
            + \left(\frac{\Delta H'}{k_H S_H}\right)^2
            + R_T \frac{\Delta C'}{k_C S_C}\frac{\Delta H'}{k_H S_H}}

    where :math:`\Delta h' = h'_2 - h'_1` taken into (-180°, 180°], the mean hue
    :math:`\bar h'` is the mean of the two hues on the shorter arc, and when
    either :math:`C'` is zero :math:`\Delta h' = 0` and :math:`\bar h' = h'_1 + h'_2`
    (Sharma et al., eqs. 10 and 14);
    :math:`S_L = 1 + 0.015(\bar L' - 50)^2 / \sqrt{20 + (\bar L' - 50)^2}`,
    :math:`S_C = 1 + 0.045\,\bar C'`, :math:`S_H = 1 + 0.015\,\bar C' T`,
    :math:`T = 1 - 0.17\cos(\bar h' - 30°) + 0.24\cos(2\bar h') + 0.32\cos(3\bar h' + 6°) - 0.20\cos(4\bar h' - 63°)`,
    :math:`R_T = -\sin(2\Delta\theta)\,R_C`,
    :math:`\Delta\theta = 30°\exp(-[(\bar h' - 275°)/25]^2)`,
    :math:`R_C = 2\sqrt{\bar C'^7/(\bar C'^7 + 25^7)}`.

    Parameters
    ----------
    lab1, lab2 : array_like, shape (..., 3)
        CIE L*a*b* colours, channel axis last. Leading axes broadcast against
        each other (e.g. an (H, W, 3) image against one (3,) reference colour).
    kL, kC, kH : float, optional
        Parametric weighting factors (1 for the reference conditions; kL = 2 is
        common for textiles). Must be positive.
    dtype : {numpy.float64, numpy.float32}, optional
        Precision of the computation and of the result. float64 (the default)
        reproduces the reference data; float32 is faster. Measured
        against float64 on 2 million pairs per spread: absolute error at most
        6e-5 for colours within ΔE00 ~20 of each other, 1.3e-4 for unrelated
        colours, 1.2e-5 on skin colours; relative error below 1e-4 from ΔE00
        0.5 up and below 5e-3 from 0.01 up, unbounded toward 0 (an absolute
        error over a vanishing difference). Enough for per-pixel maps and for
        averages of many pixels (texturecmp uses it for those).

    Returns
    -------
    de : ndarray of ``dtype``, shape ``broadcast(lab1, lab2).shape[:-1]``
        Colour differences, computed in ``dtype`` whatever the input dtype. For
        two single colours (0-d result) a numpy scalar is returned instead of a
        0-d array.
        A NaN in any channel of either colour gives NaN for that pair (no
        exception, no warning).

    Raises
    ------
    BadSettingsError
        If an input does not have 3 channels on its last axis, the shapes do
        not broadcast, or a weighting factor is not a positive number.

    Notes
    -----
    Reproduces all 34 test pairs of Sharma et al. (2005) to their 4 printed
    decimals, including the hue-wrap and achromatic pairs. The function is
    symmetric and zero for identical colours. Large inputs are processed in
    chunks of 65 536 pairs over the available cores (the time for one million
    pairs is in benchmarks/README.md).

    References
    ----------
    .. [1] G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference
       formula: implementation notes, supplementary test data, and
       mathematical observations", Color Res. Appl. 30(1):21-30, 2005.
       doi:10.1002/col.20070
    .. [2] CIE 142-2001, Improvement to industrial colour-difference evaluation.

    Examples
    --------
    >>> import numpy as np
    >>> from texturecmp.color import delta_e00
    >>> round(float(delta_e00([50, 2.6772, -79.7751], [50, 0, -82.7485])), 4)  # Sharma et al., pair 1
    2.0425
    >>> skin = np.array([[60.0, 15.0, 18.0], [62.0, 12.0, 17.0], [60.0, 15.0, 18.0]])
    >>> delta_e00(skin, [60.0, 15.0, 18.0]).round(3)
    array([0.   , 2.831, 0.   ])
    >>> delta_e00(skin, skin[::-1], dtype=np.float32).dtype
    dtype('float32')
    """
    for name, k in (("kL", kL), ("kC", kC), ("kH", kH)):
        if not (np.isscalar(k) and np.isfinite(k) and k > 0):
            raise BadSettingsError(f"{name} must be a positive finite number, got {k!r}")
    try:
        kind = np.dtype(dtype).type
    except TypeError:
        kind = None
    if kind not in (np.float64, np.float32):
        raise BadSettingsError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}")
    dtype = kind
    a1 = np.asarray(lab1, dtype=dtype)
    a2 = np.asarray(lab2, dtype=dtype)
    for name, arr in (("lab1", a1), ("lab2", a2)):
        if arr.ndim < 1 or arr.shape[-1] != 3:
            raise BadSettingsError(
                f"{name} must have 3 channels (L*, a*, b*) on its last axis, got shape {arr.shape}"
            )
    try:
        np.broadcast_shapes(a1.shape, a2.shape)
    except ValueError as exc:
        raise BadSettingsError(
            f"lab1 shape {a1.shape} and lab2 shape {a2.shape} do not broadcast"
        ) from exc

    shape = np.broadcast_shapes(a1.shape, a2.shape)[:-1]
    n = int(np.prod(shape))
    if n <= _DE_CHUNK:
        de = _de00_core(a1, a2, kL, kC, kH)
    else:
        # cache-sized chunks spread over the cores (NumPy releases the GIL); a single colour
        # stays one row (no broadcast copy)
        f1, f2 = (a.reshape(1, 3) if a.size == 3 else np.broadcast_to(a, shape + (3,)).reshape(-1, 3) for a in (a1, a2))
        flat = np.empty(n, dtype=dtype)

        def work(start: int) -> None:
            stop = start + _DE_CHUNK
            flat[start:stop] = _de00_core(f1 if len(f1) == 1 else f1[start:stop], f2 if len(f2) == 1 else f2[start:stop], kL, kC, kH)

        pool_map(work, range(0, n, _DE_CHUNK))
        de = flat.reshape(shape)
    if de.ndim == 0:
        return dtype(de)
    return de


# ---------------------------------------------------------------------------
# ITA
# ---------------------------------------------------------------------------

#: Skin colour categories of the individual typology angle (Del Bino et al. 2006),
#: as (name, lower bound exclusive in degrees), from lightest to darkest.
ITA_CATEGORIES: tuple[tuple[str, float], ...] = (
    ("very light", 55.0),
    ("light", 41.0),
    ("intermediate", 28.0),
    ("tan", 10.0),
    ("brown", -30.0),
    ("dark", -np.inf),
)


def ita_deg(L: ArrayLike, b: ArrayLike) -> NDArray[np.float64] | np.float64:
    r"""Individual typology angle (ITA) in degrees (Chardon et al. 1991).

    .. math::

        \mathrm{ITA} = \arctan\!\left(\frac{L^* - 50}{b^*}\right)\cdot\frac{180}{\pi}

    evaluated as :math:`\operatorname{atan2}(L^* - 50,\, b^*)`, which equals the
    definition for :math:`b^* > 0` (all skin colours) and stays defined at
    :math:`b^* = 0`: +90° when :math:`L^* > 50`, -90° when :math:`L^* < 50`,
    0° when :math:`L^* = 50`. For :math:`b^* < 0` (not a skin colour) the result
    lies outside [-90°, 90°] instead of wrapping, so such pixels are not
    mistaken for ordinary skin tones.

    Parameters
    ----------
    L, b : array_like
        L* and b* (broadcast against each other).

    Returns
    -------
    ita : ndarray of float64 or np.float64
        Angle in degrees, in (-180, 180]; a scalar for scalar inputs.
        NaN in, NaN out.

    References
    ----------
    .. [1] A. Chardon, I. Cretois, C. Hourseau, "Skin colour typology and
       suntanning pathways", Int. J. Cosmet. Sci. 13(4):191-208, 1991.
    .. [2] S. Del Bino, J. Sok, E. Bessac, F. Bernerd, "Relationship between
       skin response to ultraviolet exposure and skin color type", Pigment
       Cell Res. 19(6):606-614, 2006.
    """
    Lf = np.asarray(L, dtype=np.float64)
    bf = np.asarray(b, dtype=np.float64)
    out = np.degrees(np.arctan2(Lf - 50.0, bf))
    if out.ndim == 0:
        return np.float64(out)
    return out


def ita_category(ita: ArrayLike) -> str | NDArray[np.str_]:
    """Skin colour category of an ITA value (Chardon 1991, Del Bino 2006).

    ====================  =========================
    category              ITA (degrees)
    ====================  =========================
    ``"very light"``      ITA > 55
    ``"light"``           41 < ITA <= 55
    ``"intermediate"``    28 < ITA <= 41
    ``"tan"``             10 < ITA <= 28
    ``"brown"``           -30 < ITA <= 10
    ``"dark"``            ITA <= -30
    ====================  =========================

    A boundary value belongs to the darker category (e.g. exactly 55° is
    "light"). NaN gives ``"undefined"``.

    Parameters
    ----------
    ita : float or array_like
        ITA in degrees (see :func:`ita_deg`).

    Returns
    -------
    category : str or ndarray of str
        A ``str`` for a scalar input, otherwise an array of the same shape.

    References
    ----------
    .. [1] A. Chardon et al., Int. J. Cosmet. Sci. 13(4):191-208, 1991.
    .. [2] S. Del Bino et al., Pigment Cell Res. 19(6):606-614, 2006.
    """
    x = np.asarray(ita, dtype=np.float64)
    conds = [x > lo for _, lo in ITA_CATEGORIES]
    names = [name for name, _ in ITA_CATEGORIES]
    out = np.select(conds, names, default="undefined")
    if out.ndim == 0:
        return str(out)
    return out


# ---------------------------------------------------------------------------
# erythema / melanin indices
# ---------------------------------------------------------------------------


def erythema_index(r_lin: ArrayLike, g_lin: ArrayLike) -> NDArray[np.float64] | np.float64:
    r"""Erythema index from linear red and green reflectance.

    .. math::

        \mathrm{EI} = 100\,\left[\log_{10}\frac{1}{R_G} - \log_{10}\frac{1}{R_R}\right]
                    = 100 \log_{10}\frac{R_R}{R_G}

    (Dawson et al. 1980, as adapted to RGB images by Yamamoto et al. 2008):
    haemoglobin absorbs green far more than red, so more blood lowers the green
    reflectance and raises EI.

    Parameters
    ----------
    r_lin, g_lin : array_like
        Linear-light (see :func:`srgb_to_linear`) red and green values, i.e.
        relative reflectances in (0, 1]. Broadcast against each other; usually
        region means.

    Returns
    -------
    ei : ndarray of float64 or np.float64
        Erythema index (scalar for scalar inputs). NaN where either input is
        non-positive or NaN.

    Notes
    -----
    Camera channels are broad bands, not the narrow bands of reflectance
    meters, and the values depend on the camera, the lighting and the white
    balance: compare indices only within one capture setup.

    References
    ----------
    .. [1] J. B. Dawson, D. J. Barker, D. J. Ellis, et al., "A theoretical and
       experimental study of light absorption and scattering by in vivo skin",
       Phys. Med. Biol. 25(4):695-709, 1980.
    .. [2] T. Yamamoto, H. Takiwaki, S. Arase, H. Ohshima, "Derivation and
       clinical application of special imaging by means of digital cameras
       and Image J freeware for quantification of erythema and
       pigmentation", Skin Res. Technol. 14(1):26-34, 2008.
    .. [3] H. Takiwaki, "Measurement of skin color: practical application and
       theoretical considerations", J. Med. Invest. 44:121-126, 1998.
    """
    r = np.asarray(r_lin, dtype=np.float64)
    g = np.asarray(g_lin, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (r > 0) & (g > 0)
        out = np.where(ok, 100.0 * (np.log10(np.where(ok, r, 1.0)) - np.log10(np.where(ok, g, 1.0))), np.nan)
    if out.ndim == 0:
        return np.float64(out)
    return out


def melanin_index(r_lin: ArrayLike) -> NDArray[np.float64] | np.float64:
    r"""Melanin index from linear red reflectance.

    .. math::

        \mathrm{MI} = 100 \log_{10}\frac{1}{R_R}

    (Dawson et al. 1980; RGB-image form of Yamamoto et al. 2008): red light is
    absorbed by melanin but little by haemoglobin, so more melanin lowers the
    red reflectance and raises MI.

    Parameters
    ----------
    r_lin : array_like
        Linear-light red value(s) (relative reflectance in (0, 1]).

    Returns
    -------
    mi : ndarray of float64 or np.float64
        Melanin index (scalar for scalar inputs). NaN where the input is
        non-positive or NaN.

    Notes
    -----
    Device dependent (camera, lighting, white balance): compare within one
    capture setup only.

    References
    ----------
    .. [1] J. B. Dawson et al., Phys. Med. Biol. 25(4):695-709, 1980.
    .. [2] T. Yamamoto et al., Skin Res. Technol. 14(1):26-34, 2008.
    .. [3] H. Takiwaki, J. Med. Invest. 44:121-126, 1998.
    """
    r = np.asarray(r_lin, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = r > 0
        out = np.where(ok, 0.0 - 100.0 * np.log10(np.where(ok, r, 1.0)), np.nan)
    if out.ndim == 0:
        return np.float64(out)
    return out
