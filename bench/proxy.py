"""Latency through the local ALB stand-in against the same exchange straight to Streamlit.

The dev server runs as users run it (``python -m streamlit_alb_auth dev``) in front of a tiny app.
``sessions`` clients sign in on the fake hosted UI, then time, concurrently, an HTTP GET of the index
page and a websocket rerun (``rerun_script`` BackMsg until the ``script_finished`` ForwardMsg).

Fairness: direct requests carry what the proxied ones deliver to Streamlit, the session cookies, a
set of ``x-amzn-oidc-*`` headers of the same kinds and sizes (signed once per client up front, as
Streamlit parses but this app never verifies them) and ``X-Forwarded-*``, so the two sides differ by
the proxy hop alone. Direct and proxied rounds alternate, so drift hits both.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.run import Figure
from streamlit_alb_auth.devserver.runner import free_port
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, stop_process_group

# Streamlit binds its listener with proto 0, so asyncio never sets TCP_NODELAY on the connections it
# accepts: on a keep-alive connection a response written in two parts (headers, body) then waits ~40 ms
# for the peer's delayed ACK. That stall hits both sides alike and would hide the hop we measure, so the
# app turns Nagle off on Streamlit's sockets (accepted ones inherit it from the listener); one round
# is first timed as shipped and reported beside the figures.
BENCH_APP = """
import gc
import socket

import streamlit as st


@st.cache_resource
def tcp_nodelay() -> int:
    tcp = [
        obj for obj in gc.get_objects()
        if isinstance(obj, socket.socket) and obj.fileno() >= 0
        and obj.family in (socket.AF_INET, socket.AF_INET6) and obj.type == socket.SOCK_STREAM
    ]
    for sock in tcp:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return len(tcp)


tcp_nodelay()
st.write("hello")
"""
STARTUP_SECONDS = 90
TARGET = 1.3
HTTP_PATH = "/"  # the index page: every visit starts here, and the ALB guards it
USER = "user@example.com"
RERUN = BackMsg(rerun_script=ClientState()).SerializeToString()
GETS_PER_RERUN = 4  # a rerun costs Streamlit tens of GETs' worth of CPU: a round does fewer of them


@dataclass(frozen=True)
class Client:
    """One signed-in browser: the headers it sends the stand-in, and what Streamlit then receives."""

    proxied: dict[str, str]
    direct: dict[str, str]


@dataclass(frozen=True)
class Endpoints:
    proxy: str
    direct: str


@contextmanager
def dev_server(workdir: Path) -> Iterator[Endpoints]:
    """The stand-in and its Streamlit, healthy on free ports; stopped (then killed) on the way out."""
    app = workdir / "bench_app.py"
    app.write_text(BENCH_APP)
    log = workdir / "dev-server.log"
    port, streamlit_port = free_port(), free_port()
    command = [
        sys.executable, "-m", "streamlit_alb_auth", "dev", str(app),
        "--port", str(port), "--streamlit-port", str(streamlit_port),
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=workdir, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    endpoints = Endpoints(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{streamlit_port}")
    try:
        asyncio.run(_wait_healthy(process, endpoints, log))
        yield endpoints
    finally:
        stop_process_group(process)


async def _wait_healthy(process: subprocess.Popen, endpoints: Endpoints, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"dev server exited ({process.returncode}):\n{log.read_text()[-2000:]}")
            try:
                async with client.get(endpoints.proxy + "/_stcore/health") as answer:
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"dev server not healthy after {STARTUP_SECONDS}s:\n{log.read_text()[-2000:]}")


async def sign_in(http: aiohttp.ClientSession, base: str) -> str:
    """Walk the hosted-UI redirects by hand; the ``Cookie`` header a browser would then send."""
    async with http.get(base + HTTP_PATH, allow_redirects=False) as first:
        authorize = first.headers["Location"].replace("http://localhost:", "http://127.0.0.1:")
    async with http.get(authorize, allow_redirects=False) as page:
        html = await page.text()
    form = {k: v.replace("&amp;", "&") for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', html)}
    async with http.post(base + "/login", data={**form, "email": USER}, allow_redirects=False) as login:
        callback = login.headers["Location"]
    async with http.get(callback, allow_redirects=False) as back:
        if back.status != 302:
            raise RuntimeError(f"sign-in failed: {back.status}")
        cookies = {name: morsel.value for name, morsel in back.cookies.items() if morsel.value}
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def direct_headers(cookie: str, alb: LocalAlbSigner, pool: LocalCognitoPool) -> dict[str, str]:
    """What the stand-in would add for this client, signed once now with the same kinds of keys."""
    sub = "bench-user"
    identity = alb.headers(
        {"sub": sub, "email_verified": "true", "email": USER, "username": "user"},
        access_token=pool.access_token(sub, username="user"),
    )
    forwarded = {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Port": "80"}
    return {"Cookie": cookie, **identity, **forwarded}


async def http_round(
    http: aiohttp.ClientSession, url: str, headers: Sequence[dict[str, str]], requests: int
) -> list[float]:
    """``requests`` GETs of ``url`` shared among one sequential loop per client, all clients at once."""
    latencies: list[float] = []
    per_client = max(requests // len(headers), 1)

    async def loop(client_headers: dict[str, str]) -> None:
        for _ in range(per_client):
            start = time.perf_counter()
            async with http.get(url, headers=client_headers, allow_redirects=False) as answer:
                await answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"GET {url}: {answer.status}")
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(loop(h) for h in headers))
    return latencies


async def rerun(socket: aiohttp.ClientWebSocketResponse) -> float:
    """Seconds from sending ``rerun_script`` to receiving the run's ``script_finished``."""
    start = time.perf_counter()
    await socket.send_bytes(RERUN)
    async for message in socket:
        if message.type != aiohttp.WSMsgType.BINARY:
            raise RuntimeError(f"websocket ended: {message.type}")
        forward = ForwardMsg()
        forward.ParseFromString(message.data)
        if forward.WhichOneof("type") == "script_finished":
            return time.perf_counter() - start
    raise RuntimeError("websocket closed before script_finished")


