"""Forward a request or a websocket to Streamlit, as the ALB forwards to its target.

Client-sent ``x-amzn-oidc-*`` headers are always dropped and the caller's identity headers added,
so a forged header never reaches the app; ``Host`` is kept (Streamlit's websocket compares it with
``Origin``, so its origin and XSRF checks keep working unchanged), and ``X-Forwarded-*`` are set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from streamlit_alb_auth.devserver.signin import error_page

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
MAX_WEBSOCKET_MESSAGE = 200 * 1024 * 1024  # Streamlit's default server.maxMessageSize
# What the ALB adds to an answer before it goes out: the renewed session cookie, after a refresh.
Finish = Callable[[web.StreamResponse], None]
# A peer that went away: aiohttp's ClientConnectionResetError is both of these.
GONE = (ConnectionError, aiohttp.ClientConnectionError)


def is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def _dropped(name: str, connection_tokens: frozenset[str], websocket: bool) -> bool:
    lower = name.lower()
    return (
        lower in HOP_BY_HOP
        or lower in connection_tokens
        or lower.startswith(("x-amzn-oidc-", "x-alb-auth-"))  # x-alb-auth-*: st.user's source in st.App
        or (websocket and lower.startswith("sec-websocket-"))
    )


def upstream_headers(request: web.Request, identity: Mapping[str, str]) -> CIMultiDict[str]:
    """The client's headers minus hop-by-hop and ``x-amzn-oidc-*``, plus ``identity`` and forwarding."""
    connection = request.headers.get("Connection", "")
    tokens = frozenset(token.strip().lower() for token in connection.split(",") if token.strip())
    websocket = is_websocket(request)
    headers: CIMultiDict[str] = CIMultiDict(
        (name, value) for name, value in request.headers.items() if not _dropped(name, tokens, websocket)
    )
    peer = request.remote or ""
    earlier = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{earlier}, {peer}" if earlier else peer
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Port"] = str(request.url.port or "")
    headers.update(identity)
    return headers


async def forward_http(
    request: web.Request,
    client: aiohttp.ClientSession,
    upstream: str,
    identity: Mapping[str, str],
    finish: Finish | None = None,
    *,
    location: Callable[[str], str] | None = None,
) -> web.StreamResponse:
    """Stream the request to ``upstream`` and its answer back, bytes untouched (no decompression);
    ``finish`` adds to the answer's headers before they go out; ``location``, if given, translates
    the answer's ``Location``."""
    body = request.content if request.body_exists else None
    try:
        async with client.request(
            request.method,
            upstream + request.rel_url.raw_path_qs,
            headers=upstream_headers(request, identity),
            data=body,
            allow_redirects=False,
            # Only what the client sent: aiohttp would otherwise ask for gzip (and name itself) on its
            # behalf, and a client that never offered gzip (curl) would get compressed bytes.
            skip_auto_headers=("Accept-Encoding", "User-Agent"),
        ) as answer:
            response = web.StreamResponse(status=answer.status, reason=answer.reason)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    translate = location is not None and name.lower() == "location"
                    response.headers.add(name, location(value) if translate else value)
            if answer.content_length is not None:
                response.content_length = answer.content_length
            if finish is not None:
                finish(response)
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
    except aiohttp.ClientConnectionError:
        return error_page(502, "Streamlit is not answering (still starting, or stopped).")


async def forward_websocket(
    request: web.Request,
    client: aiohttp.ClientSession,
    upstream: str,
    identity: Mapping[str, str],
    finish: Finish | None = None,
) -> web.StreamResponse:
    """Open the same websocket upstream (same subprotocols), then pump messages both ways."""
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    url = "ws" + upstream.removeprefix("http") + request.rel_url.raw_path_qs
    try:
        to_app = await client.ws_connect(
            url,
            protocols=offered,
            headers=upstream_headers(request, identity),
            max_msg_size=MAX_WEBSOCKET_MESSAGE,
        )
    except aiohttp.WSServerHandshakeError as error:
        return error_page(error.status, "Streamlit refused the websocket")
    except aiohttp.ClientConnectionError:
        return error_page(502, "Streamlit is not answering (still starting, or stopped).")
    to_browser = web.WebSocketResponse(
        protocols=[to_app.protocol] if to_app.protocol else [], max_msg_size=MAX_WEBSOCKET_MESSAGE
    )
    if finish is not None:
        finish(to_browser)
    pumps: list[asyncio.Task[None]] = []
    try:
        await to_browser.prepare(request)
        pumps = [
            asyncio.create_task(_pump(to_app, to_browser)),
            asyncio.create_task(_pump(to_browser, to_app)),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        with contextlib.suppress(*GONE):
            await to_app.close()
        with contextlib.suppress(*GONE):
            await to_browser.close(code=to_app.close_code or aiohttp.WSCloseCode.OK)
    return to_browser


async def _pump(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    target: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    """Until either side goes: a tab closing or a logout navigating away mid-message is normal."""
    with contextlib.suppress(*GONE):
        async for message in source:
            if message.type == aiohttp.WSMsgType.TEXT:
                await target.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await target.send_bytes(message.data)
