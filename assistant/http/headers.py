"""Security headers on every response: the pages, their static files, the API and the HTML exports.

The pages load their scripts and styles from /static only (no inline script, handler or style
attribute), so their Content-Security-Policy needs no 'unsafe-inline'. The HTML exports (the
transcript and the chair's report) are standalone documents with one inline <style>, so that they
still look right when opened from disk after a download (their own <meta> policy then allows inline
styles and nothing else); served, they are allowed exactly that stylesheet, by hash, and no script.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..archive.exports import PRINT_CSS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csp_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline text."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


# the pages: everything from this origin, websockets to it ('self' covers ws: and wss: of the same
# host), the microphone worklet is a script (script-src), data: images only for the browser's own icons
PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# an HTML export: its own inline stylesheet by hash (no style attribute), inline SVG charts; no script
EXPORT_CSP = "; ".join(
    [
        "default-src 'none'",
        f"style-src {csp_hash(PRINT_CSS)}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

# JSON and everything else: nothing to load, nothing to frame
API_CSP = "default-src 'none'; frame-ancestors 'none'"

COMMON = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
}


def policy_for(response: web.StreamResponse) -> str:
    """Pages and static files are files from web/; any other HTML is an export built from a record."""
    if isinstance(response, web.FileResponse):
        return PAGE_CSP
    if response.content_type == "text/html":
        return EXPORT_CSP
    return API_CSP


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if response.prepared:  # a websocket, already answered: headers can no longer change
        return response
    for name, value in COMMON.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", policy_for(response))
    return response
