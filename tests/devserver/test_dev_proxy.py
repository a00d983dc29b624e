"""The stand-in's websocket proxy when a browser goes away mid-stream: quiet, and nothing left open."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import warnings

import aiohttp
from aiohttp import web

from streamlit_alb_auth.devserver.app import build_app
from streamlit_alb_auth.devserver.config import DevConfig
from streamlit_alb_auth.devserver.runner import free_port

STREAM_PATH = "/_stcore/stream"
DOWNLOAD_PATH = "/media/big"


def _chatty_streamlit(sent: list[int]) -> web.Application:
    """A stand-in for Streamlit that sends messages as fast as it can until its socket closes."""

    async def stream(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(protocols=["streamlit"])
        await socket.prepare(request)

        async def send() -> None:
            with contextlib.suppress(ConnectionError):
                while not socket.closed:
                    await socket.send_bytes(b"x" * 4096)
                    sent.append(1)
                    await asyncio.sleep(0)

        sender = asyncio.create_task(send())
        async for _ in socket:  # reads, as Streamlit does, so a close handshake completes
            pass
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        return socket

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(2000):
                await response.write(b"y" * 65536)
                sent.append(1)
        return response

    app = web.Application()
    app.router.add_get(STREAM_PATH, stream)
    app.router.add_get(DOWNLOAD_PATH, download)
    return app


async def _browser_leaves_mid_stream(abort: bool) -> list[int]:
    sent: list[int] = []
    # Exempt the stream path so no sign-in is needed: the proxy is what is under test.
    config = DevConfig(
        port=free_port(), streamlit_port=free_port(), exempt_paths=frozenset({STREAM_PATH, DOWNLOAD_PATH})
    )
    runners = [web.AppRunner(_chatty_streamlit(sent)), web.AppRunner(build_app(config))]
    for runner, port in zip(runners, (config.streamlit_port, config.port), strict=True):
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        for _ in range(5):
            async with aiohttp.ClientSession() as client:
                async with client.get(config.loopback_url + DOWNLOAD_PATH) as download:
                    await download.content.readexactly(65536)
                    download.connection.transport.abort()
                socket = await client.ws_connect(config.loopback_url + STREAM_PATH, protocols=["streamlit"])
                for _ in range(20):
                    await socket.receive()
                if abort:
                    # A tab closed or a page navigated away (logout): no closing handshake.
                    socket._response.connection.transport.abort()
                else:
                    await socket.close()
            await asyncio.sleep(0.2)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
    return sent


def _run_and_collect(abort: bool, caplog) -> list[str]:
    """Everything that a user would see in the terminal: error logs, loop errors, unclosed warnings."""
    problems: list[str] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: problems.append(str(context.get("exception") or context["message"]))
        )
        assert await _browser_leaves_mid_stream(abort)

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    problems += [str(warning.message) for warning in caught if "nclosed" in str(warning.message)]
    problems += [f"{record.name}: {record.getMessage()} {record.exc_info}" for record in caplog.records]
    return problems


def test_browser_aborting_its_websocket_mid_stream_is_quiet(caplog):
    assert _run_and_collect(abort=True, caplog=caplog) == []


def test_browser_closing_its_websocket_mid_stream_is_quiet(caplog):
    assert _run_and_collect(abort=False, caplog=caplog) == []
