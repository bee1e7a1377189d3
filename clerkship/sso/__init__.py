"""Sign-in with the school's account (OpenID Connect) and the fresh sign-in before co-signing.

The blueprint lives in :mod:`clerkship.sso.views` (imported by the app factory), so the sign-in
rules in :mod:`clerkship.sso.service` can be used by the password sign-in without a cycle."""
