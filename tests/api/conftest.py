"""Fixtures for the read API: tokens for each side of the two-program world."""

from __future__ import annotations

import pytest

from clerkship.api import tokens


@pytest.fixture
def api_tokens(db, world):
    """Secrets of tokens made by ``mine``'s director, the admin (for ``mine``), and
    ``other``'s director."""

    def make(maker, program) -> str:
        _token, secret = tokens.create_token(maker, program, "Dashboard", 30)
        return secret

    made = {
        "director": make(world["mine"]["director"], world["mine"]["program"]),
        "admin": make(world["admin"], world["mine"]["program"]),
        "other_director": make(world["other"]["director"], world["other"]["program"]),
    }
    db.session.commit()
    return made


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}
