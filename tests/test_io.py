"""Tests for texturecmp.io: every test file is generated here, in memory or in tmp_path."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import warnings
import zlib
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import PIL.Image
import PIL.ImageFile
import PIL.ImageOps
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from texturecmp.errors import (
    BadMaskError,
    ImageTooLargeError,
    ImageTooSmallError,
    TextureCmpError,
    UnreadableImageError,
)
from texturecmp.io import (
    MAX_PIXELS,
    MIN_SIZE,
    Image,
    encode_png,
    image_to_uint8,
    load_image,
    load_mask,
)

RNG = np.random.default_rng(20240611)


# ----------------------------------------------------------------------------- helpers


def rand_u8(h: int = 64, w: int = 80, c: int | None = 3) -> np.ndarray:
    shape = (h, w) if c is None else (h, w, c)
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def smooth_u8(h: int = 64, w: int = 80) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 3, y * 3, (x + y) * 3 // 2], axis=-1).astype(np.uint8)


def pil_bytes(img: PIL.Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(pixels: np.ndarray, color_type: int, bit_depth: int = 16) -> bytes:
    """Write a PNG by hand (Pillow cannot write 16-bit colour or 16-bit gray+alpha)."""
    h, w = pixels.shape[:2]
    big = pixels.astype(">u2" if bit_depth == 16 else np.uint8).reshape(h, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in big)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def patch_png_size(png: bytes, width: int, height: int) -> bytes:
    """Rewrite the IHDR width/height (and its CRC) of a PNG without touching the pixel data."""
    assert png[12:16] == b"IHDR"
    ihdr = struct.pack(">II", width, height) + png[24:29]
    return png[:8] + png_chunk(b"IHDR", ihdr) + png[33:]


def png_chunk_types(png: bytes) -> list[bytes]:
    types, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        types.append(png[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def u16_low_byte_pattern(h: int = 64, w: int = 80, c: int = 3) -> np.ndarray:
    """uint16 values that differ only in their low byte (lost by any 8-bit path)."""
    arr = np.full((h, w, c), 0x8000, dtype=np.uint16)
    arr += RNG.integers(0, 256, (h, w, c), dtype=np.uint16)
    return arr


# ----------------------------------------------------------------------------- bad inputs


def test_not_an_image_text_bytes() -> None:
    with pytest.raises(UnreadableImageError, match=r"^<bytes>: is not an image texturecmp can read \(JPEG, PNG"):
        load_image(b"hello, this is a text file\n" * 10)


def test_not_an_image_pdf_named() -> None:
    with pytest.raises(UnreadableImageError, match=r"^report\.pdf: is not an image .*PDF"):
        load_image(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", name="report.pdf")


def test_unsupported_format_gif() -> None:
    with pytest.raises(UnreadableImageError, match="not an image texturecmp can read.*GIF"):
        load_image(pil_bytes(PIL.Image.fromarray(rand_u8()), "GIF"))


def test_empty_bytes() -> None:
    with pytest.raises(UnreadableImageError, match=r"^<bytes>: is empty"):
        load_image(b"")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(UnreadableImageError, match=r"^empty\.jpg: is empty"):
        load_image(path)


def test_truncated_jpeg() -> None:
    data = pil_bytes(PIL.Image.fromarray(rand_u8(256, 256)), "JPEG", quality=90)
    assert PIL.ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(UnreadableImageError, match=r"^before\.jpg: image is truncated or corrupt"):
        load_image(data[: len(data) // 2], name="before.jpg")


@pytest.mark.parametrize("quality, step", [(50, 17 / 8), (75, 9 / 8), (95, 2 / 8)])
def test_jpeg_dc_step_is_read_from_the_file(quality: int, step: float) -> None:
    # IJG tables (Pillow, OpenCV, most cameras): DC entries 16 (luma) and 17 (chroma) at quality
    # 50, scaled by (200 - 2 q) % above it and rounded; the coarser one, over 8 (DC = 8 x block mean)
    img = load_image(pil_bytes(PIL.Image.fromarray(rand_u8(64, 64)), "JPEG", quality=quality))
    assert img.jpeg_dc_step == step and img.to_dict()["jpeg_dc_step"] == step


def test_lossless_photos_and_arrays_have_no_jpeg_step() -> None:
    assert load_image(pil_bytes(PIL.Image.fromarray(rand_u8(64, 64)), "PNG")).jpeg_dc_step is None
    assert load_image(rand_u8(64, 64)).jpeg_dc_step is None


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0"])
@pytest.mark.parametrize("progressive", [False, True])
def test_colour_jpeg_pixels_are_pillows(subsampling: str, progressive: bool) -> None:
    # complete colour JPEGs are decoded by OpenCV's libjpeg-turbo: the pixels must be Pillow's
    img = cv2.GaussianBlur(rand_u8(237, 331, 3), (0, 0), 1.5)  # odd sizes: partial MCUs at the edges
    data = pil_bytes(PIL.Image.fromarray(img), "JPEG", quality=88, subsampling=subsampling, progressive=progressive)
    got = load_image(data)
    assert got.bit_depth == 8 and got.shape == (237, 331)
    np.testing.assert_array_equal(got.rgb8, np.asarray(PIL.Image.open(io.BytesIO(data)).convert("RGB")))
    # trailing bytes after the end-of-image marker (zero padding) take the same path, a cut file does not
    np.testing.assert_array_equal(load_image(data + b"\0" * 7).rgb8, got.rgb8)
    with pytest.raises(UnreadableImageError, match="truncated or corrupt"):
        load_image(data[:-40], name="cut.jpg")


def test_jpeg_with_bytes_after_its_end_marker_takes_the_fast_path() -> None:
    # cameras and messaging apps append data after the image (an MPO its second image): the
    # image is complete, so OpenCV decodes it, with Pillow's pixels; a cut file whose EXIF
    # thumbnail carries an end marker of its own is still refused as truncated
    from texturecmp import io as tio

    img = cv2.GaussianBlur(rand_u8(120, 160, 3), (0, 0), 1.5)
    thumb = pil_bytes(PIL.Image.fromarray(img[::4, ::4]), "JPEG", quality=80)
    exif = PIL.Image.Exif()
    exif[0x010F] = "maker"
    buf = io.BytesIO()
    PIL.Image.fromarray(img).save(buf, "JPEG", quality=90, exif=exif.tobytes() + thumb)
    data = buf.getvalue()
    assert tio._jpeg_end(data) == len(data)
    trailer = data + b"\xff\xd8 trailer of a messaging app \xff\xd9\x00"
    assert tio._jpeg_end(trailer) == len(data)
    calls = []
    real = tio._decode_jpeg_cv2
    with mock.patch.object(tio, "_decode_jpeg_cv2", lambda *a: calls.append(r := real(*a)) or r):
        got = load_image(trailer)
    assert calls and calls[0] is not None  # decoded by OpenCV, not handed to Pillow
    np.testing.assert_array_equal(got.rgb8, np.asarray(PIL.Image.open(io.BytesIO(data)).convert("RGB")))
    cut = data[: len(data) - 200]
    assert thumb[-2:] in cut and tio._jpeg_end(cut) is None
    with pytest.raises(UnreadableImageError, match="truncated or corrupt"):
        load_image(cut, name="cut.jpg")


def test_truncated_png() -> None:
    data = pil_bytes(PIL.Image.fromarray(rand_u8(128, 128)), "PNG")
    with pytest.raises(UnreadableImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_truncated_16bit_png() -> None:
    data = cv2.imencode(".png", u16_low_byte_pattern(128, 128))[1].tobytes()
    with pytest.raises(UnreadableImageError, match="truncated or corrupt"):
        load_image(data[: int(len(data) * 0.8)])


def test_truncated_tiff_header() -> None:
    data = cv2.imencode(".tiff", u16_low_byte_pattern(128, 128))[1].tobytes()  # directory at the end
    with pytest.raises(UnreadableImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_decompression_bomb_header_checked_before_decoding() -> None:
    small = pil_bytes(PIL.Image.new("L", (64, 64)), "PNG")
    bomb = patch_png_size(small, 20000, 20000)  # 400 Mpx claimed, a few hundred bytes on disk
    with pytest.raises(ImageTooLargeError, match=r"^<bytes>: .*400,000,000 pixels.*limit"):
        load_image(bomb)


def test_a_photo_beyond_the_limit_is_refused_with_the_size_to_downsample_to() -> None:
    # headers only: a 200 MP phone photo (16320 x 12240) is beyond Pillow's own bomb limit and
    # refused on opening, with the factor; a 121 MP one (12600 x 9600) by texturecmp's limit,
    # with a size that fits it (12600 / 1.0998 = 11456.4, 9600 / 1.0998 = 8728.7, floored)
    small = pil_bytes(PIL.Image.new("L", (64, 64)), "PNG")
    with pytest.raises(ImageTooLargeError, match=r"199,756,800 pixels.*Downsample it \(1/1\.41 per side"):
        load_image(patch_png_size(small, 16320, 12240))
    with pytest.raises(ImageTooLargeError, match=r"121\.0 megapixels.*Downsample it to at most 11456x8728 pixels "
                                                 r"\(1/1\.10 per side"):
        load_image(patch_png_size(small, 12600, 9600))
    assert 11456 * 8728 <= 100_000_000


def test_bomb_below_pillow_error_limit_uses_texturecmp_limit_without_warning() -> None:
    small = pil_bytes(PIL.Image.new("L", (64, 64)), "PNG")
    bomb = patch_png_size(small, 12000, 8000)  # 96 Mpx: a Pillow warning, not a Pillow error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageTooLargeError, match=r"12000x8000 pixels .*90,000,000 pixels"):
            load_image(bomb, max_pixels=90_000_000)


def test_max_pixels_parameter() -> None:
    data = pil_bytes(PIL.Image.fromarray(rand_u8(200, 200)), "PNG")
    with pytest.raises(ImageTooLargeError, match=r"200x200 pixels.*10,000 pixels"):
        load_image(data, max_pixels=100 * 100)
    assert load_image(data, max_pixels=200 * 200).shape == (200, 200)


def test_array_too_large() -> None:
    with pytest.raises(ImageTooLargeError, match="limit"):
        load_image(np.zeros((100, 100, 3), np.uint8), max_pixels=5000)


def test_tiny_image() -> None:
    data = pil_bytes(PIL.Image.fromarray(rand_u8(32, 32)), "PNG")
    with pytest.raises(ImageTooSmallError, match=r"^tiny\.png: image is 32x32 pixels.*at least 64x64"):
        load_image(data, name="tiny.png")


def test_too_narrow_image_and_min_size() -> None:
    arr = rand_u8(100, 40)
    with pytest.raises(ImageTooSmallError, match="40x100"):
        load_image(arr)
    assert load_image(arr, min_size=32).shape == (100, 40)


def test_nan_array() -> None:
    arr = np.full((64, 64, 3), 0.5, np.float32)
    arr[3, 4, 1] = np.nan
    with pytest.raises(UnreadableImageError, match=r"^<array>: .*NaN"):
        load_image(arr)


def test_inf_array() -> None:
    arr = np.full((64, 64, 3), 0.5, np.float64)
    arr[0, 0, 0] = np.inf
    with pytest.raises(UnreadableImageError, match="inf"):
        load_image(arr)


def test_float_array_out_of_range() -> None:
    arr = np.full((64, 64, 3), 0.5, np.float32)
    arr[1, 1, 1] = 1.5
    with pytest.raises(UnreadableImageError, match=r"within \[0, 1\].*1\.5"):
        load_image(arr)
    with pytest.raises(UnreadableImageError, match=r"within \[0, 1\]"):
        load_image(arr - 0.6)


@pytest.mark.parametrize("shape", [(64, 64, 2), (4096,), (2, 64, 64, 3), (64, 64, 5)])
def test_wrong_array_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(UnreadableImageError, match=r"shape \(" + ", ".join(map(str, shape))):
        load_image(np.zeros(shape, np.uint8), name="arr")


@pytest.mark.parametrize("dtype", [bool, np.int32, np.complex64])
def test_unsupported_array_dtype(dtype: type) -> None:
    with pytest.raises(UnreadableImageError, match="boolean|dtype"):
        load_image(np.zeros((64, 64, 3), dtype))


def test_transparent_rgba_png() -> None:
    rgba = np.dstack([rand_u8(), np.full((64, 80), 255, np.uint8)])
    rgba[:16, :, 3] = 0  # 25 % of the image fully transparent
    with pytest.raises(UnreadableImageError, match=r"transparent pixels \(25 % of the image\).*opaque photo"):
        load_image(pil_bytes(PIL.Image.fromarray(rgba), "PNG"))


def test_single_semi_transparent_pixel_refused() -> None:
    rgba = np.dstack([rand_u8(), np.full((64, 80), 255, np.uint8)])
    rgba[10, 10, 3] = 254
    with pytest.raises(UnreadableImageError, match=r"transparent pixels \(0\.02 % of the image\)"):
        load_image(pil_bytes(PIL.Image.fromarray(rgba), "PNG"))
    with pytest.raises(UnreadableImageError, match="transparent pixels"):
        load_image(rgba)


def test_transparent_palette_png() -> None:
    index = RNG.integers(0, 4, (64, 80), dtype=np.uint8)  # index 2 (transparent) is used
    pal = PIL.Image.frombytes("P", (80, 64), index.tobytes())
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    with pytest.raises(UnreadableImageError, match="transparent pixels"):
        load_image(pil_bytes(pal, "PNG", transparency=2))


def test_transparent_16bit_rgba_png() -> None:
    rgba = np.concatenate([u16_low_byte_pattern(), np.full((64, 80, 1), 65535, np.uint16)], axis=2)
    rgba[0, 0, 3] = 65534
    with pytest.raises(UnreadableImageError, match="transparent pixels"):
        load_image(raw_png(rgba, color_type=6))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableImageError, match=r"^nope\.jpg: no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(UnreadableImageError, match=r"^before: no such file"):
        load_image(str(tmp_path / "nope.jpg"), name="before")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(UnreadableImageError, match="is a directory"):
        load_image(tmp_path)


def test_unsupported_source_type() -> None:
    with pytest.raises(TypeError, match="int"):
        load_image(42)  # type: ignore[arg-type]


def test_text_mode_file_object(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(pil_bytes(PIL.Image.fromarray(rand_u8()), "PNG"))
    with open(path, encoding="latin-1") as handle, pytest.raises(TypeError, match="binary mode"):
        load_image(handle)


def test_errors_are_texturecmp_errors() -> None:
    for bad in (b"", b"text", np.zeros((8, 8, 3), np.uint8)):
        with pytest.raises(TextureCmpError):
            load_image(bad)


# ----------------------------------------------------------------------------- valid unusual inputs


def test_16bit_png_rgb_keeps_low_byte() -> None:
    arr = u16_low_byte_pattern()
    data = cv2.imencode(".png", arr[..., ::-1])[1].tobytes()  # cv2 wants BGR
    img = load_image(data)
    assert (img.format, img.bit_depth) == ("PNG", 16)
    np.testing.assert_array_equal(img.rgb, (arr / 65535).astype(np.float32))
    assert len(np.unique(img.rgb[..., 0])) > 200  # would collapse to one level through 8 bits


def test_16bit_png_grayscale() -> None:
    gray = u16_low_byte_pattern(c=1)[..., 0]
    img = load_image(pil_bytes(PIL.Image.fromarray(gray), "PNG"))
    assert img.bit_depth == 16
    expected = (gray / 65535).astype(np.float32)
    for ch in range(3):
        np.testing.assert_array_equal(img.rgb[..., ch], expected)


def test_16bit_png_gray_alpha_opaque() -> None:
    gray = u16_low_byte_pattern(c=1)
    la = np.concatenate([gray, np.full_like(gray, 65535)], axis=2)
    img = load_image(raw_png(la, color_type=4))
    assert img.bit_depth == 16
    np.testing.assert_array_equal(img.rgb, np.repeat(gray / 65535, 3, axis=2).astype(np.float32))


def test_16bit_png_rgb_handwritten_matches() -> None:
    arr = u16_low_byte_pattern()
    img = load_image(raw_png(arr, color_type=2))
    np.testing.assert_array_equal(img.rgb, (arr / 65535).astype(np.float32))


def test_16bit_tiff_rgb() -> None:
    arr = u16_low_byte_pattern()
    img = load_image(cv2.imencode(".tiff", arr[..., ::-1])[1].tobytes())
    assert (img.format, img.bit_depth) == ("TIFF", 16)
    np.testing.assert_array_equal(img.rgb, (arr / 65535).astype(np.float32))


def test_16bit_tiff_grayscale() -> None:
    gray = u16_low_byte_pattern(c=1)[..., 0]
    img = load_image(pil_bytes(PIL.Image.fromarray(gray), "TIFF"))
    assert (img.format, img.bit_depth) == ("TIFF", 16)
    np.testing.assert_array_equal(img.rgb[..., 1], (gray / 65535).astype(np.float32))


def test_8bit_tiff_rgb() -> None:
    arr = rand_u8()
    img = load_image(pil_bytes(PIL.Image.fromarray(arr), "TIFF", compression="tiff_lzw"))
    assert (img.format, img.bit_depth) == ("TIFF", 8)
    np.testing.assert_array_equal(image_to_uint8(img.rgb), arr)


def test_8bit_grayscale_png() -> None:
    gray = rand_u8(c=None)
    img = load_image(pil_bytes(PIL.Image.fromarray(gray), "PNG"))
    assert img.rgb.shape == (64, 80, 3)
    assert np.array_equal(img.rgb[..., 0], img.rgb[..., 1]) and np.array_equal(img.rgb[..., 1], img.rgb[..., 2])
    np.testing.assert_array_equal(image_to_uint8(img.rgb[..., 0]), gray)


def test_1bit_png() -> None:
    bits = rand_u8(c=None) > 127
    img = load_image(pil_bytes(PIL.Image.fromarray(bits), "PNG"))
    np.testing.assert_array_equal(img.rgb[..., 2], bits.astype(np.float32))


def test_palette_png() -> None:
    palette = np.array([[10, 20, 30], [200, 100, 50], [0, 255, 0], [255, 255, 255]], np.uint8)
    index = RNG.integers(0, 4, (64, 80), dtype=np.uint8)
    pal = PIL.Image.frombytes("P", (80, 64), index.tobytes())
    pal.putpalette(palette.ravel().tolist())
    img = load_image(pil_bytes(pal, "PNG"))
    np.testing.assert_array_equal(image_to_uint8(img.rgb), palette[index])


def test_palette_png_with_unused_transparent_index_is_fine() -> None:
    index = RNG.integers(0, 3, (64, 80), dtype=np.uint8)
    pal = PIL.Image.frombytes("P", (80, 64), index.tobytes())
    pal.putpalette([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0])
    img = load_image(pil_bytes(pal, "PNG", transparency=3))
    assert img.shape == (64, 80)


def test_opaque_rgba_and_la_png() -> None:
    rgb = rand_u8()
    rgba = np.dstack([rgb, np.full((64, 80), 255, np.uint8)])
    img = load_image(pil_bytes(PIL.Image.fromarray(rgba), "PNG"))
    np.testing.assert_array_equal(image_to_uint8(img.rgb), rgb)
    la = PIL.Image.fromarray(rgba).convert("LA")
    img = load_image(pil_bytes(la, "PNG"))
    np.testing.assert_array_equal(image_to_uint8(img.rgb[..., 0]), np.asarray(la)[..., 0])


def test_cmyk_jpeg() -> None:
    rgb = smooth_u8()
    img = load_image(pil_bytes(PIL.Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95))
    assert img.format == "JPEG"
    assert np.abs(img.rgb * 255 - rgb).max() <= 6


def test_cmyk_tiff_exact() -> None:
    rgb = rand_u8()
    img = load_image(pil_bytes(PIL.Image.fromarray(rgb).convert("CMYK"), "TIFF"))
    np.testing.assert_array_equal(image_to_uint8(img.rgb), rgb)


def _corner_image() -> np.ndarray:
    """96 wide x 64 high, dark grey, with a red block in the stored top-left corner."""
    arr = np.full((64, 96, 3), 60, np.uint8)
    arr[:16, :16] = (255, 0, 0)
    return arr


def test_exif_orientation_6_jpeg() -> None:
    pil = PIL.Image.fromarray(_corner_image())
    exif = pil.getexif()
    exif[0x0112] = 6
    img = load_image(pil_bytes(pil, "JPEG", quality=95, exif=exif))
    assert img.exif_orientation == 6
    assert (img.width, img.height) == (64, 96)  # swapped
    # orientation 6 = rotate 90 degrees clockwise for display: stored top-left goes to the top-right
    top_right = img.rgb[:16, -16:].mean(axis=(0, 1))
    assert top_right[0] > 0.9 and top_right[1] < 0.1
    assert img.rgb[:16, :16, 0].mean() < 0.4  # the top-left is now grey
    assert img.to_dict()["exif_orientation"] == 6


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow_exif_transpose(orientation: int) -> None:
    pil = PIL.Image.fromarray(rand_u8(64, 96))
    exif = pil.getexif()
    exif[0x0112] = orientation
    data = pil_bytes(pil, "PNG", exif=exif)
    img = load_image(data)
    expected = np.asarray(PIL.ImageOps.exif_transpose(PIL.Image.open(io.BytesIO(data))))
    assert img.exif_orientation == orientation
    np.testing.assert_array_equal(image_to_uint8(img.rgb), expected)


def test_webp_lossless_exact() -> None:
    rgb = rand_u8()
    img = load_image(pil_bytes(PIL.Image.fromarray(rgb), "WEBP", lossless=True))
    assert img.format == "WEBP"
    np.testing.assert_array_equal(image_to_uint8(img.rgb), rgb)


def test_heic() -> None:
    rgb = smooth_u8()
    img = load_image(pil_bytes(PIL.Image.fromarray(rgb), "HEIF", quality=-1, chroma=444), name="IMG_0001.HEIC")
    assert (img.format, img.bit_depth, img.source) == ("HEIF", 8, "IMG_0001.HEIC")
    # lossless HEIC still goes through a YCbCr conversion: within 2 levels
    assert np.abs(img.rgb * 255 - rgb).max() <= 2


def test_heic_orientation_applied_once() -> None:
    pil = PIL.Image.fromarray(_corner_image())
    exif = pil.getexif()
    exif[0x0112] = 6
    img = load_image(pil_bytes(pil, "HEIF", quality=-1, chroma=444, exif=exif.tobytes()))
    assert (img.width, img.height) == (64, 96)
    assert img.exif_orientation == 6
    assert img.rgb[:16, -16:, 0].mean() > 0.9


def test_bytes_path_file_object_agree(tmp_path: Path) -> None:
    data = pil_bytes(PIL.Image.fromarray(rand_u8()), "JPEG", quality=90)
    path = tmp_path / "before.jpg"
    path.write_bytes(data)
    from_path = load_image(path)
    from_str = load_image(str(path))
    from_bytes = load_image(data)
    from_bytearray = load_image(bytearray(data))
    from_memoryview = load_image(memoryview(data))
    with open(path, "rb") as handle:
        from_file = load_image(handle)
    from_bytesio = load_image(io.BytesIO(data))
    images = [from_path, from_str, from_bytes, from_bytearray, from_memoryview, from_file, from_bytesio]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for img in images:
        assert img.sha256 == digest
        np.testing.assert_array_equal(img.rgb, from_path.rgb)
    assert [img.source for img in images] == [
        "before.jpg", "before.jpg", "<bytes>", "<bytes>", "<bytes>", "before.jpg", "<file>",
    ]
    assert load_image(data, name="visit-2").source == "visit-2"


def test_image_passed_through_unchanged() -> None:
    img = load_image(rand_u8())
    assert isinstance(img, Image)
    assert load_image(img) is img
    assert load_image(img, name="other", max_pixels=10) is img


def test_image_invariants_and_to_dict() -> None:
    img = load_image(pil_bytes(PIL.Image.fromarray(rand_u8(70, 90)), "PNG"), name="a.png")
    assert img.rgb.dtype == np.float32 and img.rgb.flags.c_contiguous
    assert not img.rgb.flags.writeable
    with pytest.raises(ValueError):
        img.rgb[0, 0, 0] = 1.0
    assert (img.height, img.width, img.shape, img.n_pixels) == (70, 90, (70, 90), 6300)
    d = img.to_dict()
    assert d == {
        "sha256": img.sha256, "source": "a.png", "format": "PNG", "bit_depth": 8,
        "width": 90, "height": 70, "exif_orientation": 1, "icc_profile": None, "jpeg_dc_step": None,
    }
    json.dumps(d)
    assert "a.png" in repr(img) and "90x70" in repr(img)


def test_rotated_image_is_c_contiguous() -> None:
    pil = PIL.Image.fromarray(rand_u8(64, 96))
    exif = pil.getexif()
    exif[0x0112] = 8
    img = load_image(pil_bytes(pil, "PNG", exif=exif))
    assert img.rgb.flags.c_contiguous and img.shape == (96, 64)


def test_arrays_of_every_dtype() -> None:
    u8 = rand_u8()
    np.testing.assert_array_equal(load_image(u8).rgb, (u8 / 255).astype(np.float32))
    assert load_image(u8).bit_depth == 8 and load_image(u8).format is None
    u16 = u16_low_byte_pattern()
    img16 = load_image(u16)
    assert img16.bit_depth == 16
    np.testing.assert_array_equal(img16.rgb, (u16 / 65535).astype(np.float32))
    f64 = RNG.random((64, 80, 3))
    img = load_image(f64)
    assert img.bit_depth == 32
    np.testing.assert_array_equal(img.rgb, f64.astype(np.float32))
    f16 = f64.astype(np.float16)
    np.testing.assert_array_equal(load_image(f16).rgb, f16.astype(np.float32))
    gray = rand_u8(c=None)
    rgb = load_image(gray).rgb
    for ch in range(3):
        np.testing.assert_array_equal(rgb[..., ch], (gray / 255).astype(np.float32))
    np.testing.assert_array_equal(load_image(gray[..., None]).rgb, rgb)
    rgba = np.dstack([u8, np.full((64, 80), 255, np.uint8)])
    np.testing.assert_array_equal(load_image(rgba).rgb, load_image(u8).rgb)
    assert load_image(np.ones((64, 80, 3))).rgb.max() == 1.0


def test_array_input_is_copied_and_not_frozen() -> None:
    arr = RNG.random((64, 64, 3)).astype(np.float32)
    img = load_image(arr)
    assert arr.flags.writeable
    arr[:] = 0
    assert img.rgb.max() > 0


def test_array_sha256_is_canonical() -> None:
    arr = rand_u8()
    expected = hashlib.sha256(b"|u1(64, 80, 3)" + arr.tobytes()).hexdigest()
    assert load_image(arr).sha256 == expected
    assert load_image(np.asfortranarray(arr)).sha256 == expected
    u16 = u16_low_byte_pattern()
    assert load_image(u16.astype(">u2")).sha256 == load_image(u16).sha256
    assert load_image(u16).sha256 != load_image(u16.astype(np.float32) / 65535).sha256


def test_pillow_globals_untouched() -> None:
    assert PIL.ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert PIL.Image.MAX_IMAGE_PIXELS == 89478485
    assert MAX_PIXELS == 100_000_000 and MIN_SIZE == 64


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h=st.integers(64, 90),
    w=st.integers(64, 90),
    channels=st.sampled_from([None, 3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_uint8_round_trip_property(h: int, w: int, channels: int | None, seed: int) -> None:
    shape = (h, w) if channels is None else (h, w, channels)
    arr = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    rgb = arr if channels else np.repeat(arr[..., None], 3, axis=2)
    img = load_image(arr)
    np.testing.assert_array_equal(image_to_uint8(img.rgb), rgb)
    again = load_image(encode_png(arr))  # through a PNG file
    np.testing.assert_array_equal(again.rgb, img.rgb)


# ----------------------------------------------------------------------------- load_mask


def test_mask_array_right_shape() -> None:
    arr = np.zeros((64, 80), np.uint8)
    arr[10:20, 5:9] = 3
    mask = load_mask(arr, shape=(64, 80))
    assert mask.dtype == bool and mask.shape == (64, 80) and mask.sum() == 40
    assert load_mask(arr.astype(bool), shape=(64, 80)).sum() == 40
    assert load_mask(arr.astype(np.float32) / 3, shape=(64, 80)).sum() == 40


def test_mask_wrong_shape() -> None:
    with pytest.raises(BadMaskError, match=r"^lesion: mask is 100x80 pixels but the image is 1024x768; expected the same size"):
        load_mask(np.ones((80, 100), bool), shape=(768, 1024), name="lesion")


def test_mask_empty() -> None:
    with pytest.raises(BadMaskError, match=r"^lesion: mask is empty \(no pixel inside\)"):
        load_mask(np.zeros((64, 80), bool), shape=(64, 80), name="lesion")


def test_mask_nan() -> None:
    arr = np.ones((64, 80), np.float64)
    arr[5, 5] = np.nan
    with pytest.raises(BadMaskError, match="roi: .*NaN"):
        load_mask(arr, shape=(64, 80), name="roi")


def test_mask_not_2d() -> None:
    with pytest.raises(BadMaskError, match="2-D"):
        load_mask(np.ones((64, 80, 3), bool), shape=(64, 80))


def test_mask_from_png_file(tmp_path: Path) -> None:
    arr = np.zeros((64, 80), np.uint8)
    arr[20:40, 30:50] = 255
    arr[0, 0] = 127  # at the threshold: outside
    path = tmp_path / "lesion.png"
    path.write_bytes(pil_bytes(PIL.Image.fromarray(arr), "PNG"))
    mask = load_mask(path, shape=(64, 80), name="lesion")
    np.testing.assert_array_equal(mask, arr > 127)
    np.testing.assert_array_equal(load_mask(path.read_bytes(), shape=(64, 80)), mask)
    with pytest.raises(BadMaskError, match=r"^lesion \(lesion\.png\): mask is 80x64 pixels but the image is 64x80"):
        load_mask(path, shape=(80, 64), name="lesion")


def test_mask_from_rgb_and_16bit_png() -> None:
    rgb = np.zeros((64, 80, 3), np.uint8)
    rgb[5:15, 5:15] = (255, 255, 255)
    mask = load_mask(pil_bytes(PIL.Image.fromarray(rgb), "PNG"), shape=(64, 80))
    assert mask.sum() == 100 and mask[5:15, 5:15].all()
    gray16 = np.zeros((64, 80), np.uint16)
    gray16[:8, :8] = 65535
    gray16[8, 8] = 32767
    mask = load_mask(pil_bytes(PIL.Image.fromarray(gray16), "PNG"), shape=(64, 80))
    assert mask.sum() == 64


def test_mask_exif_orientation() -> None:
    arr = np.zeros((64, 96), np.uint8)
    arr[:10, :10] = 255
    pil = PIL.Image.fromarray(arr)
    exif = pil.getexif()
    exif[0x0112] = 6
    mask = load_mask(pil_bytes(pil, "PNG", exif=exif), shape=(96, 64))
    assert mask[:10, -10:].all() and mask.sum() == 100


def test_mask_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "roi.png"
    path.write_bytes(b"not a png at all")
    with pytest.raises(BadMaskError, match=r"^roi \(roi\.png\): is not an image"):
        load_mask(path, shape=(64, 80), name="roi")
    with pytest.raises(BadMaskError, match="no such file"):
        load_mask(tmp_path / "missing.png", shape=(64, 80), name="roi")
    good = pil_bytes(PIL.Image.fromarray(np.full((64, 80), 255, np.uint8)), "PNG")
    with pytest.raises(BadMaskError, match="truncated or corrupt"):
        load_mask(good[: len(good) // 2], shape=(64, 80), name="roi")


# ----------------------------------------------------------------------------- encode_png / image_to_uint8


@pytest.mark.parametrize(
    "arr",
    [rand_u8(), rand_u8(c=None), u16_low_byte_pattern(), u16_low_byte_pattern(c=1)[..., 0],
     np.dstack([rand_u8(), np.full((64, 80), 255, np.uint8)])],
    ids=["rgb8", "gray8", "rgb16", "gray16", "rgba8"],
)
def test_encode_png_round_trip_and_no_metadata(arr: np.ndarray) -> None:
    png = encode_png(arr)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks = png_chunk_types(png)
    assert not {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME", b"iCCP"} & set(chunks), chunks
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded.ndim == 3:
        decoded = decoded[..., [2, 1, 0, 3][: decoded.shape[2]]]
    np.testing.assert_array_equal(decoded, arr)
    if arr.ndim == 3 and arr.shape[2] == 3:
        expected = (arr / (65535 if arr.dtype == np.uint16 else 255)).astype(np.float32)
        np.testing.assert_array_equal(load_image(png).rgb, expected)


def test_encode_png_float_and_bool() -> None:
    f = RNG.random((64, 80, 3)).astype(np.float32)
    decoded = np.asarray(PIL.Image.open(io.BytesIO(encode_png(f))))
    np.testing.assert_array_equal(decoded, image_to_uint8(f))
    mask = rand_u8(c=None) > 100
    decoded = np.asarray(PIL.Image.open(io.BytesIO(encode_png(mask))))
    np.testing.assert_array_equal(decoded, mask.astype(np.uint8) * 255)
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(TypeError, match="dtype"):
        encode_png(np.zeros((64, 64), np.int64))


def test_encode_png_drops_source_exif() -> None:
    pil = PIL.Image.fromarray(rand_u8())
    exif = pil.getexif()
    exif[0x010F] = "SecretCam"  # Make
    img = load_image(pil_bytes(pil, "JPEG", exif=exif))
    png = encode_png(img.rgb)
    assert b"SecretCam" not in png and b"eXIf" not in png


def test_image_to_uint8_rounds_and_clips() -> None:
    values = np.array([-0.5, 0.0, 0.4 / 255, 0.6 / 255, 0.5, 254.4 / 255, 1.0, 3.0], np.float32)
    np.testing.assert_array_equal(image_to_uint8(values), [0, 0, 0, 1, 128, 254, 255, 255])
    with pytest.raises(ValueError, match="NaN"):
        image_to_uint8(np.array([np.nan]))
    u8 = rand_u8()
    assert image_to_uint8(u8) is not u8 and np.array_equal(image_to_uint8(u8), u8)


def test_image_constructor_validates_and_freezes() -> None:
    with pytest.raises(ValueError, match="float32"):
        Image(rgb=np.zeros((64, 64, 3)), sha256="0" * 64, source="x", format=None, bit_depth=32)
    with pytest.raises(ValueError, match="contiguous"):
        Image(rgb=np.zeros((64, 64, 3), np.float32)[:, ::2], sha256="0" * 64, source="x", format=None, bit_depth=32)
    rgb = np.zeros((64, 64, 3), np.float32)
    img = Image(rgb=rgb, sha256="0" * 64, source="x", format=None, bit_depth=32)
    assert not img.rgb.flags.writeable and img.exif_orientation == 1


# ----------------------------------------------------------------------------- damaged data, odd depths


def _sof_patched(jpeg: bytes, height: int, width: int | None = None) -> bytes:
    """Rewrite the frame header's height (and width) of a baseline JPEG, pixel data untouched."""
    i = jpeg.find(b"\xff\xc0")
    assert i > 0
    w = struct.unpack(">H", jpeg[i + 7 : i + 9])[0] if width is None else width
    return jpeg[: i + 5] + struct.pack(">HH", height, w) + jpeg[i + 9 :]


