"""The library's Gaussians against a plain one: ``cv2.GaussianBlur`` at full resolution.

``texturecmp._filters.gauss`` cuts its kernels at 3 sigma and, for sigma > 4 px, blurs by
shrink-blur-enlarge (exact k x k box means, k = int(sigma / 2), a Gaussian corrected for
the box's variance, bilinear k-fold enlargement). The reference here is one Gaussian
kernel of 8 sigma each side (tails below 1e-15 of the weight) on the full-resolution image,
with the same reflected border.

The bounds are the figures measured on these inputs (stated beside each) with a margin of
about 1.5x for other OpenCV builds, whose resize and filter rounding differ in the last
bits; they are the figures ``_filters``' docstring states.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from conftest import NATIVE, phantom
from texturecmp._filters import gauss
from texturecmp.color import rgb_to_lab

#: sigmas (px) of the one-kernel path (cut at 3 sigma) and of shrink-blur-enlarge; 10 and
#: 40 px are the nominal medium/coarse band edge and the detail layer's 2 mm
SMALL_SIGMAS = (1.0, 2.0, 3.0, 4.0)
LARGE_SIGMAS = (4.5, 5.0, 8.0, 10.0, 20.0, 40.0)


def reference_gauss(img: np.ndarray, sigma: float) -> np.ndarray:
    """A plain Gaussian: one full-resolution kernel reaching 8 sigma, reflected border."""
    k = 2 * math.ceil(8 * sigma) + 1
    return cv2.GaussianBlur(img, (k, k), sigma, borderType=cv2.BORDER_REFLECT)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _one_over_f(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Noise with a 1/f amplitude spectrum (structure at every scale, as skin has)."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    return np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal(shape)) / f)).astype(np.float32)


def _lightness(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.ascontiguousarray(rgb_to_lab(phantom(shape, seed).rgb)[..., 0])


IMAGES = {
    "phantom L*": lambda: _lightness(NATIVE, 0),
    # sides that k does not divide: the rows and columns beyond the last whole box
    "phantom L*, odd size": lambda: _lightness((771, 1027), 1),
    "1/f noise": lambda: _one_over_f((800, 1000), 5),
}


@pytest.fixture(scope="module", params=list(IMAGES), ids=list(IMAGES))
def image(request: pytest.FixtureRequest) -> np.ndarray:
    return IMAGES[request.param]()


@pytest.mark.parametrize("sigma", SMALL_SIGMAS + LARGE_SIGMAS)
def test_detail_layer_matches_a_full_resolution_gaussian(image: np.ndarray, sigma: float) -> None:
    """The detail layer ``img - gauss(img)`` (what Sa, Sq and the GLCM read): its RMS, and
    each pixel of it, against the plain Gaussian's."""
    got, ref = gauss(image, sigma), reference_gauss(image, sigma)
    detail_ref = rms(image - ref)
    ratio = rms(image - got) / detail_ref - 1.0
    err = rms(got - ref) / detail_ref
    if sigma <= 4.0:  # one kernel cut at 3 sigma (0.27 % of a 1-D kernel's weight beyond)
        assert abs(ratio) < 1e-3, ratio  # measured <= 0.054 %
        assert err < 3.5e-3, err  # measured <= 0.22 % of the detail's RMS (1/f noise)
    else:  # shrink-blur-enlarge
        assert abs(ratio) < 6e-3, ratio  # measured <= 0.37 % (1/f noise; phantoms <= 0.19 %)
        assert err < 0.02, err  # measured <= 1.45 % of the detail's RMS (odd size, sigma 8)


@pytest.mark.parametrize(("s1", "s2"), [(1.0, 3.0), (3.0, 10.0), (5.0, 20.0), (10.0, 40.0)])
def test_difference_of_gaussian_bands_match(image: np.ndarray, s1: float, s2: float) -> None:
    """A difference-of-Gaussian band (the texture bands, the pore filter): its energy (RMS)
    within 3 %, and its pixels, against the plain Gaussians' band."""
    got = gauss(image, s1) - gauss(image, s2)
    ref = reference_gauss(image, s1) - reference_gauss(image, s2)
    band = rms(ref)
    ratio = rms(got) / band - 1.0
    assert abs(ratio) < 0.03, ratio  # measured -0.4 % to +2.0 % (phantom, 10-40 px)
    assert rms(got - ref) / band < 0.12  # measured <= 8.9 % (phantom, 10-40 px), mostly at the border
    m = math.ceil(3 * s2) + 2 * int(s2 / 2)  # beyond the reach of the kernels and boxes
    inner = rms(got[m:-m, m:-m] - ref[m:-m, m:-m]) / rms(ref[m:-m, m:-m])
    assert inner < 0.05, inner  # measured <= 3.6 % away from the border

