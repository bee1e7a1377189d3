import pytest
from flask import abort
from sqlalchemy import func, select

from clerkship import create_app
from clerkship.extensions import db as _db
from clerkship.models import Role, User
from tests.conftest import TEST_PASSWORD, login, test_config


@pytest.fixture
def csrf_app(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    return app


# The one POST without our token: the identity provider's signed SAML answer arrives from
# another site (its signature, InResponseTo and RelayState replace the token; tested in
# tests/sso/test_saml.py, test_acs_is_csrf_exempt_only_because_the_signed_answer_replaces_...).
CSRF_EXEMPT = {"/sso/saml/acs"}


def test_every_post_without_a_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    urls = csrf_app.url_map.bind("localhost")
    posts = [
        urls.build(rule.endpoint, dict.fromkeys(rule.arguments, 1), method="POST")
        for rule in csrf_app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
    ]
    assert "/sign-in" in posts
    assert "/goals/1/agree" in posts
    assert set(posts) >= CSRF_EXEMPT  # the list names routes that exist
    for path in sorted(set(posts) - CSRF_EXEMPT):
        response = client.post(path, data={})
        assert response.status_code == 400, path
        assert "The form had expired" in response.get_data(as_text=True)


def test_sign_in_with_the_token_from_the_form_works(csrf_app, student):
    import re

    user = student
    client = csrf_app.test_client()
    form = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    response = client.post(
        "/sign-in", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_a_crash_rolls_back_and_shows_the_500_page(database_url):
    app = create_app(test_config(database_url, PROPAGATE_EXCEPTIONS=False))

    @app.route("/crash")
    def crash():
        _db.session.add(User(email="half@example.org", name="Half written", role=Role.STUDENT))
        _db.session.flush()
        raise RuntimeError("boom")

    @app.route("/forbidden")
    def forbidden():
        abort(403)

    client = app.test_client()
    response = client.get("/crash")
    assert response.status_code == 500
    assert "Nothing you entered was saved" in response.get_data(as_text=True)
    assert client.get("/forbidden").status_code == 403
    with app.app_context():
        count = _db.session.scalar(
            select(func.count()).select_from(User).where(User.email == "half@example.org")
        )
        _db.session.remove()
        _db.engine.dispose()
    assert count == 0


UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"


def test_a_database_that_cannot_be_reached_gives_the_apps_own_503_page(app, client, student):
    """A real driver against a closed port: pages say so plainly (not Werkzeug's bare 500),
    for a visitor and for a signed-in person whose session the database would confirm."""
    login(client, student)
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    down = create_app(
        test_config(
            UNREACHABLE_DATABASE, SECRET_KEY=app.config["SECRET_KEY"], PROPAGATE_EXCEPTIONS=False
        )
    )
    visitor = down.test_client()
    signed_in = down.test_client()
    signed_in.set_cookie(cookie.key, cookie.value)
    for browser, method, path in (
        (visitor, "post", "/sign-in"),
        (visitor, "get", "/verify?id=ABCD-EFGH-IJKL-MNOP"),
        (signed_in, "get", "/"),
    ):
        response = getattr(browser, method)(path, data={"email": "a@b.org", "password": "x"})
        assert response.status_code == 503, (path, response.status_code)
        page = response.get_data(as_text=True)
        assert "Clerkship is briefly unavailable" in page and "Nothing you entered" in page
        assert int(response.headers["Retry-After"]) > 0
    with down.app_context():
        _db.engine.dispose()