def _blurred_jpeg(h: int = 240, w: int = 320, mode: str = "RGB", **kwargs) -> bytes:
    img = PIL.Image.fromarray(cv2.GaussianBlur(rand_u8(h, w, 3), (0, 0), 2)).convert(mode)
    return pil_bytes(img, "JPEG", quality=90, **kwargs)


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])  # OpenCV's fast path, Pillow's path (x2)
@pytest.mark.parametrize("progressive", [False, True])
def test_cut_jpeg_with_its_end_marker_appended_is_refused(mode: str, progressive: bool) -> None:
    # libjpeg fills the blocks after the cut with a flat colour (49 % grey) and only warns
    data = _blurred_jpeg(mode=mode, progressive=progressive)
    assert load_image(data).shape == (240, 320)
    cut = data[: len(data) // 2] + b"\xff\xd9"
    with pytest.raises(UnreadableImageError, match=r"^follow-up\.jpg: image is truncated or corrupt"):
        load_image(cut, name="follow-up.jpg")


def test_jpeg_whose_frame_header_claims_more_rows_is_refused() -> None:
    data = _blurred_jpeg()
    with pytest.raises(UnreadableImageError, match=r"^tall\.jpg: image is truncated or corrupt"):
        load_image(_sof_patched(data, 480), name="tall.jpg")


def test_small_jpeg_claiming_100_mp_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    # 8 KB that claim 10000 x 10000 pixels used to decode to 100 MP of grey (3.3 GB, 18 s measured)
    bomb = _sof_patched(_blurred_jpeg(), 10000, 10000)[:8000] + b"\xff\xd9"

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the header cannot be true")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(UnreadableImageError, match=r"^bomb\.jpg: .*claims 10000x10000 pixels, more than the 8,002 bytes"):
        load_image(bomb, name="bomb.jpg")


def test_png_whose_header_claims_more_rows_is_refused() -> None:
    # a complete zlib stream of 120 rows under a header of 240: Pillow leaves 120 rows black
    data = pil_bytes(PIL.Image.fromarray(rand_u8(120, 160)), "PNG")
    with pytest.raises(UnreadableImageError, match=r"^tall\.png: .*holds 50 % of the 160x240 pixels"):
        load_image(patch_png_size(data, 160, 240), name="tall.png")
    # a complete PNG whose last rows are black is a photo like any other
    arr = rand_u8(120, 160)
    arr[-10:] = 0
    np.testing.assert_array_equal(load_image(pil_bytes(PIL.Image.fromarray(arr), "PNG")).rgb8, arr)


def _patch_tiff_height(tiff: bytes, height: int) -> bytes:
    """Rewrite ImageLength (tag 257) of a little-endian TIFF's first directory."""
    assert tiff[:4] == b"II*\x00"
    (ifd,) = struct.unpack("<I", tiff[4:8])
    (n,) = struct.unpack("<H", tiff[ifd : ifd + 2])
    out = bytearray(tiff)
    for k in range(n):
        e = ifd + 2 + 12 * k
        tag, typ = struct.unpack("<HH", tiff[e : e + 4])
        if tag == 257:
            out[e + 8 : e + 12] = struct.pack("<HH", height, 0) if typ == 3 else struct.pack("<I", height)
    return bytes(out)


@pytest.mark.parametrize("compression", [None, "tiff_lzw", "tiff_adobe_deflate", "packbits"])
def test_tiff_whose_header_claims_more_rows_is_refused_quietly(compression: str | None,
                                                                capfd: pytest.CaptureFixture[str]) -> None:
    kwargs = {"compression": compression} if compression else {}
    data = pil_bytes(PIL.Image.fromarray(cv2.GaussianBlur(rand_u8(120, 160), (0, 0), 2)), "TIFF", **kwargs)
    assert load_image(data).shape == (120, 160)
    with pytest.raises(UnreadableImageError, match=r"^tall\.tif: image is truncated or corrupt"):
        load_image(_patch_tiff_height(data, 240), name="tall.tif")
    # libtiff's own complaint ("LZWDecode: Not enough data at scanline ...") stays off stderr
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "name, make",
    [
        ("flat lossless WebP", lambda im: pil_bytes(im, "WEBP", lossless=True)),
        ("flat lossy WebP", lambda im: pil_bytes(im, "WEBP", quality=90)),
        ("flat HEIC", lambda im: pil_bytes(im, "HEIF", quality=90)),
        ("flat JPEG", lambda im: pil_bytes(im, "JPEG", quality=95)),
        ("black progressive gray JPEG", lambda im: pil_bytes(im.convert("L").point(lambda v: 0), "JPEG", progressive=True)),
        ("black gray PNG", lambda im: pil_bytes(im.convert("L").point(lambda v: 0), "PNG", optimize=True)),
        ("black 1-bit PNG", lambda im: pil_bytes(im.convert("1").point(lambda v: 0), "PNG", optimize=True)),
        ("flat deflate TIFF", lambda im: pil_bytes(im, "TIFF", compression="tiff_adobe_deflate")),
        ("flat LZW TIFF", lambda im: pil_bytes(im, "TIFF", compression="tiff_lzw")),
    ],
)
def test_highly_compressible_flat_images_stay_accepted(name: str, make) -> None:
    # the densest genuine files of each coding (up to 25 000 pixels per byte for lossless WebP)
    im = PIL.Image.new("RGB", (2400, 1600), (182, 121, 99))
    data = make(im)
    assert 2400 * 1600 / len(data) > 20, name  # the bound is exercised, not a dense file
    assert load_image(data).shape == (1600, 2400)


