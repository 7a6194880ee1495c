"""Metric families: one module per family, registered in :data:`FAMILY_REGISTRY`.

The catalogue of names, units and directions is :data:`texturecmp.METRICS`
(:mod:`texturecmp.catalogue`); the dispatcher is :func:`texturecmp.measure`.
"""

from texturecmp.metrics._base import FAMILY_REGISTRY, MIN_RESOLVED_PX, Context, Family, pixel_length, register_family
from texturecmp.metrics import texture, wrinkle, pore, color, scar, quality  # noqa: F401  (registration)

__all__ = ["FAMILY_REGISTRY", "MIN_RESOLVED_PX", "Context", "Family", "pixel_length", "register_family"]
