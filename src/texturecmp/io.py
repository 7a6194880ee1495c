"""Reading photos and masks, and writing export images.

Every photo texturecmp measures enters through :func:`load_image`, which turns a
file path, raw bytes, a binary file object or a numpy array into an :class:`Image`:
a read-only ``float32`` array of sRGB-encoded values in ``[0, 1]`` plus the
provenance needed to reproduce a measurement (SHA-256 of the original bytes,
format, bit depth, EXIF orientation).

Design rules
------------
* Bad input is refused with a specific :mod:`texturecmp.errors` exception whose
  message starts with the name of the input (``"before.jpg: ..."``), never
  silently "repaired": truncated files raise instead of returning half-grey
  pixels, transparent pixels raise instead of being composited on a colour.
* Truncated files are detected because Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES``
  is left at its default (False); code that sets it to True disables this check.
* The pixel count is checked from the file header *before* decoding
  (decompression-bomb protection); Pillow's global ``MAX_IMAGE_PIXELS`` is
  never modified.
* Complete colour JPEGs (ending with the end-of-image marker) are decoded by OpenCV's
  libjpeg-turbo, 30 % faster than Pillow's and with the same pixels (tested); Pillow
  still reads their header and EXIF, and decodes everything else.
* 16-bit PNG and TIFF keep their 16-bit precision (Pillow decodes 16-bit
  colour images to 8 bits, so those are decoded with OpenCV while Pillow still
  reads the header, format and EXIF).
* The EXIF orientation is applied, so that the pixels are laid out as a viewer
  shows them, and the applied tag is recorded.
* Hash and pixels come from the same bytes: files are read once, hashed, and
  decoded from memory.

Transparency rule: an alpha channel (RGBA, LA, palette or colour-key
transparency) is accepted only if *every* pixel is fully opaque (alpha at its
maximum value). A single pixel with a lower alpha refuses the image, because
the colour under a transparent pixel is not a measurement of the skin.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import warnings
from dataclasses import dataclass
from collections.abc import Iterator
from typing import IO, Any, Union

import cv2
import numpy as np
import pillow_heif
import PIL.Image

from texturecmp.errors import (
    BadMaskError,
    BadSettingsError,
    ImageTooLargeError,
    ImageTooSmallError,
    TextureCmpError,
    UnreadableImageError,
)

__all__ = [
    "MAX_PIXELS",
    "MIN_SIZE",
    "SUPPORTED_FORMATS",
    "Image",
    "ImageSource",
    "MaskSource",
    "load_image",
    "load_mask",
    "encode_png",
    "image_to_uint8",
    "capture_time",
]

MAX_PIXELS: int = 100_000_000
"""Default limit on width * height, checked from the header before decoding."""

MIN_SIZE: int = 64
"""Default minimum width and height in pixels."""

SUPPORTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "TIFF", "WEBP", "HEIF", "BMP")
"""Pillow format names :func:`load_image` accepts. Multi-picture JPEGs of cameras and
phones are opened by the JPEG plugin and reported as ``"MPO"``. Restricting the
list keeps Pillow's less common, less audited decoders away from untrusted files."""

_FORMATS_TEXT = "JPEG, PNG, TIFF, WebP, HEIC"

pillow_heif.register_heif_opener()

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], np.ndarray, "Image"]
MaskSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], np.ndarray]

_EXIF_ORIENTATION_TAG = 0x0112
_BOMB_MESSAGE = re.compile(r"\((\d+) pixels\)")