def tiff_packed(arr: np.ndarray, bits: int, extra: tuple[tuple[int, int, int, int], ...] = ()) -> bytes:
    """An uncompressed little-endian gray TIFF whose samples are packed MSB-first at ``bits``
    bits (16-bit samples little-endian, as the byte order says)."""
    h, w = arr.shape
    pad = -w * bits % 8
    bitfield = ((arr.astype(np.uint32)[..., None] >> np.arange(bits - 1, -1, -1)) & 1).reshape(h, w * bits)
    bitfield = np.concatenate([bitfield, np.zeros((h, pad), np.uint32)], axis=1).astype(np.uint8)
    data = arr.astype("<u2").tobytes() if bits == 16 else np.packbits(bitfield, axis=1).tobytes()
    tags = sorted([(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, bits), (259, 3, 1, 1), (262, 3, 1, 1),
                   (273, 4, 1, 0), (277, 3, 1, 1), (278, 3, 1, h), (279, 4, 1, len(data)), *extra])
    offset = 8 + 2 + 12 * len(tags) + 4
    out = b"II*\x00" + struct.pack("<IH", 8, len(tags))
    for tag, typ, count, value in tags:
        value = offset if tag == 273 else value
        out += struct.pack("<HHI", tag, typ, count) + (struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value))
    return out + b"\0\0\0\0" + data


