"""A configuration error at start-up, told as one paragraph (``alb_auth()``), not fifty lines of frames."""

from __future__ import annotations

import os
import sys
import textwrap
from types import TracebackType

from streamlit_alb_auth.errors import ConfigurationError


def brief_if_uncaught() -> None:
    """Show an uncaught ConfigurationError as one paragraph instead of a traceback.

    ``streamlit run app.py`` prints the app's URL, then imports app.py inside uvicorn: a bad setting there
    ended the process with some fifty lines of uvicorn and click frames and the message at the bottom.
    A caller that catches the error sees no difference.
    """
    previous = sys.excepthook
    if getattr(previous, "alb_auth_brief", False):
        return

    def brief(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if not issubclass(kind, ConfigurationError):
            previous(kind, error, trace)
            return
        script = os.path.relpath(sys.argv[0]) if sys.argv[0] else "app.py"
        command = f"`streamlit-alb-auth dev {script}`"
        text = str(error).replace("`streamlit-alb-auth dev`", command)
        if command not in text:
            text += f" To run it locally with every setting made for you: {command}."
        text = f"streamlit-alb-auth stopped {script} at start-up. {text} "
        text += f"(Streamlit printed its URL before it loaded {script}; nothing answers there.)"
        print("\n" + textwrap.fill(text, width=100, break_on_hyphens=False), file=sys.stderr)

    brief.alb_auth_brief = True  # type: ignore[attr-defined]
    sys.excepthook = brief
