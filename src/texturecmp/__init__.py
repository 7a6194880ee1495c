"""texturecmp: measure how skin texture and scar visibility change between photos.

Public API::

    import texturecmp as tc
    cmp = tc.compare("before.jpg", "after.jpg", lesion="lesion.png")
    cmp.changes["scar.delta_e00"].verdict
    series = tc.compare_series(["s0.jpg", "s1.jpg", "s2.jpg"], lesion="lesion.png")
    series.to_frame()
    prep = tc.prepare_series(["s0.jpg", "s1.jpg"])   # photos first (an app, while the lesion is drawn)
    series = prep.compare(lesion="lesion.png")         # then the lesion: equal to compare_series
    baseline = tc.Baseline("s0.jpg", lesion="lesion.png")  # measured once, compared with many follow-ups
    cmp = baseline.compare("s1.jpg", label="week 4")
    cmp = tc.compare("before.jpg", "after.jpg", calibration="auto")  # a ColorChecker in both: true colour
    cmp.colour_truth                                   # "chart", "colour reference", "fixed light", ...

See :data:`METRICS` for every metric's unit, better direction, definition and reference.
"""

from texturecmp._version import __version__
from texturecmp import errors
from texturecmp.catalogue import METRICS, MetricInfo
from texturecmp.settings import Settings
from texturecmp.io import Image, load_image, load_mask
from texturecmp.regions import Ellipse, Polygon, Rect
from texturecmp.align import Alignment, register
from texturecmp.measure import Measurement, MetricValue, measure
from texturecmp.compare import (Baseline, Change, Comparison, FollowUp, Headline, Photometric, PreparedSeries, Series,
                                compare, compare_series, headline, prepare_series)
from texturecmp.chart import Calibration, ChartCorners, GreyCard
from texturecmp.batch import score_batch, to_wide
from texturecmp import chart, color, glcm, records

__all__ = [
    "__version__", "errors", "METRICS", "MetricInfo", "Settings", "Image", "load_image", "load_mask",
    "Rect", "Ellipse", "Polygon", "Alignment", "register", "Measurement", "MetricValue", "measure",
    "Change", "Comparison", "Headline", "Photometric", "Series", "compare", "compare_series", "PreparedSeries",
    "prepare_series", "Baseline", "FollowUp", "headline", "Calibration", "ChartCorners", "GreyCard",
    "score_batch", "to_wide",
    "chart", "color", "glcm", "records",
]