async def websocket_round(sockets: Sequence[aiohttp.ClientWebSocketResponse], reruns: int) -> list[float]:
    """``reruns`` shared among the open sockets, each rerunning in turn, all sockets at once."""
    per_socket = max(reruns // len(sockets), 1)

    async def loop(socket: aiohttp.ClientWebSocketResponse) -> list[float]:
        return [await rerun(socket) for _ in range(per_socket)]

    return [t for times in await asyncio.gather(*(loop(s) for s in sockets)) for t in times]


def figure(kind: str, sessions: int, direct: list[float], proxied: list[float]) -> Figure:
    ratio = statistics.median(proxied) / statistics.median(direct)
    return Figure(
        f"stand-in: {kind}, {sessions} sessions",
        ratio,
        "x",
        "same request straight to Streamlit",
        f"<= {TARGET}x median",
        ratio <= TARGET,
        {
            "median_ms": statistics.median(proxied) * 1e3,
            "p99_ms": p99(proxied) * 1e3,
            "direct_median_ms": statistics.median(direct) * 1e3,
            "direct_p99_ms": p99(direct) * 1e3,
            "samples": len(proxied),
        },
    )


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def interleave(
    direct: Callable[[], Awaitable[list[float]]], proxied: Callable[[], Awaitable[list[float]]], rounds: int
) -> tuple[list[float], list[float]]:
    """One untimed warm-up of each, then ``rounds`` alternations; all samples of each side."""
    await direct()
    await proxied()
    base: list[float] = []
    cand: list[float] = []
    for _ in range(rounds):
        base.extend(await direct())
        cand.extend(await proxied())
    return base, cand


async def _measure(endpoints: Endpoints, requests: int, sessions: int, rounds: int) -> list[Figure]:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=sessions)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        cookies = await asyncio.gather(*(sign_in(http, endpoints.proxy) for _ in range(sessions)))
        alb, pool = LocalAlbSigner(), LocalCognitoPool()
        clients = [Client({"Cookie": c}, direct_headers(c, alb, pool)) for c in cookies]

        def http_rounds(count: int) -> Awaitable[tuple[list[float], list[float]]]:
            return interleave(
                lambda: http_round(http, endpoints.direct + HTTP_PATH, [c.direct for c in clients], requests),
                lambda: http_round(http, endpoints.proxy + HTTP_PATH, [c.proxied for c in clients], requests),
                count,
            )

        def connect(base: str, headers: dict[str, str]) -> Awaitable[aiohttp.ClientWebSocketResponse]:
            url = base.replace("http", "ws", 1) + "/_stcore/stream"
            return http.ws_connect(url, protocols=["streamlit"], headers=headers)

        shipped_direct, shipped_proxied = await http_rounds(1)
        first = await connect(endpoints.direct, clients[0].direct)
        await rerun(first)  # the app's first run turns the Nagle stall off
        await first.close()
        direct_http, proxied_http = await http_rounds(rounds)

        direct_ws = await asyncio.gather(*(connect(endpoints.direct, c.direct) for c in clients))
        proxied_ws = await asyncio.gather(*(connect(endpoints.proxy, c.proxied) for c in clients))
        try:
            direct_rt, proxied_rt = await interleave(
                lambda: websocket_round(direct_ws, requests // GETS_PER_RERUN),
                lambda: websocket_round(proxied_ws, requests // GETS_PER_RERUN),
                rounds,
            )
        finally:
            await asyncio.gather(*(s.close() for s in [*direct_ws, *proxied_ws]))
    http_figure = figure("proxied HTTP GET /", sessions, direct_http, proxied_http)
    http_figure.details.update(
        {
            "as_shipped_ratio": statistics.median(shipped_proxied) / statistics.median(shipped_direct),
            "as_shipped_median_ms": statistics.median(shipped_proxied) * 1e3,
            "as_shipped_direct_median_ms": statistics.median(shipped_direct) * 1e3,
            "note": "Streamlit's sockets get TCP_NODELAY; as_shipped_* (one round) are timed before",
        }
    )
    return [http_figure, figure("websocket round trip (rerun)", sessions, direct_rt, proxied_rt)]


def measure_proxy(requests: int, sessions: int, rounds: int) -> list[Figure]:
    """Two figures: the index page GET and a websocket rerun, with ``sessions`` concurrent clients."""
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as workdir, dev_server(Path(workdir)) as ends:
        return asyncio.run(_measure(ends, requests, sessions, rounds))
