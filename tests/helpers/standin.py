"""The ALB stand-in on loopback in front of a fake Streamlit, and a sign-in and logout walked by hand."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urljoin

import aiohttp
from aiohttp import web

from streamlit_alb_auth.devserver.app import MAX_HEADER_BYTES, build_app, server_options
from streamlit_alb_auth.devserver.config import DevConfig
from streamlit_alb_auth.devserver.runner import free_port
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE

COOKIE = SESSION_COOKIE


@dataclass
class Upstream:
    """What the fake Streamlit saw."""

    requests: list[dict[str, str]] = field(default_factory=list)


def _fake_streamlit(seen: Upstream) -> web.Application:
    async def echo(request: web.Request) -> web.StreamResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        headers["body"] = (await request.read()).decode()
        seen.requests.append({"path": request.path_qs, **headers})
        if request.headers.get("Upgrade", "").lower() == "websocket":
            socket = web.WebSocketResponse(protocols=["streamlit"])
            await socket.prepare(request)
            await socket.send_str(json.dumps(headers))
            async for message in socket:
                await socket.send_str("echo:" + message.data)
            return socket
        return web.json_response(headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def fake_streamlit_runner(seen: Upstream) -> web.AppRunner:
    """Tornado, under Streamlit, takes a whole header of up to 64 K and no smaller per-line cap."""
    return web.AppRunner(
        _fake_streamlit(seen), max_line_size=MAX_HEADER_BYTES, max_field_size=MAX_HEADER_BYTES
    )


@dataclass
class Running:
    config: DevConfig
    base: str
    upstream: Upstream
    client: aiohttp.ClientSession


@asynccontextmanager
async def running_stand_in(**settings: Any) -> AsyncIterator[Running]:
    seen = Upstream()
    config = DevConfig(port=free_port(), streamlit_port=free_port(), **settings)
    runners = [fake_streamlit_runner(seen), web.AppRunner(build_app(config), **server_options())]
    for runner, port in zip(runners, (config.streamlit_port, config.port), strict=True):
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
            yield Running(config, config.public_url, seen, client)
    finally:
        for runner in runners:
            await runner.cleanup()


def run(scenario: Callable[[Running], Awaitable[None]], **settings: Any) -> None:
    async def main() -> None:
        async with running_stand_in(**settings) as stand_in:
            await scenario(stand_in)

    asyncio.run(main())


def _set_cookies(answer: aiohttp.ClientResponse) -> list[SimpleCookie]:
    cookies = []
    for header in answer.headers.getall("Set-Cookie", []):
        cookie = SimpleCookie()
        cookie.load(header)
        cookies.append(cookie)
    return cookies


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def _sign_in(stand_in: Running, email: str, path: str = "/page?x=1") -> tuple[dict[str, str], str]:
    """Walk the redirects by hand; return the session cookies, the hosted UI's cookie, and where we ended."""
    get = stand_in.client.get
    async with get(stand_in.base + path, allow_redirects=False) as first:
        assert first.status == 302
        authorize = first.headers["Location"]
    async with get(authorize, allow_redirects=False) as page:
        assert page.status == 200
        html = await page.text()
    form = dict(re.findall(r'name="(client_id|redirect_uri|state|scope)" value="([^"]*)"', html))
    form = {name: value.replace("&amp;", "&") for name, value in form.items()}
    async with stand_in.client.post(
        stand_in.base + "/login", data={**form, "email": email}, allow_redirects=False
    ) as login:
        assert login.status == 302
        callback = login.headers["Location"]
        sign_in = {k: m.value for c in _set_cookies(login) for k, m in c.items()}
    async with get(callback, allow_redirects=False) as back:
        assert back.status == 302
        cookies = {}
        for cookie in _set_cookies(back):
            for name, morsel in cookie.items():
                assert morsel["httponly"] is True
                if morsel["max-age"] == 0 or morsel["max-age"] == "0":
                    continue  # a stale higher shard, expired
                cookies[name] = morsel.value
                assert morsel["max-age"] == str(stand_in.config.session_seconds)
                assert morsel["samesite"] == "Lax"
                assert morsel["path"] == "/"
        return {**cookies, "cognito": sign_in["cognito"]}, back.headers["Location"]


GLOBAL_SIGN_OUT = {
    "X-Amz-Target": "AWSCognitoIdentityProviderService.GlobalSignOut",
    "Content-Type": "application/x-amz-json-1.1",
}


async def _status(stand_in: Running, path: str, cookies: dict[str, str]) -> int:
    headers = {"Cookie": _cookie_header(cookies)}
    async with stand_in.client.get(stand_in.base + path, headers=headers, allow_redirects=False) as answer:
        return answer.status


async def _log_out(stand_in: Running, cookies: dict[str, str]) -> list[tuple[str, list[str]]]:
    """Follow the logout path's redirects up to the hosted UI's /logout; (Location, expired shards) each."""
    url, answers = stand_in.base + LOGOUT_PATH, []
    while url.startswith(stand_in.base + LOGOUT_PATH) and len(answers) < 10:
        headers = {"Cookie": _cookie_header(cookies)}
        async with stand_in.client.get(url, headers=headers, allow_redirects=False) as answer:
            assert answer.status == 302
            expired = [name for c in _set_cookies(answer) for name, m in c.items() if m["max-age"] == "0"]
            answers.append((answer.headers["Location"], expired))
        cookies = {name: value for name, value in cookies.items() if name not in expired}
        url = urljoin(url, answers[-1][0])
    return answers


def _session_only(cookies: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in cookies.items() if name.startswith(COOKIE)}


async def _status_after_expiry(stand_in: Running, cookies: dict[str, str]) -> int:
    """The status of /page once the session's access token (``access_token_seconds``) has expired:
    polled until the stand-in refreshes (a renewed cookie) or refuses (a redirect), within a deadline."""
    deadline = time.monotonic() + stand_in.config.access_token_seconds + 15
    while time.monotonic() < deadline:
        headers = {"Cookie": _cookie_header(cookies)}
        async with stand_in.client.get(
            stand_in.base + "/page", headers=headers, allow_redirects=False
        ) as page:
            if page.status == 302 or page.headers.getall("Set-Cookie", []):
                return page.status
        await asyncio.sleep(0.1)
    raise AssertionError("the session was neither refreshed nor refused after its access token expired")