def test_12_bit_tiff_is_scaled_by_its_12_bit_range() -> None:
    # known answer: 12-bit codes 0, 2048 and 4095 are black, 50 % and full scale (read as
    # 16-bit they came out 16 times too dark: 4095 / 65535 = 0.062)
    codes = np.zeros((64, 96), np.uint16)
    codes[:, 32:64], codes[:, 64:] = 2048, 4095
    img = load_image(tiff_packed(codes, 12))
    assert img.bit_depth == 16
    # float32 of k / 4095: exact to 1 ulp
    np.testing.assert_allclose(img.rgb[0, [0, 40, 90], 0], [0.0, 2048 / 4095, 1.0], rtol=1e-6, atol=0)
    # a 16-bit TIFF that declares 12-bit data by SMaxSampleValue = 4095 reads the same
    sixteen = tiff_packed(codes, 16, extra=((341, 3, 1, 4095),))
    np.testing.assert_allclose(load_image(sixteen).rgb[0, [0, 40, 90], 0], [0.0, 2048 / 4095, 1.0], rtol=1e-6, atol=0)
    # without it, 16-bit data keeps the 16-bit range
    np.testing.assert_allclose(load_image(tiff_packed(codes, 16)).rgb[0, 90, 0], 4095 / 65535, rtol=1e-6)


