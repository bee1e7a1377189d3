from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectChoice

from clerkship.roster.service import KINDS


class UploadForm(FlaskForm):
    kind = RadioField(
        _l("What the file holds"),
        choices=[SelectChoice(key, kind.label) for key, kind in KINDS.items()],
        default="students",
    )
    file = FileField(
        _l("CSV file (up to 5 MB)"),
        validators=[FileRequired(_l("Choose a CSV file to upload."))],
        description=_l(
            "Import people first, then pairings and panels. Column order does not matter; "
            "unknown columns are ignored. Excel: “Save as CSV UTF-8”."
        ),
        render_kw={"accept": ".csv,text/csv"},
    )
