"""Streamlit's own terminal output, relayed through the stand-in so the user sees one banner.

Streamlit announces its internal loopback URL (no sign-in there), which is the wrong one to open
behind the stand-in, and prints "Stopping..." once per signal it gets. Those lines are dropped;
everything else (the app's prints, warnings, tracebacks) is passed on unchanged, and the last lines
are kept to explain an early exit.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import TextIO

LINE_LIMIT = 1 << 20
KEPT_LINES = 20
# The welcome block (for Streamlit versions without logger.hideWelcomeMessage), the server-started
# log line, and Streamlit's own "Stopping..." (the stand-in prints its own, once).
CHATTER = re.compile(
    r"^\s*(?:"
    r"You can now view your Streamlit app in your browser\.?"
    r"|(?:Local |Network |External )?URL: http://\S+"
    r"|Stopping\.\.\."
    r"|\S+ \S+ (?:Uvicorn server|Tornado server) started on \S+"
    r")\s*$"
)
PORT_TAKEN = re.compile(r"Port \d+ is (?:already )?in use|address already in use", re.IGNORECASE)


def is_chatter(line: str) -> bool:
    return CHATTER.match(line) is not None


class ChildOutput:
    """Relays a child's stdout and stderr line by line, minus Streamlit's chatter; keeps the tail."""

    def __init__(self) -> None:
        self.tail: deque[str] = deque(maxlen=KEPT_LINES)

    async def relay(self, source: asyncio.StreamReader, target: TextIO) -> None:
        while True:
            try:
                raw = await source.readline()
            except ValueError:  # one line longer than LINE_LIMIT: pass it on as it comes
                raw = await source.read(LINE_LIMIT)
            if not raw:
                return
            line = raw.decode("utf-8", errors="replace")
            self.tail.append(line.rstrip("\n"))
            if not is_chatter(line):
                target.write(line)
                target.flush()

    def explain_exit(self, code: int | None, port: int, *, was_ready: bool) -> str:
        """What to tell the user when Streamlit exits by itself."""
        when = "while serving" if was_ready else "before it was ready"
        message = f"streamlit-alb-auth dev: Streamlit exited {when} (exit code {code})"
        if any(PORT_TAKEN.search(line) for line in self.tail):
            return (
                f"{message}: its port 127.0.0.1:{port} is taken by another process. "
                "Pass another --streamlit-port, or leave it out to use a free one."
            )
        return message + ": see its output above."