@pytest.mark.parametrize(
    "values, match",
    [(np.nan, r"NaN or inf values \(12288 NaN, 0 inf\)"), (np.inf, r"\(0 NaN, 12288 inf\)"),
     (1.5, r"within \[0, 1\].*1\.5"), (-0.1, r"within \[0, 1\]")],
)
def test_hand_built_image_refuses_pixels_no_photo_has(values: float, match: str) -> None:
    # an all-NaN Image used to be measured (colour L* = 100)
    rgb = np.full((64, 64, 3), values, np.float32)
    with pytest.raises(UnreadableImageError, match=match):
        Image(rgb=rgb, sha256="0" * 64, source="x", format=None, bit_depth=32)
    with pytest.raises(UnreadableImageError, match="no pixels"):
        Image(rgb=np.zeros((0, 64, 3), np.float32), sha256="0" * 64, source="x")


def test_device_and_fifo_are_refused_without_reading(tmp_path: Path) -> None:
    with pytest.raises(UnreadableImageError, match=r"^zero: is a device, not an image file"):
        load_image("/dev/zero")
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableImageError, match=r"^photo\.jpg: is a FIFO"):
        load_image(fifo)  # opening it would block until a writer comes
    with open("/dev/zero", "rb") as fh, pytest.raises(UnreadableImageError, match="is a device"):
        load_image(fh)


