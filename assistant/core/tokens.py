"""Random secrets and identifiers.

URL-safe base64 may begin with "-", and a token that does is read as an option
on a command line (`assistant feed URL --token -x3...` fails with "expected one
argument"): these never do.
"""

from __future__ import annotations

import secrets


def new_token(nbytes: int) -> str:
    """`secrets.token_urlsafe(nbytes)` that does not begin with "-"."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if not token.startswith("-"):
            return token
