"""PAdES signatures on portfolio PDFs (pyHanko), with the school's certificate.

A PDF reader then shows "signed by <school>, not modified since" without visiting the site.
Production takes the certificate and its private key from ``PDF_SIGNING_CERT`` and
``PDF_SIGNING_KEY`` (PEM files) and refuses to start without them; development and testing
make a self-signed pair in the instance folder the first time.
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask, current_app
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from clerkship import key_files
from clerkship.clock import utcnow
from clerkship.config import ConfigError

EXTENSION = "pdf_signing"
FIELD = "ProgramSignature"


@dataclass
class PdfCheck:
    """What a reader would conclude about a PDF's signature."""

    signed: bool
    intact: bool = False  # the signed bytes are unchanged
    trusted: bool = False  # made with the school's certificate
    whole_file: bool = False  # nothing was added after signing
    signer: str = ""

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.trusted and self.whole_file


def _paths(app: Flask) -> tuple[Path, Path]:
    cert, key = app.config.get("PDF_SIGNING_CERT"), app.config.get("PDF_SIGNING_KEY")
    instance = Path(app.instance_path)
    return (
        Path(cert) if cert else instance / "pdf-signing-cert.pem",
        Path(key) if key else instance / "pdf-signing-key.pem",
    )


def create_self_signed(cert_path: Path, key_path: Path, school: str) -> None:
    """A development certificate: signs like the real one, trusted by nobody else."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{school} (development)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, school),
        ]
    )
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_files.write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    key_files.write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def init_app(app: Flask) -> None:
    cert_path, key_path = _paths(app)
    relaxed = app.config["ENV"] in ("development", "testing")
    if relaxed:
        with key_files.writing(key_path.parent):  # workers starting together make one pair
            if not cert_path.exists() and not key_path.exists():
                create_self_signed(cert_path, key_path, app.config["PROGRAM_NAME"])
    try:
        signer = signers.SimpleSigner.load(str(key_path), str(cert_path))
    except (OSError, ValueError) as problem:
        signer = None
        reason = f"{problem.__class__.__name__}: {problem}"
    else:
        reason = "not a certificate and private key pair"
    if signer is None:
        raise ConfigError(
            f"The PDF signing certificate {cert_path} or its key {key_path} is missing or "
            f"unreadable ({reason}). Set PDF_SIGNING_CERT and PDF_SIGNING_KEY (or "
            "CLERKSHIP_PDF_SIGNING_CERT / CLERKSHIP_PDF_SIGNING_KEY) to the school's PEM "
            "certificate and private key. Portfolio PDFs are not issued unsigned."
        )
    app.extensions[EXTENSION] = (signer, load_cert_from_pemder(str(cert_path)))


def _outside_event_loop(work, *args):
    """pyHanko's synchronous calls run ``asyncio.run()``, which refuses to start inside a
    running event loop (a caller driven by one, such as Playwright's sync API): there the work
    goes to a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work, *args).result()


def sign(pdf: bytes) -> bytes:
    """``pdf`` with an invisible PAdES B-B signature by the school over the whole file."""
    signer, _cert = current_app.extensions[EXTENSION]
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason="Competency portfolio issued by the program",
        name=current_app.config["PROGRAM_NAME"],
    )
    # A fixed reservation (an ECDSA CMS blob is ~1 kB) spares pyHanko a trial signature.
    out = _outside_event_loop(
        lambda: signers.sign_pdf(writer, metadata, signer=signer, bytes_reserved=8192)
    )
    return out.getvalue()


def check(pdf: bytes) -> PdfCheck:
    """Validate the signature against the school's certificate; never raises on bad input."""
    _signer, cert = current_app.extensions[EXTENSION]
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception:
        return PdfCheck(signed=False)
    if not embedded:
        return PdfCheck(signed=False)
    signature = embedded[-1]
    try:
        status = _outside_event_loop(
            validate_pdf_signature,
            signature,
            ValidationContext(trust_roots=[cert], allow_fetching=False),
        )
    except Exception:
        return PdfCheck(signed=True)
    return PdfCheck(
        signed=True,
        intact=status.intact and status.valid,
        trusted=status.trusted,
        whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=status.signing_cert.subject.human_friendly,
    )
