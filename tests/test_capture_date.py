"""texturecmp.io.capture_time: the EXIF capture date and time of a photo."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import PIL.Image
import pytest

from texturecmp.errors import UnreadableImageError
from texturecmp.io import capture_time


def _photo(fmt: str = "JPEG", **tags: str) -> bytes:
    """A small photo with the given tags of its Exif IFD (``x9003="..."``: tag 0x9003)."""
    im = PIL.Image.fromarray(np.full((64, 64, 3), 128, np.uint8))
    exif = PIL.Image.Exif()
    sub = exif.get_ifd(0x8769)
    for tag, value in tags.items():
        sub[int(tag[1:], 16)] = value
    buf = io.BytesIO()
    im.save(buf, format=fmt, exif=exif.tobytes())
    return buf.getvalue()


def test_date_time_original_with_its_offset_is_timezone_aware():
    data = _photo(x9003="2024:03:01 14:05:09", x9011="+02:00")
    when = capture_time(data)
    assert when == dt.datetime(2024, 3, 1, 12, 5, 9, tzinfo=dt.timezone.utc)
    assert when.utcoffset() == dt.timedelta(hours=2)


def test_negative_offset_and_sub_seconds():
    when = capture_time(_photo(x9003="2024:03:01 14:05:09", x9011="-05:30", x9291="25"))
    assert when.microsecond == 250_000
    assert when.utcoffset() == -dt.timedelta(hours=5, minutes=30)


def test_without_offset_the_time_is_naive():
    when = capture_time(_photo(x9003="2023:12:31 23:59:59"))
    assert when == dt.datetime(2023, 12, 31, 23, 59, 59) and when.tzinfo is None


@pytest.mark.parametrize("value", ["0000:00:00 00:00:00", "    :  :     :  :  ", "2024:13:01 10:00:00", "yesterday"])
def test_an_unset_or_impossible_date_is_none(value):
    assert capture_time(_photo(x9003=value)) is None


def test_no_exif_is_none_and_png_exif_is_read(tmp_path):
    buf = io.BytesIO()
    PIL.Image.new("RGB", (64, 64)).save(buf, format="JPEG")
    assert capture_time(buf.getvalue()) is None
    p = tmp_path / "photo.png"
    p.write_bytes(_photo("PNG", x9003="2022:01:02 03:04:05"))
    assert capture_time(p) == dt.datetime(2022, 1, 2, 3, 4, 5)  # a path works as bytes do
    assert capture_time(open(p, "rb")) == dt.datetime(2022, 1, 2, 3, 4, 5)


def test_a_file_that_is_no_image_is_refused_by_name():
    with pytest.raises(UnreadableImageError, match="^notes: "):
        capture_time(b"these are not pixels", name="notes")
