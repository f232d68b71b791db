"""What protects the dashboard's server: the bind rule, and :class:`Guard`, a pure ASGI
middleware around everything (static files included).

Contract
--------
Reads: the ASGI scope (headers, method, query string) and, for methods with a body, the body
itself (buffered once, then replayed to the app). Produces: either the app's response with the
security headers added (a strict Content-Security-Policy, ``nosniff``, ``DENY`` framing, no
referrer, no caching; headers the app set itself are kept) or a JSON refusal
``{"detail": ...}`` carrying the same headers: 400 for a ``Host`` header that does not name
the loopback address when the server listens there (no DNS rebinding) or a bad
``Content-Length``, 401 without the token (``Authorization: Bearer <token>`` or
``?token=<token>``, compared in constant time), 413 for a body over ``max_body`` bytes
(declared or counted), 415 for a POST that is not JSON. Websocket scopes get no answer;
lifespan scopes pass through. Invariants: the checks run in that order, before the app sees
the request; :func:`check_bind` refuses to listen beyond loopback without a token, or with a
weak one; request ids in paths are matched against :data:`RUN_ID` (and the job id pattern in
:mod:`corridor.web.jobs`) before the store is asked for anything.

The queue's 429 with ``Retry-After`` comes from :class:`~corridor.web.jobs.QueueFull`, answered
in :mod:`corridor.web.views`; access logging is uvicorn's (``corridor serve --log-level``).
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from corridor.errors import InputError

__all__ = ["LOOPBACK_NAMES", "RUN_ID", "Guard", "check_bind", "is_loopback"]

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")  # the store's run-id rule
TOKEN = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


# ---------------------------------------------------------------------------------------------
# The bind rule
# ---------------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token, or with a weak one."""
    if token is not None and not TOKEN.match(token):
        raise InputError(
            "the token must be 16 to 256 characters from A-Z a-z 0-9 . _ ~ -",
            field="--token",
            expected='e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    if not is_loopback(host) and token is None:
        raise InputError(
            f"refusing to listen on {host}: the dashboard would be open to the network without "
            "a token",
            field="--host",
            expected="--host 127.0.0.1 (the default), or --token T (or $CORRIDOR_TOKEN) so that "
            "every request must carry it",
        )


# ---------------------------------------------------------------------------------------------
# The guard (pure ASGI: cheap, and sees every request, static files included)
# ---------------------------------------------------------------------------------------------
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """Host check, token check, body limit and security headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        max_body: int,
        allowed_hosts: tuple[str, ...] | None,
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body = max_body
        self.allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def _reply(
        self, send: Callable[[Any], Awaitable[None]], status: int, detail: str, extra: Any = ()
    ) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *_SECURITY_HEADERS,
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _authorised(self, headers: dict[bytes, bytes], query: bytes) -> bool:
        assert self.token is not None
        given = headers.get(b"authorization", b"")
        if given[:7].lower() == b"bearer " and secrets.compare_digest(
            given[7:].strip(), self.token
        ):
            return True
        if b"token=" in query:
            values = parse_qs(query.decode("latin-1")).get("token", [])
            return any(secrets.compare_digest(v.encode("latin-1"), self.token) for v in values)
        return False

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # no websockets
        headers: dict[bytes, bytes] = {}
        for k, v in scope.get("headers", []):
            headers.setdefault(k.lower(), v)
        if self.allowed is not None:
            host = _host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed:
                await self._reply(send, 400, "unexpected Host header")
                return
        if self.token is not None and not self._authorised(headers, scope.get("query_string", b"")):
            await self._reply(
                send,
                401,
                "a token is needed: Authorization: Bearer <token>, or ?token=<token>",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        method = scope.get("method", "GET")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if method == "POST" and ctype != b"application/json":
                await self._reply(send, 415, "send JSON (Content-Type: application/json)")
                return
            length = headers.get(b"content-length")
            if length is not None:
                try:
                    declared = int(length)
                except ValueError:
                    await self._reply(send, 400, "bad Content-Length")
                    return
                if declared > self.max_body:
                    await self._reply(
                        send, 413, f"request body over {self.max_body} bytes ({declared})"
                    )
                    return
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    await self._reply(send, 413, f"request body over {self.max_body} bytes")
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Any:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            receive = replay

        async def send_secure(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_secure)
