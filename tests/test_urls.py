"""Absolute links come from BASE_URL alone, with or without a request in progress."""

import pytest

from clerkship.urls import external_url


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://lic.example.edu", "https://lic.example.edu/goals/3"),
        ("https://lic.example.edu/", "https://lic.example.edu/goals/3"),
        # A school that serves Clerkship under a path of its site.
        ("https://med.example.edu/lic", "https://med.example.edu/lic/goals/3"),
        ("http://localhost:5000/lic/", "http://localhost:5000/lic/goals/3"),
    ],
)
def test_a_link_is_built_under_base_url(app, monkeypatch, base, expected):
    monkeypatch.setitem(app.config, "BASE_URL", base)
    with app.app_context():
        assert external_url("goals.show", goal_id=3) == expected


def test_values_are_quoted_and_extra_ones_become_the_query(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://lic.example.edu")
    with app.app_context():
        assert (
            external_url("auth.set_password", token="a b/ü", asked_for="x y")
            == "https://lic.example.edu/account/set-password/a%20b/%C3%BC?asked_for=x+y"
        )


def test_a_request_for_another_host_does_not_change_the_link(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://lic.example.edu")
    with app.test_request_context("/", base_url="http://evil.example/elsewhere"):
        assert external_url("home.index") == "https://lic.example.edu/"
