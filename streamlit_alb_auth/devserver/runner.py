"""Run Streamlit on a loopback port behind the stand-in, and stop both together.

Streamlit stays in our process group, so a terminal's Ctrl-C reaches it too; we still terminate
it ourselves (then kill it after a grace period) so SIGTERM to us alone also leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from streamlit_alb_auth.devserver.app import build_app
from streamlit_alb_auth.devserver.config import DevConfig

STARTUP_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def streamlit_command(app: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


async def wait_until_healthy(url: str, timeout: float = STARTUP_SECONDS) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as client:
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with client.get(url + "/_stcore/health") as answer:
                    if answer.status == 200:
                        return True
            await asyncio.sleep(0.25)
    return False


def banner(config: DevConfig) -> str:
    users = ", ".join(
        user.email + (f" ({', '.join(user.groups)})" if user.groups else "") for user in config.users
    )
    return (
        f"\n  streamlit-alb-auth dev: open {config.public_url}/\n"
        f"  sign in as: {users}\n"
        f"  Streamlit itself is on {config.upstream_url} (internal: no sign-in and no identity there)\n"
        "  Ctrl-C stops both.\n"
    )


async def _stop(child: asyncio.subprocess.Process) -> None:
    if child.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        child.terminate()
    try:
        await asyncio.wait_for(child.wait(), STOP_GRACE_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()


async def serve(config: DevConfig, app: Path) -> int:
    """Until SIGINT/SIGTERM (exit 0) or Streamlit's exit (its code, or 1)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(build_app(config), access_log=None)
    await runner.setup()
    child: asyncio.subprocess.Process | None = None
    try:
        try:
            await web.TCPSite(runner, "127.0.0.1", config.port).start()
        except OSError as error:
            print(f"cannot listen on 127.0.0.1:{config.port}: {error.strerror} (try --port)", file=sys.stderr)
            return 2
        child = await asyncio.create_subprocess_exec(
            *streamlit_command(app, config.streamlit_port),
            env={**os.environ, **config.app_environment()},
        )
        stopped = asyncio.ensure_future(stop.wait())
        exited = asyncio.ensure_future(child.wait())
        ready = asyncio.ensure_future(wait_until_healthy(config.upstream_url))
        await asyncio.wait({stopped, exited, ready}, return_when=asyncio.FIRST_COMPLETED)
        if ready.done() and ready.result():
            print(banner(config), flush=True)
            await asyncio.wait({stopped, exited}, return_when=asyncio.FIRST_COMPLETED)
        elif ready.done():
            print(f"Streamlit did not become healthy within {STARTUP_SECONDS:.0f}s", file=sys.stderr)
        for task in (stopped, exited, ready):
            task.cancel()
        if stop.is_set():
            return 0
        return child.returncode or 1
    finally:
        if child is not None:
            await _stop(child)
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
