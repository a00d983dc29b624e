"""The start-up hook that shows an uncaught ConfigurationError as one paragraph: installed once."""

from __future__ import annotations

import sys

from streamlit_alb_auth.asgi.brief import brief_if_uncaught


def test_a_second_failed_start_does_not_stack_another_hook(monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    brief_if_uncaught()
    hook = sys.excepthook
    assert hook is not sys.__excepthook__
    brief_if_uncaught()
    assert sys.excepthook is hook  # a rerun of the script (or a second st.App) keeps the one hook
