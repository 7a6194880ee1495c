r"""Quality family: is the photo fit to measure? (warnings, not verdicts)

Computed inside the region. ``clipped_fraction`` reads the photo as taken; sharpness and
glare read the photometrically corrected photo, so that a follow-up is judged at the
baseline's exposure.

- ``quality.sharpness`` :math:`= \operatorname{Var}(\nabla^2 L^*)`: variance of the
  Laplacian of L* (Pech-Pacheco et al. 2000); low values mean blur.
- ``quality.clipped_fraction``: fraction of pixels at 0 or full scale in any channel.
- ``quality.specular_fraction``: fraction of bright, unsaturated pixels (glare):
  L* > 92 and chroma sqrt(a*^2 + b*^2) < 8.
- ``quality.exposure_shift`` (a pair metric, computed by :func:`texturecmp.compare`):
  mean L* of the reference skin, follow-up minus baseline, before correction.
"""

from __future__ import annotations

import cv2
import numpy as np

from texturecmp._parallel import map_rows, sum_parts
from texturecmp.metrics._base import Context, Family, register_family, safe_div

__all__ = ["QualityFamily"]

_CLIP_LO = 0.5 / 255
_CLIP_HI = 1 - 0.5 / 255


@register_family
class QualityFamily(Family):
    name = "quality"
    cost = 0.05
    metrics = ("quality.sharpness", "quality.clipped_fraction", "quality.specular_fraction")

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:
        g = ctx.grid
        raw = ctx.rgb
        lab = ctx.lab
        L, roi, roi_all = ctx.L, ctx.roi, ctx.roi_all
        h = ctx.shape[0]
        lo, hi = ((1,) * 3, (254,) * 3) if raw.dtype == np.uint8 else ((_CLIP_LO,) * 3, (_CLIP_HI,) * 3)

        def strip(y0: int, y1: int) -> dict[str, np.ndarray]:
            a, b = max(0, y0 - 1), min(h, y1 + 1)  # the Laplacian's halo
            lap = cv2.Laplacian(L[a:b], cv2.CV_32F, ksize=1)[y0 - a:y1 - a]
            # clipped: any channel at 0 or full scale = not all channels strictly inside
            clip = (cv2.inRange(raw[y0:y1], lo, hi) == 0).astype(np.float32)
            if not roi_all:
                r = roi[y0:y1]
                lap = lap * r
                clip *= r
            return {"lap": g.row_sums(lap, y0), "lap2": g.row_sums(lap * lap, y0), "clip": g.row_sums(clip, y0)}

        out = sum_parts(map_rows(strip, h))
        # glare: L* > 92 and chroma < 8 (box prefilter, then the exact disc on the candidates),
        # read on the colour grid (area-downsampled by ctx.ck for large photos)
        spec = cv2.inRange(lab, (92.0, -8.0, -8.0), (101.0, 8.0, 8.0)).astype(bool)
        if spec.any():
            ys, xs = np.nonzero(spec)
            ab = lab[ys, xs, 1:]
            far = (ab * ab).sum(axis=1) >= 64
            spec[ys[far], xs[far]] = False
        spec = spec.astype(np.float32)
        if not ctx.roi_all:
            spec = cv2.multiply(spec, ctx.down("roi", ctx.ck) if ctx.ck > 1 else ctx.roi_f)
        return {
            "n": ctx.roi_count(),
            "lap": out["lap"],
            "lap2": out["lap2"],
            "clip": out["clip"],
            "spec": g.sums(spec, scale=ctx.ck),
        }

    def finish(self, tot: dict[str, np.ndarray], pixel_size_mm: float | None) -> dict[str, np.ndarray]:
        n = tot["n"]
        mean = safe_div(tot["lap"], n)
        return {
            "quality.sharpness": safe_div(tot["lap2"], n) - mean * mean,
            "quality.clipped_fraction": safe_div(tot["clip"], n),
            "quality.specular_fraction": safe_div(tot["spec"], n),
        }
