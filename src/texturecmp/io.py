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
  Damage the decoders let through is detected too: libjpeg's warnings that the scan
  data ended early (a cut JPEG with its end marker appended, a frame header claiming
  more rows), a PNG whose pixel data holds fewer rows than its header, TIFF strips
  that cover fewer rows. What the C decoders print on stderr is collected, never shown.
* The pixel count is checked from the file header *before* decoding
  (decompression-bomb protection); Pillow's global ``MAX_IMAGE_PIXELS`` is
  never modified. So is the header against the file's size: no coding can make a
  file byte stand for more than a known number of pixels (:func:`_check_claim`).
* Only regular files are read: a FIFO, socket or device is refused before it is opened.
* Complete colour JPEGs (ending with the end-of-image marker) are decoded by OpenCV's
  libjpeg-turbo, faster than Pillow's and with the same pixels (tested); Pillow
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
import math
import os
import re
import stat
import struct
import sys
import tempfile
import threading
import warnings
import zlib
from dataclasses import dataclass
from collections.abc import Iterator
from typing import IO, Any, Callable, Union

import cv2
import numpy as np
import pillow_heif
import PIL.Image
import PIL.ImageCms

from texturecmp._checks import check_int
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
"""Default limit on width * height, checked from the header before decoding.

A larger photo (a 200 MP phone mode) is refused, with the size to downsample it to, rather
than measured in strips: the metrics read skin at 0.05 mm and coarser, which a 5 cm area
shows in about 1000 px, so a 12-48 MP photo of it already holds every scale they read, and
the measurement's memory grows with the pixel count (``benchmarks/README.md``). Pass
``max_pixels`` to load more where the memory is there."""

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
        Bits per channel of the decoded source data: 8, 16 (also for 9- to 15-bit TIFF
        data, scaled by its true range), 32 for float input.
    exif_orientation : int
        EXIF orientation tag (1-8) that was applied to the pixels; 1 if none.
    icc_profile : str or None, optional (keyword only)
        Description of the embedded ICC profile the pixels were converted from (to
        sRGB), e.g. ``"Display P3"``, or of an embedded sRGB profile; None when the file
        had none (its values are read as sRGB).
    jpeg_dc_step : float or None, optional (keyword only)
        For a JPEG file: the coarser of its luma and chroma DC quantization steps, in 8-bit
        code units (the table's DC entry / 8, the step to which each 8x8 block's mean is
        rounded). It sets the part of the capture error that JPEG adds to a region's mean
        colour (:func:`texturecmp.uncertainty.capture_error`). None for other formats and
        for arrays, which are taken as uncompressed.
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
    icc_profile: str | None
    jpeg_dc_step: float | None

    def __init__(self, rgb: np.ndarray | None = None, sha256: str = "", source: str = "", format: str | None = None,
                 bit_depth: int = 32, exif_orientation: int = 1, *, rgb8: np.ndarray | None = None,
                 icc_profile: str | None = None, jpeg_dc_step: float | None = None) -> None:
        if (rgb is None) == (rgb8 is None):
            raise TypeError("Image needs exactly one of rgb (float32) and rgb8 (uint8)")
        if rgb is not None:
            if not isinstance(rgb, np.ndarray):
                raise TypeError(f"Image.rgb must be a numpy array, not {type(rgb).__name__}")
            if rgb.dtype != np.float32 or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise ValueError(f"Image.rgb must be a float32 array of shape (H, W, 3), got {rgb.dtype} {rgb.shape}")
            if not rgb.flags.c_contiguous:
                raise ValueError("Image.rgb must be C-contiguous")
            _check_pixel_values(rgb)
            rgb.flags.writeable = False
        else:
            if not isinstance(rgb8, np.ndarray) or rgb8.dtype != np.uint8 or rgb8.ndim != 3 or rgb8.shape[2] != 3:
                raise ValueError(f"Image.rgb8 must be a uint8 array of shape (H, W, 3), got "
                                 f"{getattr(rgb8, 'dtype', type(rgb8).__name__)} {getattr(rgb8, 'shape', '')}")
            if not rgb8.flags.c_contiguous:
                raise ValueError("Image.rgb8 must be C-contiguous")
            if bit_depth != 8:
                raise ValueError(f"Image.rgb8 holds 8-bit pixels; bit_depth must be 8, got {bit_depth}")
            if rgb8.size == 0:
                raise UnreadableImageError(f"Image.rgb8 has no pixels (shape {rgb8.shape})")
            rgb8.flags.writeable = False
        for k, v in (("_rgb", rgb), ("_rgb8", rgb8), ("sha256", sha256), ("source", source), ("format", format),
                     ("bit_depth", bit_depth), ("exif_orientation", exif_orientation), ("icc_profile", icc_profile),
                     ("jpeg_dc_step", None if jpeg_dc_step is None else float(jpeg_dc_step))):
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
            ``height``, ``exif_orientation``, ``icc_profile`` and ``jpeg_dc_step``.
        """
        return {
            "sha256": self.sha256,
            "source": self.source,
            "format": self.format,
            "bit_depth": self.bit_depth,
            "width": self.width,
            "height": self.height,
            "exif_orientation": self.exif_orientation,
            "icc_profile": self.icc_profile,
            "jpeg_dc_step": self.jpeg_dc_step,
        }

    def __repr__(self) -> str:
        return (
            f"Image(source={self.source!r}, format={self.format!r}, size={self.width}x{self.height}, "
            f"bit_depth={self.bit_depth}, exif_orientation={self.exif_orientation}, "
            f"sha256={self.sha256[:12]!r}...)"
        )


def _check_pixel_values(rgb: np.ndarray) -> None:
    """Refuse float pixels an :class:`Image` cannot hold: none at all, NaN/inf, or outside [0, 1].

    Every measurement trusts these bounds (a NaN photo would measure as L* = 100), so
    the constructor checks them whoever builds the image (a minimum and a maximum over
    the pixels).
    """
    if rgb.size == 0:
        raise UnreadableImageError(f"Image.rgb has no pixels (shape {rgb.shape})")
    lo, hi = float(rgb.min()), float(rgb.max())  # NaN propagates into both
    if not (0.0 <= lo and hi <= 1.0):  # also False for NaN
        n_nan = int(np.count_nonzero(np.isnan(rgb)))
        n_inf = int(np.count_nonzero(np.isinf(rgb)))
        if n_nan or n_inf:
            raise UnreadableImageError(
                f"Image.rgb contains NaN or inf values ({n_nan} NaN, {n_inf} inf); "
                "pixels must be finite sRGB values in [0, 1]"
            )
        raise UnreadableImageError(f"Image.rgb values must be within [0, 1], got values from {lo:g} to {hi:g}")


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
            # stat first: opening a FIFO blocks until a writer comes, and a device
            # (/dev/zero) reads without end
            _check_regular(os.stat(path).st_mode, label, path, error)
            with open(path, "rb") as handle:
                _check_regular(os.fstat(handle.fileno()).st_mode, label, path, error)  # replaced meanwhile
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
            fd = source.fileno()
        except (AttributeError, OSError, ValueError):  # BytesIO, wrappers without a descriptor
            fd = None
        if isinstance(fd, int):
            try:
                mode = os.fstat(fd).st_mode
            except OSError:
                mode = None
            if mode is not None:
                _check_regular(mode, label, label, error)
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


def _check_regular(mode: int, label: str, path: str, error: type[TextureCmpError]) -> None:
    """Refuse anything but a regular file: a FIFO or socket would block the read, a device never ends."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise error(f"{label}: is a directory, not an image file ({path})")
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    raise error(f"{label}: is {kind}, not an image file; give the path of a photo file ({path})")


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
    """Silence Python warnings of Pillow and its plugins while they read a file.

    texturecmp makes its own decisions on what they warn about: the pixel limit is its
    own (DecompressionBombWarning), unreadable EXIF is treated as absent ("Corrupt EXIF
    data"), and damaged pixel data is detected and refused (:func:`_check_complete`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


_NATIVE_LOCK = threading.Lock()


@contextlib.contextmanager
def _native_messages() -> Iterator[list[str]]:
    """Collect what C decoders (libjpeg, libpng, libtiff, libheif) print to file descriptor 2.

    The decoders report damaged data (libjpeg's "Corrupt JPEG data: premature end of data
    segment") only as text on the process's stderr, where it is useless to a caller and
    breaks the CLI's one-line errors. Inside the block, descriptor 2 points to a temporary
    file; its lines are in the yielded list once the block ends. Descriptor 2 is process
    wide, so one block runs at a time, and anything another thread writes to it meanwhile
    is collected (dropped) too.
    """
    lines: list[str] = []
    with _NATIVE_LOCK, tempfile.TemporaryFile() as sink:
        try:
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):  # pragma: no cover - no usable sys.stderr
            pass
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 (a daemon started with it closed): nothing to hear
            yield lines
            return
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read(1 << 16).decode("utf-8", "replace")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())


# libjpeg(-turbo) warnings that mean the pixels are not all the file's: the scan data ended
# (or hit a marker) before the last block, or it is damaged. "N extraneous bytes before
# marker" is left out: some cameras write junk after the complete scan.
_JPEG_DAMAGE = re.compile(r"premature end|corrupt jpeg data(?!: \d+ extraneous)|inconsistent progression",
                          re.IGNORECASE)


def _damage(lines: list[str], pattern: re.Pattern[str] = _JPEG_DAMAGE) -> str | None:
    """The first decoder message that reports damaged data, else None."""
    return next((line for line in lines if pattern.search(line)), None)


def _open_pil(data: bytes, label: str, max_pixels: int, error: type[TextureCmpError]) -> PIL.Image.Image:
    """Identify ``data`` with Pillow (lazy: only the header is parsed)."""
    try:
        with _quiet_pillow():
            return PIL.Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except PIL.Image.DecompressionBombError as exc:
        match = _BOMB_MESSAGE.search(str(exc))
        size = f"{int(match.group(1)):,} pixels" if match else "too many pixels"
        too_large = ImageTooLargeError if error is UnreadableImageError else error
        advice = f". {_downsample_advice(int(match.group(1)), max_pixels)}" if match else ""
        raise too_large(
            f"{label}: image has {size}, more than Pillow's decompression-bomb limit "
            f"(texturecmp limit: {max_pixels:,} pixels); refusing to decode it{advice}"
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
        raise error(f"{label}: image is truncated or corrupt ({_one_line(exc)})") from None


def _one_line(text: object) -> str:
    """A decoder's message on one line (libheif's span several)."""
    return " ".join(str(text).split())


def _load_pixels(im: PIL.Image.Image, label: str, error: type[TextureCmpError]) -> None:
    """Decode the pixel data, refusing truncated or corrupt files."""
    try:
        with _quiet_pillow(), _native_messages():
            im.load()
    except MemoryError:
        raise
    except Exception as exc:
        raise error(f"{label}: image is truncated or corrupt ({_one_line(exc)})") from None


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


def _sample_max(im: PIL.Image.Image, arr: np.ndarray, default: float) -> float:
    """The value of full scale of 16-bit container data: a TIFF's true range.

    A TIFF with ``BitsPerSample`` below 16 (12-bit camera data) is unpacked to 0 ...
    2^bits - 1, and one that stores fewer bits in 16-bit samples may say so with
    ``SMaxSampleValue`` (2^bits - 1): both scale by that range, not by 65535 (which would
    make 12-bit data 16 times too dark). A declared maximum that the data exceeds is not
    a range and is ignored.
    """
    if im.format != "TIFF":
        return default
    tags = im.tag_v2
    bits = tags.get(258)
    bits = max(bits) if isinstance(bits, tuple) and bits else bits
    top = None
    if isinstance(bits, int) and 1 <= bits < 16:
        top = 2**bits - 1
    else:
        smax = tags.get(341)
        smax = max(smax) if isinstance(smax, tuple) and smax else smax
        if isinstance(smax, (int, float)) and 0 < smax < default and float(smax + 1).is_integer():
            top = int(smax)
            if top & (top + 1):  # not 2^k - 1: a statistic, not a range
                top = None
    if top is None or (arr.size and int(arr.max()) > top):
        return default
    return float(top)


def _decode_16bit_cv2(data: bytes, im: PIL.Image.Image, label: str) -> np.ndarray | None:
    """Decode 16-bit PNG/TIFF colour data with OpenCV; RGB(A) order, or None if not 16-bit."""
    with _native_messages():  # libpng/libtiff explain a failure on stderr; the error below says it
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


def _is_jpeg(im: PIL.Image.Image) -> bool:
    return im.format in ("JPEG", "MPO")


def _decode_jpeg_cv2(data: bytes, im: PIL.Image.Image, label: str) -> np.ndarray | None:
    """The RGB pixels of a complete colour JPEG, decoded by OpenCV's libjpeg-turbo (faster
    than Pillow's, the same pixels: tested); None for anything else, which Pillow decodes.

    Only files whose image reaches its end-of-image marker (:func:`_jpeg_end`) take this
    path, so a file cut short still gets Pillow's "truncated" error; bytes after the marker
    (a camera's or messaging app's trailer, an MPO's second image) are ignored, as every
    JPEG decoder does. A file whose scan data ends before its last block (cut, with an end
    marker appended; or a header claiming more rows than the data holds) decodes with the
    missing blocks filled in a flat colour; libjpeg only warns about it, and that warning
    refuses the file here.
    """
    if not _is_jpeg(im) or im.mode != "RGB" or _jpeg_end(data) is None:
        return None
    with _native_messages() as lines:
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
    _refuse_damaged_jpeg(lines, label)
    if arr is None or arr.shape != (im.height, im.width, 3) or arr.dtype != np.uint8:
        return None  # Pillow decides (and names the error)
    return arr


def _jpeg_markers(data: bytes) -> Iterator[tuple[int, int]]:
    """``(offset, marker)`` of each marker of a JPEG after its start-of-image marker, walking the
    marker segments (so that an EXIF thumbnail's markers inside APP1 are skipped) and each
    scan's entropy-coded data (where FF is followed by 00 or a restart marker D0-D7); it
    ends where the data does not continue as a JPEG (a cut file). A marker with a length is
    yielded only when its length field is there."""
    n = len(data)
    ends = None
    pos = 2
    while pos + 2 <= n:
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0xD9, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            yield pos, marker
            pos += 2
            continue
        if pos + 4 > n:
            return
        yield pos, marker
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # start of scan: its entropy-coded data runs to the next marker
            if ends is None:
                buf = np.frombuffer(data, np.uint8)
                ff = np.flatnonzero(buf[:-1] == 0xFF)
                nxt = buf[ff + 1]
                # where an entropy-coded segment can end (not stuffing, restart or fill)
                ends = ff[(nxt != 0x00) & (nxt != 0xFF) & ((nxt < 0xD0) | (nxt > 0xD7))]
            i = int(np.searchsorted(ends, pos))
            if i == ends.size:
                return
            pos = int(ends[i])


def _jpeg_end(data: bytes) -> int | None:
    """The offset just past the first image's end-of-image marker (FF D9); None when the data
    ends first (a cut file)."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        return None
    return next((pos + 2 for pos, marker in _jpeg_markers(data) if marker == 0xD9), None)


def _refuse_damaged_jpeg(lines: list[str], label: str) -> None:
    damage = _damage(lines)
    if damage is not None:
        raise UnreadableImageError(
            f"{label}: image is truncated or corrupt (its JPEG data is incomplete or damaged: {damage})"
        )


def _check_jpeg_scan(data: bytes, label: str) -> None:
    """Refuse a JPEG that Pillow decoded although its scan data is incomplete.

    Pillow's libjpeg glue drops libjpeg's warnings, so the scan is decoded once more by
    OpenCV at 1/8 scale (the entropy decoding, not the full inverse DCT) to hear them.
    """
    with _native_messages() as lines:
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_8 | cv2.IMREAD_IGNORE_ORIENTATION)
    _refuse_damaged_jpeg(lines, label)


# ----------------------------------------------------------------------------- data enough for the header?

# The most pixels a file byte can stand for, per coding. A header whose size needs more
# than its file can hold is a damaged or hostile file: it is refused before anything of
# that size is allocated (an 8 KB JPEG claiming 10000 x 10000 pixels otherwise decodes
# to 100 MP of filler).
#  * Huffman-coded JPEG (baseline, extended, progressive): every 8 x 8 block of the first
#    component needs at least one code bit in its DC scan, so at most 64 x 8 = 512 pixels
#    per byte (a flat grey progressive JPEG has 255, a flat colour baseline one 64).
#  * Deflate (PNG, TIFF Adobe/zip): at most 1032 raw bytes per compressed byte (a 258-byte
#    match in two 1-bit codes); flat PNGs reach 1029 (gray) and 8137 pixels per byte (1-bit).
#  * LZW (TIFF): 12-bit codes for strings of at most 4094 bytes, at most 2730:1.
#  * PackBits (TIFF): 128 bytes from a 2-byte run, at most 64:1; uncompressed: 1:1.
#  * Codings without such a limit (arithmetic-coded JPEG, WebP, HEIF, other TIFF codings):
#    100 000 pixels per byte, four times the densest real file measured (a flat lossless
#    WebP: 25 300 pixels per byte at 48 MP; flat HEIC: 1 600, flat lossy WebP: 560).
_JPEG_HUFFMAN_PX_PER_BYTE = 512
_DEFLATE_RATIO = 1032
_LZW_RATIO = 2730
_PACKBITS_RATIO = 64
_ANY_PX_PER_BYTE = 100_000
_TIFF_RATIOS = {1: 1, 32773: _PACKBITS_RATIO, 5: _LZW_RATIO, 8: _DEFLATE_RATIO, 32946: _DEFLATE_RATIO}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_JPEG_SOF_HUFFMAN = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7))


