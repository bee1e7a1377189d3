"""The credentials as JSON: Open Badges 3.0 AchievementCredential, CLR 2.0 ClrCredential, the
issuer's Profile and the Bitstring Status List credential.

The student is named by an ``IdentityObject``: their e-mail address hashed with a salt
(``sha256$...``), as Open Badges 3.0 allows. We chose it over a stable URN because a URN of
ours would mean nothing to a residency program, while the student can prove an e-mail address
is theirs; the salt (derived from the credential's id and the instance secret) keeps the
address from being guessed from the hash or linked across credentials.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import uuid
from datetime import datetime

from flask import current_app

from clerkship.api.uris import competency_uri
from clerkship.credentials import decisions, issuing
from clerkship.models import Competency, IssuedCredential, Program, User
from clerkship.urls import external_url

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
OB_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
CLR_SCHEMA = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)
# The Bitstring Status List spec's minimum: 16 KB of bits, so one index says little.
MIN_STATUS_BITS = 16 * 1024 * 8


def timestamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _salt(label: str) -> str:
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, label.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def identity(student: User, label: str) -> list[dict]:
    salt = _salt(label)
    # A student without an e-mail address (rare: accounts made by a school sign-in) is named
    # by this instance's identifier for them, hashed the same way.
    kind, value = (
        ("emailAddress", student.email.strip().lower())
        if student.email
        else ("identifier", f"{current_app.config['BASE_URL']}#user-{student.id}")
    )
    digest = hashlib.sha256((value + salt).encode("utf-8")).hexdigest()
    return [
        {
            "type": "IdentityObject",
            "identityHash": f"sha256${digest}",
            "identityType": kind,
            "hashed": True,
            "salt": salt,
        }
    ]


def issuer_profile(program: Program) -> dict:
    name = f"{program.institution} — {program.name}" if program.institution else program.name
    return {
        "id": external_url("credentials.issuer", program_id=program.id),
        "type": ["Profile"],
        "name": name,
        "url": current_app.config["BASE_URL"],
        "description": "Issuer of Clerkship entrustment-decision credentials. Public keys: "
        + external_url("integrity.jwks"),
    }


def status_list_url(program: Program) -> str:
    return external_url("credentials.status_list", program_id=program.id)


def achievement(program: Program, competency: Competency) -> dict:
    marked = decisions.threshold_level(program)
    scale_name = program.scale.name if program.scale else ""
    marked_label = marked.label if marked else ""
    result: dict = {
        "id": external_url(
            "credentials.achievement_definition",
            program_id=program.id,
            competency_id=competency.id,
        ),
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": f"Entrustment decision: {competency.code} {competency.title}",
        "description": (
            f"Entrusted by a supervising preceptor at “{marked_label}” or above on the"
            f" {scale_name} scale, for {competency.code} {competency.title}."
        ),
        "criteria": {
            "narrative": (
                "The student's self-assessment and the preceptor's independent rating were both"
                f" submitted, and the preceptor rated the student at “{marked_label}” or above"
                " and co-signed the record with the program's key."
            )
        },
        "humanCode": competency.code,
        "creator": issuer_profile(program),
    }
    result["alignment"] = [
        {
            "type": ["Alignment"],
            "targetName": competency.title,
            "targetUrl": competency_uri(competency),
            "targetCode": competency.code,
            "targetFramework": competency.framework.name,
            "targetType": "ceasn:Competency",
        }
    ]
    return result


def achievement_credential(row: IssuedCredential) -> dict:
    """The credential for one issued row (the same every time it is built)."""
    cycle, program = row.cycle, row.program
    signature = cycle.signature
    theirs = cycle.preceptor_assessment
    level = theirs.level if theirs is not None else None
    url = status_list_url(program)
    signed_on = timestamp(signature.signed_at) if signature else ""
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{row.uuid}",
        "type": ["VerifiableCredential", "AchievementCredential"],
        "name": f"Entrustment decision: {cycle.competency.code} {cycle.competency.title}",
        "issuer": issuer_profile(program),
        "validFrom": timestamp(row.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": identity(cycle.student, row.uuid),
            "achievement": achievement(program, cycle.competency),
            "result": [
                {
                    "type": ["Result"],
                    "value": level.label if level else "",
                }
            ],
        },
        "evidence": [
            {
                "id": external_url("credentials.verify", id=row.uuid),
                "type": ["Evidence"],
                "name": "Co-signed assessment",
                "narrative": (
                    f"Co-signed by {signature.printed_name if signature else ''} on {signed_on};"
                    f" signature fingerprint {signature.content_hash if signature else ''}"
                    f" (key {signature.key_id if signature else ''})."
                ),
            }
        ],
        "credentialStatus": {
            "id": f"{url}#{row.status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(row.status_index),
            "statusListCredential": url,
        },
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def clr_credential(student: User, program: Program, rows: list[IssuedCredential]) -> dict:
    """All of a student's current credentials in one CLR 2.0 record (same set: same id)."""
    ids = sorted(row.uuid for row in rows)
    record_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{program.id}:{student.id}:{','.join(ids)}")
    newest = max(row.issued_at for row in rows)
    return {
        "@context": [VC_CONTEXT, CLR_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{record_id}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": f"{program.name}: entrustment decisions",
        "issuer": issuer_profile(program),
        "validFrom": timestamp(newest),
        "credentialSubject": {
            "type": ["ClrSubject"],
            "identifier": identity(student, str(record_id)),
            "verifiableCredential": [achievement_credential(row) for row in rows],
        },
        "credentialSchema": [{"id": CLR_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def encoded_bits(indexes: list[int], length: int) -> str:
    """Multibase base64url (no padding, prefix "u") of the GZIP'd bitstring; index 0 is the
    left-most bit of the first byte (the Bitstring Status List spec)."""
    bits = bytearray(length // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def bit_is_set(encoded: str, index: int) -> bool:
    if not encoded.startswith("u"):
        raise ValueError("the status list is not multibase base64url")
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    if index < 0 or index // 8 >= len(raw):
        raise ValueError("the index is outside the status list")
    return bool(raw[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(program: Program, now: datetime) -> dict:
    url = status_list_url(program)
    length = max(MIN_STATUS_BITS, (issuing.highest_index() // 8 + 1) * 8)
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_profile(program),
        "validFrom": timestamp(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_bits(issuing.revoked_indexes(program), length),
        },
    }


def jwt_claims(credential: dict) -> dict:
    """VC-JWT: the credential is the payload; the registered claims repeat its fields."""
    claims = dict(credential)
    claims["iss"] = credential["issuer"]["id"]
    claims["jti"] = credential["id"]
    claims["nbf"] = int(datetime.fromisoformat(credential["validFrom"]).timestamp())
    if "validUntil" in credential:
        claims["exp"] = int(datetime.fromisoformat(credential["validUntil"]).timestamp())
    return claims
