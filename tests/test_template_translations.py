"""Templates translate through the catalogue render_template finds once per render
(clerkship/jinja.py): in the language of each render, also where a template has no such
catalogue in its context (rendered without render_template, or a macro imported without it)."""

from __future__ import annotations

from flask import render_template_string, template_rendered
from flask_babel import force_locale

from clerkship.jinja import CATALOGUE

PAGE = (
    "{{ _('never') }} · "
    "{{ ngettext('%(num)d student needs attention', '%(num)d students need attention', 2) }}"
)


def test_each_render_speaks_its_own_language(app):
    catalogues = []

    def seen(sender, template, context, **extra):
        catalogues.append(context.get(CATALOGUE))

    with template_rendered.connected_to(seen, app), app.test_request_context():
        with force_locale("es"):
            assert render_template_string(PAGE) == "nunca · 2 estudiantes necesitan atención"
        with force_locale("en"):
            assert render_template_string(PAGE) == "never · 2 students need attention"
        with force_locale("es"):
            assert render_template_string(PAGE).startswith("nunca ·")
    # Each render was given the catalogue of its language (the one lookup per render).
    assert len(catalogues) == 3 and None not in catalogues
    assert catalogues[0] is catalogues[2] and catalogues[0] is not catalogues[1]


def test_a_template_without_the_catalogue_still_translates(app):
    with app.test_request_context(), force_locale("es"):
        assert app.jinja_env.from_string(PAGE).render() == (
            "nunca · 2 estudiantes necesitan atención"
        )
        macros = app.jinja_env.from_string("{% macro word() %}{{ _('never') }}{% endmacro %}")
        assert str(macros.module.word()) == "nunca"


def test_a_page_looks_its_catalogue_up_once_not_per_string(app, monkeypatch):
    import flask_babel

    lookups = []
    real_lookup = flask_babel.Domain.get_translations

    def counted(domain):
        lookups.append(1)
        return real_lookup(domain)

    # Every way to the catalogue (ours, and Flask-Babel's own template callables) ends here.
    monkeypatch.setattr(flask_babel.Domain, "get_translations", counted)
    with app.test_request_context(), force_locale("es"):
        page = render_template_string(PAGE + " · {{ _('never') }} · {{ _('never') }}")
    assert page.endswith("nunca · nunca")
    assert len(lookups) == 1  # the render's one lookup; the four strings read it from context