# ----------------------------------------------------------------------------- embedded ICC profiles

_D50 = np.array([0.9642, 1.0, 0.8249])
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def _colorants_d50(primaries: list[tuple[float, float]], white: tuple[float, float]) -> np.ndarray:
    """RGB -> PCS XYZ (D50) matrix of RGB primaries and white (xy), Bradford-adapted as ICC profiles store it."""
    xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]).T
    w = np.array([white[0] / white[1], 1.0, (1 - white[0] - white[1]) / white[1]])
    m = xyz * np.linalg.solve(xyz, w)
    adapt = np.linalg.inv(_BRADFORD) @ np.diag((_BRADFORD @ _D50) / (_BRADFORD @ w)) @ _BRADFORD
    return adapt @ m


P3_TO_PCS = _colorants_d50([(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)], (0.3127, 0.3290))
SRGB_TO_PCS = _colorants_d50([(0.640, 0.330), (0.300, 0.600), (0.150, 0.060)], (0.3127, 0.3290))


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def icc_matrix_profile(name: str, to_pcs: np.ndarray) -> bytes:
    """An ICC v4 RGB display profile: colorants ``to_pcs``, sRGB's tone curve (parametric type 3)."""
    text = name.encode("utf-16-be")
    desc = b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(text), 28) + text
    trc = b"para" + b"\0" * 4 + struct.pack(">HH", 3, 0) + b"".join(
        _s15f16(v) for v in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
    xyz = lambda v: b"XYZ " + b"\0" * 4 + b"".join(_s15f16(c) for c in v)  # noqa: E731
    tags = [(b"desc", desc), (b"wtpt", xyz(_D50)), (b"rXYZ", xyz(to_pcs[:, 0])), (b"gXYZ", xyz(to_pcs[:, 1])),
            (b"bXYZ", xyz(to_pcs[:, 2])), (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([4, 0x30, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp"
              + b"\0" * 24 + struct.pack(">I", 0) + b"".join(_s15f16(c) for c in _D50) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def _encode_srgb_curve(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def _decode_srgb_curve(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


# sRGB truth: skin tones from pale to dark, a scar red, and saturated primaries inside the sRGB gamut
KNOWN_SRGB = np.array([[0.87, 0.72, 0.63], [0.78, 0.57, 0.47], [0.55, 0.37, 0.28], [0.36, 0.23, 0.17],
                       [0.80, 0.42, 0.40], [0.85, 0.15, 0.15], [0.20, 0.60, 0.25], [0.20, 0.30, 0.75]])


def _patch_photo(values: np.ndarray, size: int = 16) -> np.ndarray:
    """A 64-row photo of one square patch per colour (uint16 codes), 16 x 16 pixels each, repeated."""
    row = np.repeat(values[None], size, axis=0).repeat(size, axis=1)  # (size, n*size, 3)
    return np.tile(row, (64 // size, 1, 1))


def _png_with_icc(codes: np.ndarray, icc: bytes | None, bit_depth: int) -> bytes:
    h, w = codes.shape[:2]
    big = codes.astype(">u2" if bit_depth == 16 else np.uint8).reshape(h, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in big)
    chunks = [png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, 2, 0, 0, 0))]
    if icc is not None:
        chunks.append(png_chunk(b"iCCP", b"Display P3\x00\x00" + zlib.compress(icc)))
    chunks += [png_chunk(b"IDAT", zlib.compress(raw)), png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def test_p3_matrix_matches_the_published_display_p3_profile() -> None:
    # the colorants of Apple's "Display P3" profile (rXYZ, gXYZ, bXYZ), to their 4-5 stored digits
    np.testing.assert_allclose(P3_TO_PCS.T, [[0.5151, 0.2412, -0.0011], [0.2920, 0.6922, 0.0419],
                                             [0.1571, 0.0666, 0.7841]], atol=2e-4)


@pytest.mark.parametrize("bit_depth", [16, 8])
def test_display_p3_photo_gives_the_lab_of_its_srgb_truth(bit_depth: int) -> None:
    from texturecmp.color import delta_e00, rgb_to_lab

    # the P3 codes that show the known sRGB colours: sRGB -> linear -> PCS XYZ -> linear P3 -> P3 codes
    lin_p3 = _decode_srgb_curve(KNOWN_SRGB) @ np.linalg.solve(P3_TO_PCS, SRGB_TO_PCS).T
    top = 2**bit_depth - 1
    codes = np.rint(_encode_srgb_curve(lin_p3) * top).astype(np.uint16)
    photo = _patch_photo(codes)
    icc = icc_matrix_profile("Display P3", P3_TO_PCS)
    img = load_image(_png_with_icc(photo, icc, bit_depth), name="iphone.png")
    assert img.icc_profile == "Display P3" and img.to_dict()["icc_profile"] == "Display P3"
    truth = rgb_to_lab(KNOWN_SRGB.astype(np.float32)[None])[0]
    got = rgb_to_lab(np.ascontiguousarray(img.rgb[8, 8::16][None]))[0]
    de = delta_e00(got, truth)
    # 16-bit codes: ~0.01; 8-bit codes: the rounding of the P3 codes, up to ~0.3
    assert de.max() < (0.1 if bit_depth == 16 else 1.0), de
    # read as if it were sRGB (the profile ignored), the same file is several ΔE00 off
    naive = rgb_to_lab((photo[8, 8::16] / top).astype(np.float32)[None])[0]
    assert delta_e00(naive, truth).max() > 3
    # and LittleCMS, converting the same 8-bit codes, agrees
    if bit_depth == 8:
        from PIL import ImageCms

        cms = ImageCms.profileToProfile(PIL.Image.fromarray(photo.astype(np.uint8)),
                                        ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                        ImageCms.createProfile("sRGB"), outputMode="RGB")
        lab_cms = rgb_to_lab((np.asarray(cms)[8, 8::16] / 255).astype(np.float32)[None])[0]
        assert delta_e00(got, lab_cms).max() < 1.0


def test_untagged_and_srgb_tagged_photos_are_read_as_srgb() -> None:
    codes = _patch_photo(np.rint(KNOWN_SRGB * 65535).astype(np.uint16))
    plain = load_image(_png_with_icc(codes, None, 16))
    assert plain.icc_profile is None
    np.testing.assert_array_equal(plain.rgb, (codes / 65535).astype(np.float32))
    tagged = load_image(_png_with_icc(codes, icc_matrix_profile("sRGB IEC61966-2.1", SRGB_TO_PCS), 16))
    assert tagged.icc_profile == "sRGB IEC61966-2.1"  # recorded, the values untouched
    np.testing.assert_array_equal(tagged.rgb, plain.rgb)
    u8 = load_image(pil_bytes(PIL.Image.fromarray(rand_u8()), "JPEG",
                              icc_profile=icc_matrix_profile("sRGB", SRGB_TO_PCS)))
    assert u8.rgb8 is not None and u8.bit_depth == 8 and u8.icc_profile == "sRGB"  # the 8-bit codes kept


def test_profiles_read_by_littlecms_when_not_matrix_shaper(monkeypatch: pytest.MonkeyPatch) -> None:
    import texturecmp.io as tio
    from texturecmp.color import delta_e00, rgb_to_lab

    monkeypatch.setattr(tio, "_icc_matrix_shaper", lambda icc: None)  # as for a LUT-based profile
    lin_p3 = _decode_srgb_curve(KNOWN_SRGB) @ np.linalg.solve(P3_TO_PCS, SRGB_TO_PCS).T
    photo = _patch_photo(np.rint(_encode_srgb_curve(lin_p3) * 65535).astype(np.uint16))
    img = load_image(_png_with_icc(photo, icc_matrix_profile("Display P3", P3_TO_PCS), 16))
    assert img.icc_profile == "Display P3" and img.rgb8 is not None and img.bit_depth == 8  # LittleCMS: 8 bits
    truth = rgb_to_lab(KNOWN_SRGB.astype(np.float32)[None])[0]
    got = rgb_to_lab(np.ascontiguousarray(img.rgb[8, 8::16][None]))[0]
    assert delta_e00(got, truth).max() < 1.0


def test_decoding_works_without_a_stderr_descriptor(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "a.jpg"
    path.write_bytes(pil_bytes(PIL.Image.fromarray(rand_u8()), "JPEG"))
    code = ("import os, sys; os.close(2); from texturecmp.io import load_image; "
            f"sys.stdout.write(str(load_image({str(path)!r}).shape))")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and r.stdout == "(64, 80)", r


def test_junk_after_a_complete_scan_is_accepted() -> None:
    # libjpeg warns "Corrupt JPEG data: 3 extraneous bytes before marker 0xd9", yet every block
    # was decoded (some cameras write such files): not damage
    data = _blurred_jpeg()
    junk = data[:-2] + b"\x00\x01\x02\xff\xd9"
    np.testing.assert_array_equal(load_image(junk).rgb8, load_image(data).rgb8)
