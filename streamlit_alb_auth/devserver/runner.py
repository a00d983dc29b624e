"""Run Streamlit on a loopback port behind the stand-in, and stop both together.

Streamlit stays in our process group, so a terminal's Ctrl-C reaches it too; we still terminate
it ourselves (then kill it after a grace period) so SIGTERM to us alone also leaves nothing behind.
Its output passes through us (``output.py``), so the terminal shows one banner and one "Stopping...".

A health check alone cannot tell our Streamlit from another one on the same port, so the port must
be free before we start ours, and "ready" means healthy *and* our child still running; if it exits,
we say why (a taken port gets named) instead of serving someone else's app.
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

from streamlit_alb_auth.devserver.app import build_app, server_options
from streamlit_alb_auth.devserver.config import DevConfig
from streamlit_alb_auth.devserver.output import LINE_LIMIT, ChildOutput

STARTUP_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0
DEV_URL_ENV = "ALB_AUTH_DEV_URL"


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


def port_is_free(port: int) -> bool:
    """Whether our Streamlit can listen on ``port``: bound the way Streamlit binds (SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def child_environment(config: DevConfig) -> dict[str, str]:
    """The app's settings (its logout route's too), the URL to open (the demo shows it on the internal
    port), no welcome banner."""
    # --machine-clients is for the agent API: on, unless the developer set it themselves.
    agents = {"STREAMLIT_SERVER_ENABLE_AGENT_API": "true"} if config.machine_clients else {}
    return {
        **agents,
        **os.environ,
        **config.lambda_environment(),
        **config.app_environment(),
        DEV_URL_ENV: config.public_url + "/",
        # Older Streamlit ignores an option it lacks; ChildOutput drops the banner there instead.
        "STREAMLIT_LOGGER_HIDE_WELCOME_MESSAGE": "true",
        "PYTHONUNBUFFERED": "1",
    }


def banner(config: DevConfig) -> str:
    users = ", ".join(
        user.email + (f" ({', '.join(user.groups)})" if user.groups else "") for user in config.users
    )
    machines = ""
    if config.machine_clients:
        from streamlit_alb_auth.devserver.machines import MACHINE_CLIENT_ID, MACHINE_SCOPE, TOKEN_PATH

        machines = (
            f"  machine clients: POST {config.public_url}{TOKEN_PATH} with client id {MACHINE_CLIENT_ID}, "
            f"secret {config.machine_secret} (scope {MACHINE_SCOPE}); then Bearer on /_stcore/agent/*\n"
        )
    return (
        f"\n  streamlit-alb-auth dev: open {config.public_url}/\n"
        f"  sign in as: {users}\n"
        f"{machines}"
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
    if not port_is_free(config.streamlit_port):
        print(
            f"cannot start Streamlit on 127.0.0.1:{config.streamlit_port}: the port is in use "
            "(another Streamlit?). Pass another --streamlit-port, or leave it out to use a free one.",
            file=sys.stderr,
        )
        return 2
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(build_app(config), access_log=None, **server_options())
    await runner.setup()
    child: asyncio.subprocess.Process | None = None
    relays: list[asyncio.Task[None]] = []
    try:
        try:
            await web.TCPSite(runner, "127.0.0.1", config.port).start()
        except OSError as error:
            print(f"cannot listen on 127.0.0.1:{config.port}: {error.strerror} (try --port)", file=sys.stderr)
            return 2
        child = await asyncio.create_subprocess_exec(
            *streamlit_command(app, config.streamlit_port),
            env=child_environment(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        output = ChildOutput()
        assert child.stdout is not None and child.stderr is not None
        relays = [
            asyncio.ensure_future(output.relay(child.stdout, sys.stdout)),
            asyncio.ensure_future(output.relay(child.stderr, sys.stderr)),
        ]
        return await _supervise(config, child, stop, output, relays)
    finally:
        if stop.is_set():
            print("  Stopping...", flush=True)
        if child is not None:
            await _stop(child)
        if relays:
            await asyncio.wait(relays, timeout=STOP_GRACE_SECONDS)
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _supervise(
    config: DevConfig,
    child: asyncio.subprocess.Process,
    stop: asyncio.Event,
    output: ChildOutput,
    relays: list[asyncio.Task[None]],
) -> int:
    """Healthy means our child is alive and answering: a health check alone could be another server's."""
    stopped = asyncio.ensure_future(stop.wait())
    exited = asyncio.ensure_future(child.wait())
    ready = asyncio.ensure_future(wait_until_healthy(config.upstream_url))
    try:
        await asyncio.wait({stopped, exited, ready}, return_when=asyncio.FIRST_COMPLETED)
        was_ready = ready.done() and ready.result() and child.returncode is None
        if was_ready:
            print(banner(config), flush=True)
            await asyncio.wait({stopped, exited}, return_when=asyncio.FIRST_COMPLETED)
        elif ready.done() and not stop.is_set():
            print(f"Streamlit did not become healthy within {STARTUP_SECONDS:.0f}s", file=sys.stderr)
        if stop.is_set():
            return 0
        if child.returncode is not None:
            await asyncio.wait(relays, timeout=2)  # its last words first, then ours
            why = output.explain_exit(child.returncode, config.streamlit_port, was_ready=was_ready)
            print(why, file=sys.stderr)
        return child.returncode or 1
    finally:
        for task in (stopped, exited, ready):
            task.cancel()
