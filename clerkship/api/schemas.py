"""What the read API returns, as marshmallow schemas (flask-smorest turns them into the
OpenAPI document, so the description and the responses come from the same code)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from clerkship.models import ContributionKind, CycleStatus, GoalStatus, Role


class PageArgs(Schema):
    cursor = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"),
        metadata={"description": "The next_cursor of the previous page; omit for the first."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class GoalArgs(PageArgs):
    student = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    cohort = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    updated_since = fields.Date(metadata={"description": "Goals changed on or after this day."})


class AssessmentArgs(PageArgs):
    student = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    cohort = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    since = fields.Date(metadata={"description": "Cycles whose status changed on or after."})


class PeopleArgs(PageArgs):
    role = fields.Enum(Role, by_value=True)
    cohort = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class Page(Schema):
    next_cursor = fields.String(required=True, allow_none=True)


class ProgramOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    institution = fields.String(required=True)
    time_zone = fields.String(required=True)


class CohortOut(Schema):
    id = fields.Integer(required=True)
    program_id = fields.Integer(required=True)
    name = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)


class PersonOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)


class CompetencyOut(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    title = fields.String(required=True)
    domain = fields.String(required=True)
    uri = fields.String(required=True)


class FrameworkOut(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    competencies = fields.List(fields.Nested(CompetencyOut), required=True)


class GoalVersionOut(Schema):
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    specific = fields.String(required=True)
    measure = fields.String(required=True)
    actions = fields.String(required=True)
    target_date = fields.Date(required=True, allow_none=True)
    author_id = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)


class AgreementOut(Schema):
    version_number = fields.Integer(required=True)
    preceptor_id = fields.Integer(required=True)
    agreed_at = fields.AwareDateTime(required=True)
    valid = fields.Boolean(
        required=True,
        metadata={"description": "The agreement's signature checks against the version's text"},
    )


class GoalOut(Schema):
    id = fields.Integer(required=True)
    student_id = fields.Integer(required=True)
    status = fields.Enum(GoalStatus, by_value=True, required=True)
    current_version = fields.Integer(required=True)
    competency_uris = fields.List(fields.String(), required=True)
    versions = fields.List(fields.Nested(GoalVersionOut), required=True)
    agreements = fields.List(fields.Nested(AgreementOut), required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class RatingOut(Schema):
    value = fields.Integer(required=True)
    label = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True, allow_none=True)


class SignatureOut(Schema):
    signer_id = fields.Integer(required=True)
    printed_name = fields.String(required=True)
    meaning = fields.String(required=True)
    signed_at = fields.AwareDateTime(required=True)
    valid = fields.Boolean(
        required=True,
        metadata={"description": "Checked against the program's keys and the record now."},
    )


class AssessmentOut(Schema):
    id = fields.Integer(required=True)
    student_id = fields.Integer(required=True)
    preceptor_id = fields.Integer(required=True)
    competency_id = fields.Integer(required=True)
    competency_uri = fields.String(required=True)
    status = fields.Enum(CycleStatus, by_value=True, required=True)
    period_start = fields.Date(required=True, allow_none=True)
    period_end = fields.Date(required=True, allow_none=True)
    self_rating = fields.Nested(
        RatingOut,
        required=True,
        allow_none=True,
        metadata={"description": "Null until both ratings are in (ratings are blind)."},
    )
    preceptor_rating = fields.Nested(RatingOut, required=True, allow_none=True)
    signature = fields.Nested(SignatureOut, required=True, allow_none=True)


class FeedbackResponseOut(Schema):
    # The portfolio's own summary (clerkship.portfolios.data) already holds ISO days.
    on = fields.String(required=True, metadata={"format": "date"})
    from_ = fields.String(
        required=True,
        allow_none=True,
        attribute="from",
        data_key="from",
        metadata={"description": "The patient's name if they chose to show it."},
    )
    score = fields.Integer(required=True, allow_none=True)
    quotes = fields.List(fields.String(), required=True)


class FeedbackSummaryOut(Schema):
    student_id = fields.Integer(required=True)
    count = fields.Integer(required=True)
    median_score = fields.Integer(required=True, allow_none=True)
    responses = fields.List(fields.Nested(FeedbackResponseOut), required=True)


class PortfolioDocumentOut(Schema):
    id = fields.String(required=True, metadata={"description": "The id printed on the PDF."})
    issued_at = fields.DateTime(required=True)
    pages = fields.Integer(required=True, allow_none=True)
    content_hash = fields.String(required=True, allow_none=True)
    verify_url = fields.Url(required=True)
    download_url = fields.Url(
        required=True, metadata={"description": "The PDF (a signed-in director's page)."}
    )


class CredentialOut(Schema):
    assessment_id = fields.Integer(required=True)
    competency_uri = fields.String(required=True, allow_none=True)
    level = fields.String(required=True)
    signed_at = fields.DateTime(required=True)
    withdrawn = fields.Boolean(required=True)
    download_url = fields.Url(
        required=True, allow_none=True, metadata={"description": "The AchievementCredential."}
    )


class PortfolioOut(Schema):
    student_id = fields.Integer(required=True)
    portfolio_url = fields.Url(required=True)
    documents = fields.List(fields.Nested(PortfolioDocumentOut), required=True)
    credentials = fields.List(fields.Nested(CredentialOut), required=True)
    learner_record_url = fields.Url(
        required=True, allow_none=True, metadata={"description": "The ClrCredential."}
    )


def page_of(item: type[Schema]) -> type[Schema]:
    """A page of ``item``s: the items and the cursor of the next page (null on the last)."""
    name = item.__name__.removesuffix("Out") + "Page"
    return type(name, (Page,), {"items": fields.List(fields.Nested(item), required=True)})


KINDS = ContributionKind  # re-exported for the views' agreement filter
