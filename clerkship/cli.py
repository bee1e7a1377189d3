"""``flask --app clerkship …`` commands: seeds, framework import, demo year, users."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from clerkship.extensions import db
from clerkship.models import Role, User
from clerkship.transactions import unit_of_work


@click.command("seed")
@with_appcontext
def seed_command():
    """Load the shipped frameworks, scale and patient-feedback instrument (idempotent)."""
    from clerkship import seeds

    with unit_of_work():
        summary = seeds.load_shipped()
    click.echo(summary)


def _import_file(importer, path) -> None:
    """Run one of seeds' all-or-nothing file imports; on failure, the report and exit 1."""
    from clerkship import seeds

    try:
        with unit_of_work():
            result = importer(path)
    except seeds.ImportFailed as failure:
        click.echo(failure.report(), err=True)
        raise SystemExit(1) from None
    click.echo(result)


@click.command("import-framework")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_framework_command(path):
    """Import a competency framework (CSV, JSON, CTDL-ASN or CASE 1.1); all nodes or none."""
    from clerkship import seeds

    _import_file(seeds.import_framework_file, path)


@click.command("export-framework")
@click.argument("code")
@click.option(
    "--format",
    "kind",
    type=click.Choice(["ctdl-asn", "case"]),
    default="ctdl-asn",
    show_default=True,
)
@with_appcontext
def export_framework_command(code: str, kind: str):
    """Print a framework as CTDL-ASN JSON-LD or as a CASE 1.1 package."""
    import json

    from clerkship.frameworks import export
    from clerkship.models import Framework

    framework = db.session.scalar(select(Framework).where(Framework.code == code))
    if framework is None:
        click.echo(f"No framework with the code {code}.", err=True)
        raise SystemExit(1)
    data = export.to_ctdl(framework) if kind == "ctdl-asn" else export.to_case(framework)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.command("import-instrument")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_instrument_command(path):
    """Import a patient-feedback instrument from a JSON file; all of it or none."""
    from clerkship import seeds

    _import_file(seeds.import_instrument_file, path)


@click.command("demo")
@click.option("--students", default=12, show_default=True, type=click.IntRange(1, 2000))
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has users.")
@with_appcontext
def demo_command(students: int, if_empty: bool):
    """Build (or top up) a believable demo year and print its sign-ins."""
    from clerkship import demo

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("The database already has people in it; demo data left as it is.")
        return
    with unit_of_work():
        sign_ins = demo.build_demo_year(students=students)
    click.echo(demo.format_sign_ins(sign_ins))


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.password_option()
@with_appcontext
def create_user_command(email: str, name: str, role: str, password: str):
    """Create an account (for the first admin of a new instance)."""
    from clerkship import audit
    from clerkship.auth import passwords
    from clerkship.auth.passwords import set_password
    from clerkship.auth.service import find_by_email, normalise_email

    if find_by_email(email) is not None:
        raise click.ClickException(f"{email} already has an account.")
    user = User(email=normalise_email(email), name=name.strip(), role=Role(role))
    refused = passwords.problem(password, user)  # the same rules as the web forms
    if refused:
        raise click.ClickException(refused)
    set_password(user, password)
    with unit_of_work():
        db.session.add(user)
        db.session.flush()
        audit.record(None, "user.created", user, after={"email": user.email, "role": role})
    click.echo(f"Created {role} {user.email}.")


@click.command("send-digests")
@with_appcontext
def send_digests_command():
    """Send today's digests (the queue does this at 07:00; at most one per person a day)."""
    from clerkship.reminders import service as reminders

    click.echo(f"Sent {reminders.send_daily()} digest(s).")


@click.command("clean-exports")
@with_appcontext
def clean_exports_command():
    """Delete portfolio files older than EXPORT_KEEP_DAYS (the queue does this hourly)."""
    from clerkship.portfolios import service

    click.echo(f"Removed the files of {service.cleanup()} export(s).")


@click.command("clean-sessions")
@with_appcontext
def clean_sessions_command():
    """Delete sign-in sessions unused for SESSION_KEEP_DAYS (the queue does this daily)."""
    from clerkship import submissions
    from clerkship.auth import sessions

    with unit_of_work():
        removed = sessions.prune()
        submissions.prune()  # and the week-old tokens of create forms
    click.echo(f"Removed {removed} old sign-in session(s).")


@click.command("verify-records")
@with_appcontext
def verify_records_command():
    """Check every signature and the whole chain; exit 1 naming each broken record."""
    from clerkship.integrity import service

    with unit_of_work():  # the check's result is stored for the integrity page
        result = service.full_check()
    for problem in result.problems:
        click.echo(problem, err=True)
    head = f"entry {result.head_seq} {result.head_hash}" if result.head_seq else "empty"
    click.echo(f"{result.signatures} signature(s) checked; chain head: {head}.")
    if not result.ok:
        click.echo(f"{len(result.problems)} problem(s) found.", err=True)
        raise SystemExit(1)


@click.command("verify-pdf")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def verify_pdf_command(path):
    """Check a portfolio PDF's signature against the school's certificate; exit 1 if not."""
    from pathlib import Path

    from clerkship import pdf_signing

    result = pdf_signing.check(Path(path).read_bytes())
    if result.ok:
        click.echo(f"Signed by {result.signer}; not modified since.")
        return
    reason = "no signature" if not result.signed else "signature invalid"
    click.echo(f"{path}: {reason}.", err=True)
    raise SystemExit(1)


@click.command("verify-credential")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--jwks",
    "jwks_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A published JWK Set (/.well-known/jwks.json). Default: this instance's key ring.",
)
@click.option(
    "--status-list",
    "status_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A downloaded status list (.jwt). Default: this instance's own status lists.",
)
@with_appcontext
def verify_credential_command(path, jwks_path, status_paths):
    """Verify a VC-JWT credential: signature, dates, issued here as it reads, revocation; exit 1
    if not valid."""
    import json
    from pathlib import Path

    from clerkship.credentials import service, vcjwt

    keys = json.loads(Path(jwks_path).read_text()) if jwks_path else None
    source = None
    if status_paths:
        lists = {}
        for status_path in status_paths:
            token = Path(status_path).read_text().strip()
            try:
                lists[vcjwt.peek(token)[1].get("id")] = token
            except vcjwt.Unreadable:
                click.echo(f"{status_path}: not a status list credential.", err=True)
        source = lists.get
    verdict = service.verify_here(Path(path).read_text(errors="replace"), keys, source)
    click.echo(f"{path}: {verdict.sentence}" + (f" ({verdict.detail})" if verdict.detail else ""))
    if not verdict.ok:
        raise SystemExit(1)


@click.command("rotate-signing-key")
@with_appcontext
def rotate_signing_key_command():
    """Make a new signing key; the old one is kept (public half) so old signatures verify."""
    from clerkship import signing_keys

    old, new = signing_keys.rotate(signing_keys.loaded_path())
    click.echo(f"Signing key {old} retired; new key {new}. Restart the other app processes.")


def init_app(app: Flask) -> None:
    for command in (
        verify_records_command,
        verify_pdf_command,
        verify_credential_command,
        rotate_signing_key_command,
        send_digests_command,
        clean_exports_command,
        clean_sessions_command,
        seed_command,
        import_framework_command,
        export_framework_command,
        import_instrument_command,
        demo_command,
        create_user_command,
    ):
        app.cli.add_command(command)
