"""The Streamlit app of texturecmp (``streamlit run app.py``).

The core (``texturecmp``) never imports Streamlit; this package holds everything the app
needs on top of it:

* :mod:`texturecmp.ui.cache`: cached wrappers around the core (``st.cache_data`` /
  ``st.cache_resource``), keyed by content hashes of photos and masks plus the settings
  hash; session labels are applied after, so relabelling never recomputes.
* :mod:`texturecmp.ui.render`: pictures, legends, sentences, tables and the HTML report
  (no Streamlit, no metric logic).
* :mod:`texturecmp.ui.components`: the before/after wipe slider and the camera with the
  baseline's ghost (``st.components.v2``, inline HTML/CSS/JS, no CDN).
* :mod:`texturecmp.ui.capture`: the camera shot's check against the baseline, in words.
* :mod:`texturecmp.ui.colour_view`: the colour-truth step (a chart in each photo, a marked
  colour reference, fixed light, or none).
* :mod:`texturecmp.ui.pdf`: the PDF report (reportlab).
* :mod:`texturecmp.ui.records_view`: "Save to records" and the subject history tab
  (:class:`texturecmp.records.Store`; nothing written until the user presses the button).
* :mod:`texturecmp.ui.page`: the page itself.

Importing this package requires the ``app`` extra (``pip install texturecmp[app]``).
"""

from texturecmp.ui.page import main

__all__ = ["main"]