@dataclass(frozen=True, eq=False, repr=False, init=False)
class Image:
    """A decoded photo with its provenance.

    Parameters
    ----------
    rgb : numpy.ndarray, optional
        ``float32`` array of shape ``(H, W, 3)``, sRGB-encoded values in
        ``[0, 1]``, C-contiguous. It is made read-only on construction.
    sha256 : str
        Hex SHA-256 of the original bytes (the file bytes, not the decoded
        pixels). For numpy input: SHA-256 of ``dtype.str + str(shape)`` followed
        by the little-endian, C-order array bytes.
    source : str
        The ``name`` given to :func:`load_image`, else the file's base name for
        paths and named file objects, ``"<bytes>"``, ``"<file>"`` or
        ``"<array>"``.
    format : str or None
        Pillow format name (``"JPEG"``, ``"PNG"``, ``"TIFF"``, ``"WEBP"``,
        ``"HEIF"``, ...); ``None`` for arrays.
    bit_depth : int
        Bits per channel of the decoded source data: 8 or 16, 32 for float input.
    exif_orientation : int
        EXIF orientation tag (1-8) that was applied to the pixels; 1 if none.
    rgb8 : numpy.ndarray, optional (keyword only)
        Instead of ``rgb``: the decoded 8-bit pixels, ``uint8`` of shape
        ``(H, W, 3)``, C-contiguous (``bit_depth`` must be 8). :func:`load_image`
        keeps 8-bit photos this way: a quarter of the memory, and the measurements
        read the codes directly.

    Notes
    -----
    :attr:`rgb` is always available; for an image built from ``rgb8`` it is
    computed (``rgb8 / 255``) on first access and then kept.
    Images compare by identity (``eq=False``); compare :attr:`sha256` to know
    whether two images come from the same bytes.
    """

    sha256: str
    source: str
    format: str | None
    bit_depth: int
    exif_orientation: int

    def __init__(self, rgb: np.ndarray | None = None, sha256: str = "", source: str = "", format: str | None = None,
                 bit_depth: int = 32, exif_orientation: int = 1, *, rgb8: np.ndarray | None = None) -> None:
        if (rgb is None) == (rgb8 is None):
            raise TypeError("Image needs exactly one of rgb (float32) and rgb8 (uint8)")
        if rgb is not None:
            if not isinstance(rgb, np.ndarray):
                raise TypeError(f"Image.rgb must be a numpy array, not {type(rgb).__name__}")
            if rgb.dtype != np.float32 or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise ValueError(f"Image.rgb must be a float32 array of shape (H, W, 3), got {rgb.dtype} {rgb.shape}")
            if not rgb.flags.c_contiguous:
                raise ValueError("Image.rgb must be C-contiguous")
            rgb.flags.writeable = False
        else:
            if not isinstance(rgb8, np.ndarray) or rgb8.dtype != np.uint8 or rgb8.ndim != 3 or rgb8.shape[2] != 3:
                raise ValueError(f"Image.rgb8 must be a uint8 array of shape (H, W, 3), got "
                                 f"{getattr(rgb8, 'dtype', type(rgb8).__name__)} {getattr(rgb8, 'shape', '')}")
            if not rgb8.flags.c_contiguous:
                raise ValueError("Image.rgb8 must be C-contiguous")
            if bit_depth != 8:
                raise ValueError(f"Image.rgb8 holds 8-bit pixels; bit_depth must be 8, got {bit_depth}")
            rgb8.flags.writeable = False
        for k, v in (("_rgb", rgb), ("_rgb8", rgb8), ("sha256", sha256), ("source", source), ("format", format),
                     ("bit_depth", bit_depth), ("exif_orientation", exif_orientation)):
            object.__setattr__(self, k, v)

    @property
    def rgb(self) -> np.ndarray:
        """The pixels as read-only float32 ``(H, W, 3)``, sRGB-encoded values in [0, 1]."""
        if self._rgb is None:
            rgb = _to_float_rgb(self._rgb8, 255.0)  # the same division as for other sources
            rgb.flags.writeable = False
            object.__setattr__(self, "_rgb", rgb)
        return self._rgb

    @property
    def rgb8(self) -> np.ndarray | None:
        """The decoded 8-bit pixels (read-only uint8 ``(H, W, 3)``) when the image was built from them, else None."""
        return self._rgb8

    def pixels(self) -> np.ndarray:
        """The stored pixels without conversion: :attr:`rgb8` when present, else :attr:`rgb`."""
        return self._rgb8 if self._rgb8 is not None else self._rgb

    @property
    def height(self) -> int:
        """Number of pixel rows."""
        return int(self.pixels().shape[0])

    @property
    def width(self) -> int:
        """Number of pixel columns."""
        return int(self.pixels().shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, the shape a mask for this image must have."""
        return (self.height, self.width)

    @property
    def n_pixels(self) -> int:
        """``width * height``."""
        return self.height * self.width

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready provenance (no pixels, no EXIF content).

        Returns
        -------
        dict
            Keys ``sha256``, ``source``, ``format``, ``bit_depth``, ``width``,
            ``height`` and ``exif_orientation``.
        """
        return {
            "sha256": self.sha256,
            "source": self.source,
            "format": self.format,
            "bit_depth": self.bit_depth,
            "width": self.width,
            "height": self.height,
            "exif_orientation": self.exif_orientation,
        }

    def __repr__(self) -> str:
        return (
            f"Image(source={self.source!r}, format={self.format!r}, size={self.width}x{self.height}, "
            f"bit_depth={self.bit_depth}, exif_orientation={self.exif_orientation}, "
            f"sha256={self.sha256[:12]!r}...)"
        )


# ----------------------------------------------------------------------------- reading bytes


def _basename(path: str | bytes | os.PathLike) -> str:
    text = os.fsdecode(path)
    return os.path.basename(os.path.normpath(text)) or text


def _source_label(source: Any) -> str:
    """Label used for ``Image.source`` and error messages when no name is given."""
    if isinstance(source, (str, os.PathLike)):
        return _basename(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    if isinstance(source, np.ndarray):
        return "<array>"
    file_name = getattr(source, "name", None)
    if isinstance(file_name, (str, bytes, os.PathLike)) and os.fsdecode(file_name):
        return _basename(file_name)
    return "<file>"


def _read_bytes(source: Any, label: str, error: type[TextureCmpError]) -> bytes:
    """Return the raw bytes of a path, bytes-like or binary file object."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fsdecode(source)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise error(f"{label}: no such file ({path})") from None
        except IsADirectoryError:
            raise error(f"{label}: is a directory, not an image file ({path})") from None
        except PermissionError:
            raise error(f"{label}: permission denied ({path})") from None
        except OSError as exc:
            raise error(f"{label}: the file could not be read ({exc.strerror or exc})") from None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        try:
            data = source.read()
        except OSError as exc:
            raise error(f"{label}: the file could not be read ({exc})") from None
        if isinstance(data, str):
            raise TypeError(f"{label}: file object is opened in text mode; open it in binary mode ('rb')")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"{label}: file object .read() returned {type(data).__name__}, expected bytes")
        data = bytes(data)
    else:
        raise TypeError(
            f"{label}: cannot read an image from a {type(source).__name__}; expected a path, bytes, "
            "a binary file object or a numpy array"
        )
    if len(data) == 0:
        raise error(f"{label}: is empty (0 bytes)")
    return data


def _looks_like_supported_image(data: bytes) -> bool:
    """Whether the first bytes carry the signature of a supported format."""
    head = data[:16]
    return (
        head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"\x89PNG\r\n\x1a\n")
        or head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"))
        or (head.startswith(b"RIFF") and head[8:12] == b"WEBP")
        or head[4:8] == b"ftyp"
        or head.startswith(b"BM")
    )


def _not_an_image_hint(data: bytes) -> str:
    head = data[:16]
    if head.startswith(b"%PDF"):
        return " It looks like a PDF document."
    if head.startswith((b"GIF87a", b"GIF89a")):
        return " GIF is not supported."
    try:
        data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return " It looks like text."


@contextlib.contextmanager
def _quiet_pillow() -> Iterator[None]:
    """Silence Pillow warnings texturecmp turns into decisions.

    The pixel limit is enforced by texturecmp itself (DecompressionBombWarning),
    and unreadable EXIF is treated as absent ("Corrupt EXIF data" UserWarning).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", message="Corrupt EXIF data", category=UserWarning)
        yield


def _open_pil(data: bytes, label: str, max_pixels: int, error: type[TextureCmpError]) -> PIL.Image.Image:
    """Identify ``data`` with Pillow (lazy: only the header is parsed)."""
    try:
        with _quiet_pillow():
            return PIL.Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except PIL.Image.DecompressionBombError as exc:
        match = _BOMB_MESSAGE.search(str(exc))
        size = f"{int(match.group(1)):,} pixels" if match else "too many pixels"
        too_large = ImageTooLargeError if error is UnreadableImageError else error
        raise too_large(
            f"{label}: image has {size}, more than Pillow's decompression-bomb limit "
            f"(texturecmp limit: {max_pixels:,} pixels); refusing to decode it"
        ) from None
    except PIL.UnidentifiedImageError:
        if _looks_like_supported_image(data):
            raise error(f"{label}: image is truncated or corrupt (its header cannot be parsed)") from None
        raise error(
            f"{label}: is not an image texturecmp can read ({_FORMATS_TEXT}).{_not_an_image_hint(data)}"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # Pillow plugins raise many types on corrupt headers
        raise error(f"{label}: image is truncated or corrupt ({exc})") from None


def _load_pixels(im: PIL.Image.Image, label: str, error: type[TextureCmpError]) -> None:
    """Decode the pixel data, refusing truncated or corrupt files."""
    try:
        with _quiet_pillow():
            im.load()
    except MemoryError:
        raise
    except Exception as exc:
        raise error(f"{label}: image is truncated or corrupt ({exc})") from None


def _exif_orientation(im: PIL.Image.Image) -> tuple[int, bool]:
    """Return ``(tag, must_apply)``; HEIF decoders already apply the orientation."""
    if im.format == "HEIF":
        tag = im.info.get("original_orientation", 1)
        return (tag if isinstance(tag, int) and 1 <= tag <= 8 else 1), False
    try:
        with _quiet_pillow():
            tag = im.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except MemoryError:
        raise
    except Exception:  # unreadable EXIF: treat as absent
        return 1, False
    if not isinstance(tag, int) or not 1 <= tag <= 8:
        return 1, False
    return tag, tag != 1


def _apply_orientation(arr: np.ndarray, tag: int) -> np.ndarray:
    """Return a view of ``arr`` (rows, columns first) displayed as EXIF ``tag`` says.

    Same transforms as :func:`PIL.ImageOps.exif_transpose`.
    """
    if tag == 2:
        return arr[:, ::-1]
    if tag == 3:
        return arr[::-1, ::-1]
    if tag == 4:
        return arr[::-1]
    if tag == 5:
        return arr.swapaxes(0, 1)
    if tag == 6:
        return np.rot90(arr, k=-1)
    if tag == 7:
        return arr.swapaxes(0, 1)[::-1, ::-1]
    if tag == 8:
        return np.rot90(arr, k=1)
    return arr


def _tile_rawmode(im: PIL.Image.Image) -> str:
    tile = getattr(im, "tile", None) or []
    if not tile:
        return ""
    args = tile[0].args if hasattr(tile[0], "args") else tile[0][3]
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def _is_16bit_colour(im: PIL.Image.Image) -> bool:
    """16-bit colour (or gray + alpha) data that Pillow would reduce to 8 bits."""
    return ";16" in _tile_rawmode(im) and not im.mode.startswith("I;16")


def _decode_16bit_cv2(data: bytes, im: PIL.Image.Image, label: str) -> np.ndarray | None:
    """Decode 16-bit PNG/TIFF colour data with OpenCV; RGB(A) order, or None if not 16-bit."""
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise UnreadableImageError(f"{label}: image is truncated or corrupt (16-bit data cannot be decoded)")
    if decoded.shape[:2] != (im.height, im.width):
        raise UnreadableImageError(
            f"{label}: image is corrupt (decoders disagree on its size: "
            f"{decoded.shape[1]}x{decoded.shape[0]} vs {im.width}x{im.height})"
        )
    if decoded.dtype != np.uint16:
        return None
    if decoded.ndim == 3 and decoded.shape[2] == 3:
        return decoded[..., ::-1]
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        return decoded[..., [2, 1, 0, 3]]
    return decoded


def _decode_jpeg_cv2(data: bytes, im: PIL.Image.Image) -> np.ndarray | None:
    """The RGB pixels of a complete colour JPEG, decoded by OpenCV's libjpeg-turbo (30 % faster
    than Pillow's, the same pixels: tested); None for anything else, which Pillow decodes.

    Only files that end with the JPEG end-of-image marker take this path, so a truncated
    file still gets Pillow's "truncated" error instead of OpenCV's grey fill.
    """
    if im.format != "JPEG" or im.mode != "RGB" or not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        return None
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is None or arr.shape != (im.height, im.width, 3) or arr.dtype != np.uint8:
        return None  # Pillow decides (and names the error)
    return arr


def _check_opaque(alpha: np.ndarray, max_value: float, label: str) -> None:
    transparent = np.count_nonzero(alpha < max_value)
    if transparent:
        pct = 100.0 * transparent / alpha.size
        pct_text = f"{pct:.2f}".rstrip("0").rstrip(".") if pct >= 0.005 else "< 0.01"
        raise UnreadableImageError(
            f"{label}: image has transparent pixels ({pct_text} % of the image); "
            "texturecmp needs an opaque photo of the skin"
        )


def _pil_to_array(im: PIL.Image.Image, label: str) -> tuple[np.ndarray, float, int]:
    """Convert a loaded 8/16-bit Pillow image to ``(array, max_value, bit_depth)``.

    The array is (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA.
    """
    mode = im.mode
    if mode.startswith("I;16"):
        return np.asarray(im), 65535.0, 16
    if mode == "I":
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise UnreadableImageError(f"{label}: 32-bit integer images are not supported; use 8 or 16 bits")
        return arr, 65535.0, 16
    if mode == "F":
        return np.asarray(im), 1.0, 32
    if im.has_transparency_data:
        if mode != "RGBA":
            im = im.convert("RGBA")
        return np.asarray(im), 255.0, 8
    if mode == "1":
        return np.asarray(im.convert("L")), 255.0, 8
    if mode not in ("L", "RGB"):
        try:
            im = im.convert("RGB")
        except (ValueError, OSError) as exc:
            raise UnreadableImageError(f"{label}: unsupported colour mode {mode!r} ({exc})") from None
    return np.asarray(im), 255.0, 8


def _to_float_rgb(arr: np.ndarray, max_value: float) -> np.ndarray:
    """(H, W) or (H, W, 3) array -> new C-contiguous float32 (H, W, 3) in [0, 1]."""
    out = np.empty((arr.shape[0], arr.shape[1], 3), dtype=np.float32)
    src = arr[..., None] if arr.ndim == 2 else arr
    if max_value == 1.0:
        np.copyto(out, src, casting="same_kind")
    else:
        np.divide(src, np.float32(max_value), out=out, casting="same_kind")
    return out


def _check_size(width: int, height: int, label: str, max_pixels: int, min_size: int) -> None:
    n = width * height
    if n > max_pixels:
        raise ImageTooLargeError(
            f"{label}: image is {width}x{height} pixels ({n / 1e6:.1f} megapixels), more than the limit "
            f"of {max_pixels:,} pixels ({max_pixels / 1e6:g} megapixels); refusing to decode it"
        )
    if width < min_size or height < min_size:
        raise ImageTooSmallError(
            f"{label}: image is {width}x{height} pixels; texturecmp needs at least {min_size}x{min_size} pixels"
        )


def _check_float_values(arr: np.ndarray, label: str, error: type[TextureCmpError]) -> None:
    finite = np.isfinite(arr)
    if not finite.all():
        n_nan = int(np.count_nonzero(np.isnan(arr)))
        n_inf = int(arr.size - np.count_nonzero(finite) - n_nan)
        raise error(f"{label}: array contains NaN or inf values ({n_nan} NaN, {n_inf} inf)")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise error(
            f"{label}: float array values must be within [0, 1], got values from {lo:g} to {hi:g}"
        )


# ----------------------------------------------------------------------------- load_image


def _image_from_array(arr: np.ndarray, label: str, max_pixels: int, min_size: int) -> Image:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise UnreadableImageError(
            f"{label}: array of shape {arr.shape} is not an image; expected (H, W), (H, W, 3) or (H, W, 4)"
        )
    if arr.dtype == np.bool_:
        raise UnreadableImageError(
            f"{label}: boolean array is not an image (a mask?); expected uint8, uint16 or float values"
        )
    kind, itemsize = arr.dtype.kind, arr.dtype.itemsize  # any byte order
    if kind == "u" and itemsize == 1:
        max_value, bit_depth = 255.0, 8
    elif kind == "u" and itemsize == 2:
        max_value, bit_depth = 65535.0, 16
    elif kind == "f" and itemsize <= 8:
        max_value, bit_depth = 1.0, 32
    else:
        raise UnreadableImageError(
            f"{label}: array dtype {arr.dtype} is not supported; expected uint8, uint16 or float in [0, 1]"
        )
    height, width = arr.shape[:2]
    _check_size(width, height, label, max_pixels, min_size)
    if max_value == 1.0:
        _check_float_values(arr, label, UnreadableImageError)

    canonical = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    digest = hashlib.sha256(f"{canonical.dtype.str}{canonical.shape}".encode("ascii"))
    digest.update(canonical.data)

    if arr.ndim == 3 and arr.shape[2] == 4:
        _check_opaque(arr[..., 3], max_value, label)
        arr = arr[..., :3]
    rgb = _to_float_rgb(arr, max_value)
    return Image(rgb=rgb, sha256=digest.hexdigest(), source=label, format=None, bit_depth=bit_depth)


def load_image(
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
    min_size: int = MIN_SIZE,
) -> Image:
    """Load a photo as a float32 sRGB :class:`Image`.

    Parameters
    ----------
    source : str, os.PathLike, bytes, bytearray, memoryview, file object, numpy.ndarray or Image
        A path; the encoded bytes of a file; a binary file object (anything with
        ``.read()``); a numpy array of shape (H, W), (H, W, 1), (H, W, 3) or
        (H, W, 4) with dtype uint8, uint16 or float in [0, 1]; or an
        :class:`Image`, which is returned unchanged.
    name : str, optional
        Name of the input, used at the start of every error message and as
        :attr:`Image.source`. Default: the file's base name, ``"<bytes>"``,
        ``"<file>"`` or ``"<array>"``.
    max_pixels : int, optional
        Largest accepted width * height, checked from the header before decoding.
    min_size : int, optional
        Smallest accepted width and height.

    Returns
    -------
    Image
        Pixels laid out as displayed (EXIF orientation applied), read-only.

    Raises
    ------
    UnreadableImageError
        Missing, empty, truncated or corrupt file; not a supported image format
        (JPEG, PNG, TIFF, WebP, HEIC/HEIF, BMP); transparent pixels; array with
        NaN/inf, values outside [0, 1], an unsupported shape or dtype.
    ImageTooLargeError
        More than ``max_pixels`` pixels.
    ImageTooSmallError
        Width or height below ``min_size``.
    BadSettingsError
        Invalid ``max_pixels`` or ``min_size``.
    TypeError
        ``source`` is of an unsupported type, or a file object in text mode.

    Notes
    -----
    CMYK, YCbCr, palette and 1-bit images are converted to RGB; grayscale is
    replicated to three channels. Values are divided by 255 (8-bit) or 65535
    (16-bit); no colour management is applied (embedded ICC profiles are ignored).
    Multi-page files (TIFF, MPO) give their first image. HEIF images are decoded
    to 8 bits by pillow-heif.
    """
    if isinstance(source, Image):
        return source
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise BadSettingsError(f"max_pixels must be a positive integer, got {max_pixels!r}")
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise BadSettingsError(f"min_size must be a positive integer, got {min_size!r}")
    label = name if name else _source_label(source)

    if isinstance(source, np.ndarray):
        return _image_from_array(source, label, int(max_pixels), int(min_size))

    data = _read_bytes(source, label, UnreadableImageError)
    digest = hashlib.sha256(data).hexdigest()
    im = _open_pil(data, label, int(max_pixels), UnreadableImageError)
    with im:
        # Both limits are symmetric in width and height, so the header size (before
        # orientation) decides them; EXIF may only be known after loading (PNG).
        _check_size(im.width, im.height, label, int(max_pixels), int(min_size))
        sixteen_bit = _is_16bit_colour(im)  # the tile list is emptied by load()
        arr = _decode_jpeg_cv2(data, im)
        if arr is None:
            _load_pixels(im, label, UnreadableImageError)
        orientation, must_apply = _exif_orientation(im)
        if arr is not None:
            max_value, bit_depth = 255.0, 8
        elif (arr := _decode_16bit_cv2(data, im, label) if sixteen_bit else None) is not None:
            max_value, bit_depth = 65535.0, 16
        else:
            arr, max_value, bit_depth = _pil_to_array(im, label)
        fmt = im.format

    if max_value == 1.0:
        _check_float_values(arr, label, UnreadableImageError)
    if arr.ndim == 3 and arr.shape[2] == 4:
        _check_opaque(arr[..., 3], max_value, label)
        arr = arr[..., :3]
    if must_apply:
        arr = _apply_orientation(arr, orientation)
    if bit_depth == 8 and arr.dtype == np.uint8:  # kept as 8-bit codes (Image.rgb converts on demand)
        rgb8 = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_GRAY2RGB) if arr.ndim == 2 else np.ascontiguousarray(arr)
        return Image(rgb8=rgb8, sha256=digest, source=label, format=fmt, bit_depth=8, exif_orientation=orientation)
    rgb = _to_float_rgb(arr, max_value)
    return Image(
        rgb=rgb,
        sha256=digest,
        source=label,
        format=fmt,
        bit_depth=bit_depth,
        exif_orientation=orientation,
    )


# ----------------------------------------------------------------------------- load_mask


def _size_text(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"


def load_mask(source: MaskSource, *, shape: tuple[int, int], name: str = "mask") -> np.ndarray:
    """Load a region mask (roi, lesion, reference) for an image of a given shape.

    Parameters
    ----------
    source : str, os.PathLike, bytes, bytearray, memoryview, file object or numpy.ndarray
        A mask image file (any mode; EXIF orientation applied; a pixel is inside
        when its gray level is above half scale, i.e. ``> 127`` for 8-bit
        images, ``> 32767`` for 16-bit ones; alpha is ignored), or a 2-D numpy
        array (bool, or numbers: nonzero is inside).
    shape : tuple of int
        ``(height, width)`` of the image the mask belongs to (``Image.shape``).
    name : str, optional
        Name of the mask, used at the start of every error message.

    Returns
    -------
    numpy.ndarray
        New C-contiguous boolean array of shape ``shape``.

    Raises
    ------
    BadMaskError
        The mask cannot be read, has the wrong size, contains NaN, or is empty.
    BadSettingsError
        ``shape`` is not a pair of positive integers.
    """
    try:
        expected = (int(shape[0]), int(shape[1]))
        if len(shape) != 2 or min(expected) < 1:
            raise ValueError
    except (TypeError, ValueError, IndexError):
        raise BadSettingsError(f"{name}: shape must be (height, width) positive integers, got {shape!r}") from None

    def wrong_size(got: tuple[int, ...], prefix: str = name) -> BadMaskError:
        return BadMaskError(
            f"{prefix}: mask is {_size_text(got)} pixels but the image is {_size_text(expected)}; "
            "expected the same size"
        )

    if isinstance(source, np.ndarray):
        arr = source[..., 0] if source.ndim == 3 and source.shape[2] == 1 else source
        if arr.ndim != 2:
            raise BadMaskError(f"{name}: mask array must be 2-D (height, width), got shape {source.shape}")
        if arr.shape != expected:
            raise wrong_size(arr.shape)
        if arr.dtype == np.bool_:
            mask = np.array(arr, dtype=bool, order="C")
        elif arr.dtype.kind in "iu":
            mask = np.ascontiguousarray(arr != 0)
        elif arr.dtype.kind == "f":
            if np.isnan(arr).any():
                raise BadMaskError(f"{name}: mask contains NaN values")
            mask = np.ascontiguousarray(arr != 0)
        else:
            raise BadMaskError(f"{name}: mask array dtype {arr.dtype} is not supported; expected bool or numbers")
    else:
        label = _source_label(source)
        prefix = name if label.startswith("<") or label == name else f"{name} ({label})"
        data = _read_bytes(source, prefix, BadMaskError)
        im = _open_pil(data, prefix, MAX_PIXELS, BadMaskError)
        with im:
            if sorted((im.height, im.width)) != sorted(expected):  # before decoding
                raise wrong_size((im.height, im.width), prefix)
            _load_pixels(im, prefix, BadMaskError)
            orientation, must_apply = _exif_orientation(im)
            mode = im.mode
            if mode == "1":
                mask = np.asarray(im)
            elif mode.startswith("I"):
                mask = np.asarray(im) > 32767
            elif mode == "F":
                values = np.asarray(im)
                if np.isnan(values).any():
                    raise BadMaskError(f"{prefix}: mask contains NaN values")
                mask = values > 0.5
            else:
                mask = np.asarray(im.convert("L")) > 127
        if must_apply:
            mask = _apply_orientation(mask, orientation)
        if mask.shape != expected:
            raise wrong_size(mask.shape, prefix)
        mask = np.ascontiguousarray(mask, dtype=bool)
    if not mask.any():
        raise BadMaskError(f"{name}: mask is empty (no pixel inside)")
    return mask


# ----------------------------------------------------------------------------- export


def image_to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Convert float values in [0, 1] to uint8, rounding to nearest and clipping.

    Parameters
    ----------
    rgb : numpy.ndarray
        Float array of any shape (uint8 input is returned as a copy).

    Returns
    -------
    numpy.ndarray
        New uint8 array of the same shape.

    Raises
    ------
    ValueError
        NaN values.
    TypeError
        Neither a float nor a uint8 array.
    """
    arr = np.asarray(rgb)
    if arr.dtype == np.uint8:
        return arr.copy()
    if arr.dtype.kind != "f":
        raise TypeError(f"image_to_uint8 expects a float array with values in [0, 1], got dtype {arr.dtype}")
    if np.isnan(arr).any():
        raise ValueError("image_to_uint8: array contains NaN values")
    scaled = np.multiply(arr, np.float32(255.0), dtype=np.float32)
    np.clip(scaled, 0.0, 255.0, out=scaled)
    np.rint(scaled, out=scaled)
    return scaled.astype(np.uint8)


def encode_png(rgb_or_gray: np.ndarray) -> bytes:
    """Encode an array as PNG bytes without any metadata.

    Parameters
    ----------
    rgb_or_gray : numpy.ndarray
        Shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) (RGB(A) order); dtype
        uint8, uint16 (written as a 16-bit PNG), bool (0/255) or float in
        [0, 1] (rounded to uint8, see :func:`image_to_uint8`).

    Returns
    -------
    bytes
        PNG file contents with no EXIF, text or time chunk.

    Raises
    ------
    ValueError
        Unsupported shape, or NaN values.
    TypeError
        Unsupported dtype.
    """
    arr = np.asarray(rgb_or_gray)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))) or 0 in arr.shape:
        raise ValueError(f"encode_png: expected shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * np.uint8(255)
    elif arr.dtype.kind == "f":
        arr = image_to_uint8(arr)
    elif arr.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"encode_png: expected uint8, uint16, bool or float values, got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[..., [2, 1, 0]] if arr.shape[2] == 3 else arr[..., [2, 1, 0, 3]]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr))
    if not ok:  # pragma: no cover - cv2 only fails on unsupported input, excluded above
        raise ValueError("encode_png: PNG encoding failed")
    return buf.tobytes()


# ----------------------------------------------------------------------------- capture time

_EXIF_IFD_TAG = 0x8769
_DATETIME_ORIGINAL_TAG = 0x9003
_OFFSET_TIME_ORIGINAL_TAG = 0x9011
_SUBSEC_TIME_ORIGINAL_TAG = 0x9291
_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def capture_time(source: str | bytes | os.PathLike | IO[bytes], *, name: str | None = None):
    """Return when a photo was taken, from its EXIF ``DateTimeOriginal``, or None.

    Parameters
    ----------
    source : path, bytes or binary file object
        The photo file (any format Pillow reads with EXIF: JPEG, TIFF, PNG, WebP, HEIC).
        Only the header is read; the pixels are not decoded.
    name : str, optional
        Name used in error messages (default: the file's base name or ``"<bytes>"``).

    Returns
    -------
    datetime.datetime or None
        ``DateTimeOriginal`` (EXIF tag 0x9003, ``"YYYY:MM:DD HH:MM:SS"``) with the fraction of
        a second from ``SubSecTimeOriginal`` (0x9291). When ``OffsetTimeOriginal`` (0x9011,
        ``"+HH:MM"``) is present the result is timezone-aware; otherwise it is naive (the
        camera's local clock, zone unknown). None when the tag is missing, blank or not a
        calendar date (cameras write ``"0000:00:00 00:00:00"`` or spaces when unset).

    Raises
    ------
    UnreadableImageError
        The file cannot be read or is not an image.

    Notes
    -----
    The EXIF 2.32 standard (CIPA DC-008-2019, sections 4.6.5 and 4.6.6) defines these tags.
    ``DateTime`` (0x0132) is not used: editors rewrite it when a file is saved. Naive and
    aware results cannot be compared with each other: a caller ordering photos by it has to
    decide how to treat a series that mixes them.
    """
    import datetime as dt

    label = name if name else _source_label(source)
    data = _read_bytes(source, label, UnreadableImageError)
    try:
        with PIL.Image.open(io.BytesIO(data)) as im:
            exif = im.getexif()
            sub = exif.get_ifd(_EXIF_IFD_TAG)
    except (OSError, ValueError, SyntaxError, PIL.Image.DecompressionBombError) as exc:
        raise UnreadableImageError(f"{label}: not a readable image ({exc})") from None

    def text(tag: int) -> str:
        v = sub.get(tag, exif.get(tag))
        if isinstance(v, bytes):
            v = v.decode("ascii", "replace")
        return v.strip("\x00 ").strip() if isinstance(v, str) else ""

    m = _EXIF_DATETIME.fullmatch(text(_DATETIME_ORIGINAL_TAG))
    if m is None:
        return None
    try:
        when = dt.datetime(*(int(g) for g in m.groups()))
    except ValueError:  # 0000:00:00, month 13...
        return None
    frac = text(_SUBSEC_TIME_ORIGINAL_TAG)
    if frac.isdigit():
        when = when.replace(microsecond=int((frac + "000000")[:6]))
    off = _EXIF_OFFSET.fullmatch(text(_OFFSET_TIME_ORIGINAL_TAG))
    if off is not None:
        minutes = int(off.group(2)) * 60 + int(off.group(3))
        if minutes < 24 * 60:
            sign = -1 if off.group(1) == "-" else 1
            when = when.replace(tzinfo=dt.timezone(sign * dt.timedelta(minutes=minutes)))
    return when