def _jpeg_sof(data: bytes) -> int | None:
    """The frame marker (0xC0 ... 0xCF) of a JPEG, walking the marker segments; None if not found."""
    return next((m for _, m in _jpeg_markers(data) if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC)), None)


def _raw_bytes(width: int, height: int, bits_per_pixel: int) -> int:
    """Bytes of ``height`` rows of packed pixels, each row starting on a byte."""
    return height * math.ceil(width * bits_per_pixel / 8)


def _claim_limit(data: bytes, im: PIL.Image.Image) -> tuple[int, str] | None:
    """``(largest pixel count the file's bytes can hold, the coding's name)``; None when unknown."""
    n, w = len(data), im.width
    if _is_jpeg(im):
        sof = _jpeg_sof(data)
        if sof in _JPEG_SOF_HUFFMAN:
            return _JPEG_HUFFMAN_PX_PER_BYTE * n, "Huffman-coded JPEG"
    elif im.format == "PNG" and data[12:16] == b"IHDR":
        bits, colour = data[24], data[25]
        bpp = bits * _PNG_CHANNELS.get(colour, 1)
        row = 1 + math.ceil(w * bpp / 8)  # a filter byte, then the packed pixels
        return max(1, _DEFLATE_RATIO * n // row) * w, "deflate (PNG)"
    elif im.format == "TIFF":
        tags = im.tag_v2
        compression = tags.get(259, 1)
        bits = tags.get(258, (8,))
        bpp = sum(bits) if isinstance(bits, tuple) else int(bits) * int(tags.get(277, 1))
        if compression in (6, 7):
            return _JPEG_HUFFMAN_PX_PER_BYTE * n, "JPEG in TIFF"
        ratio = _TIFF_RATIOS.get(compression)
        if ratio is not None and bpp > 0:
            row = _raw_bytes(w, 1, bpp)
            name = {1: "uncompressed", 32773: "PackBits", 5: "LZW"}.get(compression, "deflate")
            return max(1, ratio * n // max(1, row)) * w, f"{name} TIFF"
    return _ANY_PX_PER_BYTE * n, im.format or "image"


def _check_claim(data: bytes, im: PIL.Image.Image, label: str) -> None:
    """Refuse a header that claims more pixels than its file's bytes can encode (see above)."""
    limit = _claim_limit(data, im)
    if limit is not None and im.width * im.height > limit[0]:
        raise UnreadableImageError(
            f"{label}: image is truncated or corrupt (its header claims {im.width}x{im.height} pixels, more "
            f"than the {len(data):,} bytes of the file can hold as {limit[1]})"
        )


# ----------------------------------------------------------------------------- all pixels decoded?


def _check_tiles_cover(im: PIL.Image.Image, label: str) -> None:
    """Refuse a TIFF whose strips or tiles cover fewer rows than its header claims
    (Pillow leaves the rest black)."""
    if im.format != "TIFF":
        return
    covered = 0
    for tile in getattr(im, "tile", None) or []:
        box = tile.extents if hasattr(tile, "extents") else tile[1]
        if box is not None:
            x0, y0, x1, y1 = box
            covered += max(0, x1 - x0) * max(0, y1 - y0)
    if covered and covered < im.width * im.height:
        rows = covered // max(1, im.width)
        raise UnreadableImageError(
            f"{label}: image is truncated or corrupt (its header claims {im.height} rows, "
            f"its image data holds about {rows})"
        )


def _png_inflated_size(data: bytes, stop: int) -> int:
    """Bytes the IDAT chunks of a PNG inflate to (counted in 1 MB steps; at most ``stop``)."""
    z = zlib.decompressobj()
    total, pos = 0, 8
    while pos + 8 <= len(data) and total < stop:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            chunk = data[pos + 8 : pos + 8 + length]
            try:
                while chunk and total < stop:
                    total += len(z.decompress(chunk, 1 << 20))
                    chunk = z.unconsumed_tail
            except zlib.error:
                return total
        elif kind == b"IEND":
            break
        pos += 12 + length
    return total


def _png_needed_size(width: int, height: int, bpp: int, interlaced: bool) -> int:
    """Inflated bytes a complete PNG holds: per row a filter byte and the packed pixels (per Adam7 pass)."""
    if not interlaced:
        return height * (1 + math.ceil(width * bpp / 8))
    total = 0
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
        pw, ph = max(0, -(-(width - x0) // dx)), max(0, -(-(height - y0) // dy))
        if pw and ph:
            total += ph * (1 + math.ceil(pw * bpp / 8))
    return total


def _check_png_complete(data: bytes, im: PIL.Image.Image, label: str) -> None:
    """Refuse a PNG whose pixel data ends before its last row.

    Pillow accepts a complete zlib stream that holds fewer rows than the header claims
    and leaves the missing rows zero. Only when the last two decoded rows are all zero
    (as that fill leaves them) is the data counted, so other files cost nothing.
    """
    if im.format != "PNG" or data[12:16] != b"IHDR" or b"acTL" in data[:4096]:
        return
    tail = np.asarray(im.crop((0, max(0, im.height - 2), im.width, im.height)))
    if tail.reshape(tail.shape[0], -1).any(axis=1).all():  # no all-zero row
        return
    bpp = data[24] * _PNG_CHANNELS.get(data[25], 1)
    needed = _png_needed_size(im.width, im.height, bpp, data[28] == 1)
    got = _png_inflated_size(data, needed)
    if got < needed:
        raise UnreadableImageError(
            f"{label}: image is truncated or corrupt (its pixel data holds {100 * got / needed:.0f} % of the "
            f"{im.width}x{im.height} pixels its header claims)"
        )


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
        arr = np.asarray(im)
        return arr, _sample_max(im, arr, 65535.0), 16
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


def _downsample_advice(n: int, max_pixels: int, size: tuple[int, int] | None = None) -> str:
    """How to bring an ``n``-pixel photo (``size``: its width and height) under ``max_pixels``."""
    k = math.sqrt(n / max_pixels)
    to = f"to at most {int(size[0] / k)}x{int(size[1] / k)} pixels " if size else ""
    return (f"Downsample it {to}(1/{k:.2f} per side; the camera's 12 or 48 MP mode, or an image editor's "
            "resize), or raise max_pixels where the machine has the memory")


def _check_size(width: int, height: int, label: str, max_pixels: int, min_size: int) -> None:
    n = width * height
    if n > max_pixels:
        raise ImageTooLargeError(
            f"{label}: image is {width}x{height} pixels ({n / 1e6:.1f} megapixels), more than the limit "
            f"of {max_pixels:,} pixels ({max_pixels / 1e6:g} megapixels); refusing to decode it. "
            + _downsample_advice(n, max_pixels, (width, height))
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


# ----------------------------------------------------------------------------- embedded colour profiles

# sRGB's colorants in the ICC profile connection space (D50, Bradford-adapted), as in the
# sRGB IEC61966-2.1 profile: the columns map linear sRGB to PCS XYZ.
_SRGB_TO_PCS = np.array([[0.4360747, 0.3850649, 0.1430804],
                         [0.2225045, 0.7168786, 0.0606169],
                         [0.0139322, 0.0971045, 0.7141733]])
_PARA_COUNTS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


def _s15(b: bytes) -> float:
    return struct.unpack(">i", b)[0] / 65536.0


def _icc_curve(tag: bytes) -> Callable[[np.ndarray], np.ndarray] | None:
    """An ICC ``curv`` or ``para`` tone curve as a function on [0, 1] (float64), or None."""
    kind = tag[:4]
    if kind == b"curv" and len(tag) >= 12:
        n = struct.unpack(">I", tag[8:12])[0]
        if n == 0:
            return lambda x: x
        if n == 1:
            gamma = struct.unpack(">H", tag[12:14])[0] / 256.0
            return lambda x: np.power(np.clip(x, 0.0, 1.0), gamma)
        table = np.frombuffer(tag[12 : 12 + 2 * n], dtype=">u2").astype(np.float64) / 65535.0
        if table.size != n:
            return None
        grid = np.linspace(0.0, 1.0, n)
        return lambda x: np.interp(x, grid, table)
    if kind == b"para" and len(tag) >= 12:
        ftype = struct.unpack(">H", tag[8:10])[0]
        count = _PARA_COUNTS.get(ftype)
        if count is None or len(tag) < 12 + 4 * count:
            return None
        g, a, b, c, d, e, f = ([_s15(tag[12 + 4 * i : 16 + 4 * i]) for i in range(count)] + [0.0] * 7)[:7]
        if ftype == 0:
            return lambda x: np.power(np.clip(x, 0.0, 1.0), g)
        if ftype == 1:
            d, c = -b / a, 0.0
        elif ftype == 2:
            d, e, f = -b / a, c, c
            c = 0.0
        elif ftype == 3:
            e = f = 0.0

        def para(x: np.ndarray) -> np.ndarray:
            x = np.clip(x, 0.0, 1.0)
            return np.where(x >= d, np.power(np.maximum(a * x + b, 0.0), g) + e, c * x + f)

        return para
    return None


def _icc_matrix_shaper(icc: bytes) -> tuple[np.ndarray, list[Callable[[np.ndarray], np.ndarray]]] | None:
    """``(3x3 matrix to PCS XYZ, [R, G, B tone curves])`` of an RGB matrix/TRC profile; None otherwise
    (LUT-based profiles, other colour spaces, damaged tag tables)."""
    if len(icc) < 132 or icc[36:40] != b"acsp" or icc[16:20] != b"RGB " or icc[20:24] != b"XYZ ":
        return None
    n = struct.unpack(">I", icc[128:132])[0]
    tags: dict[bytes, bytes] = {}
    for k in range(min(n, 200)):
        entry = icc[132 + 12 * k : 144 + 12 * k]
        if len(entry) < 12:
            return None
        offset, size = struct.unpack(">II", entry[4:12])
        tags[entry[:4]] = icc[offset : offset + size]
    if b"A2B0" in tags or b"A2B1" in tags:  # a CMM would use the LUT: leave it to LittleCMS
        return None
    try:
        columns = []
        for sig in (b"rXYZ", b"gXYZ", b"bXYZ"):
            t = tags[sig]
            columns.append([_s15(t[8 + 4 * i : 12 + 4 * i]) for i in range(3)])
        curves = [_icc_curve(tags[sig]) for sig in (b"rTRC", b"gTRC", b"bTRC")]
    except (KeyError, struct.error, ZeroDivisionError):
        return None
    if any(c is None for c in curves):
        return None
    return np.array(columns).T, curves  # type: ignore[return-value]


def _srgb_decode(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, np.power((np.maximum(x, 0.0) + 0.055) / 1.055, 2.4))


def _icc_name(icc: bytes) -> str:
    try:
        name = PIL.ImageCms.getProfileDescription(PIL.ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except Exception:  # noqa: BLE001 - a profile LittleCMS cannot read still has a place in provenance
        name = ""
    return name or "unnamed ICC profile"


def _to_srgb(arr: np.ndarray, max_value: float, icc: bytes | None) -> tuple[np.ndarray, float, str | None]:
    """Convert RGB pixels described by an embedded ICC profile to sRGB.

    Returns ``(pixels, max_value, profile name)``; the pixels are unchanged (and the name
    None) without a profile, for a gray image, or for a profile that is sRGB already.

    A matrix/TRC profile (Display P3, Adobe RGB, ProPhoto: the profiles of phones and
    cameras) is applied here in float: each channel through its tone curve (a table of
    every code for integer data), the 3 x 3 matrix to the profile connection space and
    back through sRGB's colorants, then sRGB's transfer function; relative colorimetric,
    as both white points are D50 in the connection space. Colours outside sRGB are
    clipped to [0, 1]. The result keeps its precision (float32, not rounded to 8 or 16
    bits). Other profiles (LUT-based) go through LittleCMS (Pillow's ImageCms) at 8 bits.
    """
    if icc is None or arr.ndim != 3 or arr.shape[2] != 3:
        return arr, max_value, None
    name = _icc_name(icc)
    shaper = _icc_matrix_shaper(icc)
    if shaper is None:
        return _to_srgb_lcms(arr, max_value, icc, name)
    to_pcs, curves = shaper
    matrix = np.linalg.solve(_SRGB_TO_PCS, to_pcs)  # linear source RGB -> linear sRGB
    probe = np.linspace(0.0, 1.0, 33)
    if np.abs(matrix - np.eye(3)).max() < 2e-3 and all(
            np.abs(c(probe) - _srgb_decode(probe)).max() < 2e-3 for c in curves):
        return arr, max_value, name  # sRGB already (within a tenth of an 8-bit code)
    if arr.dtype.kind == "u":
        codes = np.arange(int(max_value) + 1, dtype=np.float64) / max_value
        luts = np.stack([c(codes) for c in curves], axis=-1).astype(np.float32)
        if arr.dtype == np.uint8:  # one pass: a 3-channel table
            lin = cv2.LUT(np.ascontiguousarray(arr), luts.reshape(256, 1, 3))
        else:
            lin = np.empty(arr.shape, np.float32)
            for k in range(3):
                np.take(luts[:, k], arr[..., k], out=lin[..., k])
    else:
        lin = np.stack([c(arr[..., k].astype(np.float64)).astype(np.float32) for k, c in enumerate(curves)], axis=-1)
    lin = cv2.transform(np.ascontiguousarray(lin), matrix.astype(np.float32))
    from texturecmp.color import linear_to_srgb  # color imports nothing of io; here to keep io's imports light

    out = linear_to_srgb(np.clip(lin, 0.0, 1.0))
    np.clip(out, 0.0, 1.0, out=out)
    return out, 1.0, name


def _to_srgb_lcms(arr: np.ndarray, max_value: float, icc: bytes, name: str) -> tuple[np.ndarray, float, str | None]:
    """8-bit conversion by LittleCMS for the profiles :func:`_to_srgb` does not apply itself."""
    if arr.dtype != np.uint8:
        arr8 = np.rint(arr.astype(np.float64) * (255.0 / max_value)).astype(np.uint8)
    else:
        arr8 = arr
    try:
        source = PIL.ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = PIL.ImageCms.ImageCmsProfile(PIL.ImageCms.createProfile("sRGB"))
        out = PIL.ImageCms.profileToProfile(PIL.Image.fromarray(np.ascontiguousarray(arr8), "RGB"), source, srgb,
                                            outputMode="RGB")
    except Exception:  # noqa: BLE001 - a profile LittleCMS cannot use: read as sRGB, as without one
        return arr, max_value, None
    return np.asarray(out), 255.0, name


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


def _jpeg_dc_step(im: Any) -> float | None:
    """The coarser DC quantization step of a JPEG's luma and chroma tables, in 8-bit code
    units (DC entry / 8: the DC coefficient is 8 x the block mean); None if not a JPEG."""
    tables = getattr(im, "quantization", None) if _is_jpeg(im) else None
    if not tables:
        return None
    dc = [t[0] for k, t in sorted(tables.items())[:2] if len(t)]
    return max(dc) / 8.0 if dc else None


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
    (16-bit); TIFF data of fewer bits (12-bit ``BitsPerSample``, or 16-bit samples
    whose ``SMaxSampleValue`` is 2^k - 1) by its true range, with ``bit_depth`` 16;
    an embedded ICC profile is converted to sRGB (Display P3, Adobe RGB and other
    matrix/TRC profiles in float precision, others by LittleCMS at 8 bits) and its name
    is kept in :attr:`Image.icc_profile`; an 8-bit photo converted in float has ``bit_depth`` 16,
    as its values lie between the 8-bit codes. Without a profile, values are read as sRGB.
    Multi-page files (TIFF, MPO) give their first image. HEIF images are decoded
    to 8 bits by pillow-heif.

    Examples
    --------
    >>> import numpy as np
    >>> import texturecmp as tc
    >>> from texturecmp.io import encode_png
    >>> from texturecmp.phantoms import skin_phantom, to_uint8
    >>> codes = to_uint8(skin_phantom((96, 128), seed=1).rgb)
    >>> img = tc.load_image(encode_png(codes), name="week0.png")
    >>> img
    Image(source='week0.png', format='PNG', size=128x96, bit_depth=8, exif_orientation=1, sha256='...'...)
    >>> img.shape, img.rgb.dtype, bool(np.array_equal(img.rgb8, codes))
    ((96, 128), dtype('float32'), True)
    >>> tc.load_image(codes).source
    '<array>'
    >>> tc.load_image(b"not a photo")
    Traceback (most recent call last):
        ...
    texturecmp.errors.UnreadableImageError: <bytes>: is not an image texturecmp can read (JPEG, ...). It looks like text.
    """
    if isinstance(source, Image):
        return source
    check_int(max_pixels, "max_pixels", ge=1, expected="a positive integer", wording="must be")
    check_int(min_size, "min_size", ge=1, expected="a positive integer", wording="must be")
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
        _check_claim(data, im, label)  # before anything of the claimed size is allocated
        _check_tiles_cover(im, label)
        sixteen_bit = _is_16bit_colour(im)  # the tile list is emptied by load()
        arr = _decode_jpeg_cv2(data, im, label)
        if arr is None:
            _load_pixels(im, label, UnreadableImageError)
            if _is_jpeg(im):
                _check_jpeg_scan(data, label)
            _check_png_complete(data, im, label)
        orientation, must_apply = _exif_orientation(im)
        icc = im.info.get("icc_profile") or None
        if arr is not None:
            max_value, bit_depth = 255.0, 8
        elif (arr := _decode_16bit_cv2(data, im, label) if sixteen_bit else None) is not None:
            max_value, bit_depth = _sample_max(im, arr, 65535.0), 16
        else:
            arr, max_value, bit_depth = _pil_to_array(im, label)
        fmt = im.format
        dc_step = _jpeg_dc_step(im)

    if max_value == 1.0:
        _check_float_values(arr, label, UnreadableImageError)
    if arr.ndim == 3 and arr.shape[2] == 4:
        _check_opaque(arr[..., 3], max_value, label)
        arr = arr[..., :3]
    if must_apply:
        arr = _apply_orientation(arr, orientation)
    arr, max_value, profile = _to_srgb(arr, max_value, icc if isinstance(icc, bytes) else None)
    if max_value == 1.0 and bit_depth == 8:
        bit_depth = 16  # converted 8-bit values lie between the 8-bit codes
    elif profile is not None and arr.dtype == np.uint8:
        bit_depth = 8  # converted by LittleCMS, at 8 bits
    if bit_depth == 8 and arr.dtype == np.uint8:  # kept as 8-bit codes (Image.rgb converts on demand)
        rgb8 = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_GRAY2RGB) if arr.ndim == 2 else np.ascontiguousarray(arr)
        return Image(rgb8=rgb8, sha256=digest, source=label, format=fmt, bit_depth=8, exif_orientation=orientation,
                     icc_profile=profile, jpeg_dc_step=dc_step)
    converted = profile is not None and arr.dtype == np.float32 and arr.ndim == 3 and arr.flags.c_contiguous
    rgb = arr if converted else _to_float_rgb(arr, max_value)
    return Image(
        rgb=rgb,
        sha256=digest,
        source=label,
        format=fmt,
        bit_depth=bit_depth,
        exif_orientation=orientation,
        icc_profile=profile,
        jpeg_dc_step=dc_step,
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
