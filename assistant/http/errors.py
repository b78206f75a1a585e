"""JSON errors for the HTTP API: `{"error": "<what is wrong and how to fix it>"}`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..core.commands import CommandError
from ..service.meetings import Forbidden, NotFound
from .limits import LimitExceeded

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, **extra: str) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except NotFound as exc:
        return json_error(404, str(exc))
    except Forbidden as exc:
        return json_error(403, str(exc))
    except LimitExceeded as exc:
        return json_error(429, str(exc), limit=exc.limit)
    except CommandError as exc:
        return json_error(400, str(exc))
    except UnicodeError:
        return json_error(400, "the request contains text that is not valid Unicode (such as a lone surrogate); "
                               "send valid UTF-8")
    except RecursionError:
        return json_error(400, "the request nests too deeply")
    except web.HTTPRequestEntityTooLarge as exc:
        return json_error(413, f"the request body is too large ({exc.text})")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(
            exc.status, exc.reason if not exc.text or exc.text.startswith(str(exc.status)) else exc.text
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error; the server logged it")
