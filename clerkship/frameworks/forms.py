from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class FrameworkUploadForm(FlaskForm):
    file = FileField(
        _l("Framework file (up to 5 MB)"),
        validators=[FileRequired(_l("Choose a framework file to upload."))],
        description=_l(
            "CTDL-ASN (JSON-LD), CASE 1.1 (JSON), or Clerkship's own CSV or JSON. "
            "A newer version of a framework you already have updates it by URI."
        ),
        render_kw={"accept": ".json,.jsonld,.csv,application/json,application/ld+json,text/csv"},
    )
