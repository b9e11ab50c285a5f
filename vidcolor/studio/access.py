"""The studio's token gate: no request reaches the app without the one-time token the server printed.

The token arrives once in the URL's query (``?token=``, as Jupyter's does); the answer sets it as an
HttpOnly, SameSite=Strict cookie, so the page's own requests carry it. A request that changes anything
(not GET or HEAD) must also send it in the ``X-Vidcolor-Token`` header: a cookie alone, which another
site's form could make the browser send, never suffices (no CSRF), and such a request from another
origin is refused outright. No CORS headers are ever sent, so other origins cannot read answers either.
"""

from __future__ import annotations

import json
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_HEADER = "x-vidcolor-token"
COOKIE = "vidcolor_token"
SAFE_METHODS = {"GET", "HEAD"}


def new_token() -> str:
    return secrets.token_urlsafe(24)


class TokenGate:
    """ASGI middleware: 401 without the token, 403 for a change without it in the header or from elsewhere."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token
            cookie = SimpleCookie()
        in_cookie = cookie[COOKIE].value if COOKIE in cookie else ""
        in_header = headers.get(TOKEN_HEADER, "")
        known = any(self._is_token(t) for t in (query, in_cookie, in_header))
        if not known:
            await _refuse(send, 401, "this studio needs its token: open the address 'vidcolor studio' printed")
            return
        if scope["method"] not in SAFE_METHODS:
            if not self._is_token(in_header):
                await _refuse(send, 403, f"a change needs the token in the {TOKEN_HEADER} header")
                return
            origin = headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != headers.get("host"):
                await _refuse(send, 403, f"a change from another origin ({origin}) is refused")
                return
        if self._is_token(query) and not self._is_token(in_cookie):
            send = self._setting_cookie(send)
        await self.app(scope, receive, send)

    def _is_token(self, value: str) -> bool:
        return bool(value) and secrets.compare_digest(value.encode(), self.token.encode())

    def _setting_cookie(self, send: Send) -> Send:
        value = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode()

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", value)]}
            await send(message)

        return wrapped


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
