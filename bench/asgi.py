"""The door: a Starlette app with ``AlbAuthMiddleware`` against the same app without it, same process.

Both are called directly as ASGI apps (no sockets), with the headers a browser request carries behind the
ALB (session cookies included), so the figure is the middleware's own cost per request: a repeat token,
as every request of a signed-in user after the first.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import TYPE_CHECKING, Any

from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer

if TYPE_CHECKING:
    from bench.run import Counts, Figure

USER = {"sub": "4b1f0c2e-9d1a-4e55-8f6a-1c2d3e4f5a6b", "email": "ada@example.com", "username": "ada"}
BROWSER_HEADERS = [
    ("host", "app.example.com"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0"),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-language", "en-US,en;q=0.9"),
    ("cookie", f"{SESSION_COOKIE}-0=" + "a" * 3800 + f"; {SESSION_COOKIE}-1=" + "b" * 900),
    ("x-amzn-trace-id", "Root=1-67891233-abcdef012345678912345678"),
    ("x-forwarded-for", "203.0.113.7"),
    ("x-forwarded-port", "443"),
    ("x-forwarded-proto", "https"),
]


def _apps(settings: dict[str, str]) -> tuple[Any, Any]:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from streamlit_alb_auth.asgi import AlbAuthMiddleware

    async def page(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = [Route("/{path:path}", page)]
    return (
        Starlette(routes=routes),
        Starlette(routes=routes, middleware=[Middleware(AlbAuthMiddleware, **settings)]),
    )


async def _requests(
    app: Any, headers: list[tuple[bytes, bytes]], ops: int, path: str = "/media/abc.png"
) -> float:
    """Seconds per request; fails loudly if any answer is not a 200."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "scheme": "https",
        "server": ("10.0.0.5", 8501),
        "client": ("10.0.0.9", 40000),
        "http_version": "1.1",
        "root_path": "",
        "asgi": {"version": "3.0"},
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    start = time.perf_counter()
    for _ in range(ops):
        await app(dict(scope), receive, send)
    elapsed = (time.perf_counter() - start) / ops
    if set(statuses) != {200}:
        raise RuntimeError(f"the benchmark app answered {sorted(set(statuses))}")
    return elapsed


def bench_middleware(counts: Counts) -> Figure:
    from streamlit import config

    from bench.run import Figure
    from streamlit_alb_auth.asgi.user_headers import OPTION

    signer, pool = LocalAlbSigner(), LocalCognitoPool()
    ops = max(counts.cached_ops // 10, 5)
    with LocalKeyServer(signer, pools=[pool]) as server:
        settings = {
            "alb_arn": signer.alb_arn,
            "client_id": signer.client_id,
            "key_url": server.alb_key_url,
            "user_pool_id": pool.user_pool_id,
            "jwks_url": server.jwks_url,
        }
        alb = signer.headers(USER, access_token=pool.access_token(USER["sub"], groups=["staff"]))
        headers = [(n.encode(), v.encode()) for n, v in [*BROWSER_HEADERS, *alb.items()]]
        bare, guarded = _apps(settings)

        async def measure() -> tuple[float, float]:
            await _requests(guarded, headers, 1)  # the first request verifies; the rest are repeats
            base, cand = [], []
            for _ in range(counts.rounds):
                base.append(await _requests(bare, headers, ops))
                cand.append(await _requests(guarded, headers, ops))
            return statistics.median(base), statistics.median(cand)

        try:
            base, cand = asyncio.run(measure())
        finally:
            config.set_option(OPTION, {}, where_defined="<default>")
    ratio = cand / base
    added = cand - base
    return Figure(
        "AlbAuthMiddleware per request, repeat token",
        ratio,
        "x",
        "same Starlette app without it",
        # The baseline is a bare route (no I/O), so the ratio is an upper bound for a real st.App.
        "<= 3x and < 15 us added",
        ratio <= 3 and added < 15e-6,
        {"ours_us": cand * 1e6, "added_us": added * 1e6, "baseline_us": base * 1e6},
    )


AGENT_PATH = "/_stcore/agent/interact"
MACHINE = "agent-client-1"


def bench_bearer_door(counts: Counts) -> Figure:
    """A machine client's repeat request (bearer token) against a person's (ALB headers), both on the
    agent API path through the same middleware: what the bearer door adds over the browser door."""
    import uuid

    import jwt
    from streamlit import config

    from bench.run import Figure
    from streamlit_alb_auth.asgi.user_headers import OPTION

    signer, pool = LocalAlbSigner(), LocalCognitoPool()
    ops = max(counts.cached_ops // 10, 5)
    with LocalKeyServer(signer, pools=[pool]) as server:
        settings = {
            "alb_arn": signer.alb_arn,
            "key_url": server.alb_key_url,
            "bearer_issuer": pool.issuer,
            "bearer_audience": MACHINE,
            "bearer_jwks_url": server.jwks_url,
        }
        now = int(time.time())
        claims = {"sub": MACHINE, "iss": pool.issuer, "client_id": MACHINE, "scope": "streamlit/agent"}
        claims |= {"iat": now, "exp": now + 3600, "jti": str(uuid.uuid4()), "token_use": "access"}
        token = jwt.encode(claims, pool.private_key, algorithm="RS256", headers={"kid": pool.kid})
        common = [(n.encode(), v.encode()) for n, v in BROWSER_HEADERS if n != "cookie"]
        person = [*common, *((n.encode(), v.encode()) for n, v in signer.headers(USER).items())]
        machine = [*common, (b"authorization", f"Bearer {token}".encode())]
        _bare, guarded = _apps(settings)

        async def measure() -> tuple[float, float]:
            await _requests(guarded, person, 1, AGENT_PATH)  # first requests verify; the rest are repeats
            await _requests(guarded, machine, 1, AGENT_PATH)
            base, cand = [], []
            for _ in range(counts.rounds):
                base.append(await _requests(guarded, person, ops, AGENT_PATH))
                cand.append(await _requests(guarded, machine, ops, AGENT_PATH))
            return statistics.median(base), statistics.median(cand)

        try:
            base, cand = asyncio.run(measure())
        finally:
            config.set_option(OPTION, {}, where_defined="<default>")
    ratio = cand / base
    return Figure(
        "AlbAuthMiddleware per request, repeat bearer token (machine client)",
        ratio,
        "x",
        "a repeat ALB-user request, same middleware and path",
        "<= 1.5x",
        ratio <= 1.5,
        {"ours_us": cand * 1e6, "baseline_us": base * 1e6},
    )
