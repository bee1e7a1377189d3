"""The WSGI entry point for production servers: ``gunicorn clerkship.wsgi:app``.

The app is built from the environment (``SECRET_KEY``, ``DATABASE_URL``, ``CLERKSHIP_*``);
see deploy/gunicorn.conf.py and docs/deploy.md.
"""

from clerkship import create_app

app = create_app()
