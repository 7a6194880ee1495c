"""Exception types raised by texturecmp.

Every error texturecmp raises on purpose is a :class:`TextureCmpError`, which is a
:class:`ValueError`, so callers can catch one type. Messages name the argument at
fault and say what was expected.
"""

from __future__ import annotations

__all__ = [
    "TextureCmpError",
    "UnreadableImageError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "MismatchedImagesError",
    "BadMaskError",
    "AlignmentError",
    "BadSettingsError",
]


class TextureCmpError(ValueError):
    """Base class of every error texturecmp raises on purpose."""


class UnreadableImageError(TextureCmpError):
    """The source is not a readable image (not an image, empty, truncated, NaN values, hidden by transparency...)."""


class ImageTooLargeError(UnreadableImageError):
    """The image has more pixels than the limit (protection against decompression bombs)."""


class ImageTooSmallError(UnreadableImageError):
    """The image is smaller than the minimum size texturecmp can measure."""


class MismatchedImagesError(TextureCmpError):
    """Images that must show the same skin area cannot be compared (e.g. wildly different sizes)."""


class BadMaskError(TextureCmpError):
    """A region (roi, lesion, reference) is empty, out of bounds, of the wrong shape or too small."""


class AlignmentError(TextureCmpError):
    """Two photos could not be aligned although alignment was required."""


class BadSettingsError(TextureCmpError):
    """A setting has an invalid value or an unknown name."""
