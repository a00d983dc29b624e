"""The doctor's test rig: the ALB stand-in on a loopback port in front of a fake Streamlit, and the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from streamlit_alb_auth.devserver.app import build_app
from streamlit_alb_auth.devserver.config import DevConfig
from streamlit_alb_auth.devserver.runner import free_port
from streamlit_alb_auth.doctor import Check, doctor_fetcher
from streamlit_alb_auth.doctor.live import check_deployment

ROOT = Path(__file__).resolve().parents[2]


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _fake_streamlit() -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(text="ok" if request.path == "/_stcore/health" else "<html>app</html>")

    app = web.Application()
    app.add_routes([web.route("*", "/{tail:.*}", answer)])
    return app


@contextmanager
def stand_in(config_changes: dict[str, Any] | None = None, handler: Handler | None = None) -> Iterator[str]:
    """The stand-in on a loopback port, in its own thread and event loop; yields its URL."""
    config = replace(DevConfig(port=free_port(), streamlit_port=free_port()), **(config_changes or {}))
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []

    async def start() -> None:
        for app, port in (
            (_fake_streamlit(), config.streamlit_port),
            (build_app(config, logout_handler=handler), config.port),
        ):
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield f"http://127.0.0.1:{config.port}/"
    finally:

        async def stop() -> None:
            for runner in runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def live(url: str, **options: Any) -> dict[str, Check]:
    checks = check_deployment(url, fetcher=doctor_fetcher(), **options)
    return {check.name: check for check in checks}


def doctor_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamlit_alb_auth", "doctor", *args],
        cwd=cwd,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
