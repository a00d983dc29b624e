"""The start-up hook that shows an uncaught ConfigurationError as one paragraph: installed once."""

from __future__ import annotations

import sys

from streamlit_alb_auth.asgi.brief import brief_if_uncaught
from streamlit_alb_auth.errors import ConfigurationError


def test_a_second_failed_start_does_not_stack_another_hook(monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    brief_if_uncaught()
    hook = sys.excepthook
    assert hook is not sys.__excepthook__
    brief_if_uncaught()
    assert sys.excepthook is hook  # a rerun of the script (or a second st.App) keeps the one hook


def installed(monkeypatch, argv: list[str]) -> list[type[BaseException]]:
    """The hook over a recording one, ``argv`` as ``streamlit run`` leaves it; returns what reached it."""
    passed_on: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, trace: passed_on.append(kind))
    monkeypatch.setattr(sys, "argv", argv)
    brief_if_uncaught()
    return passed_on


def test_an_uncaught_configuration_error_is_one_paragraph_naming_the_script(monkeypatch, capsys):
    passed_on = installed(monkeypatch, ["pages/app.py", "--server.port", "8501"])
    sys.excepthook(ConfigurationError, ConfigurationError("No ALB ARN is configured."), None)
    printed = capsys.readouterr().err
    assert printed.startswith(
        "\nstreamlit-alb-auth stopped pages/app.py at start-up. No ALB ARN is configured."
    )
    assert " ".join(printed.split()).count("`streamlit-alb-auth dev pages/app.py`") == 1
    assert "nothing answers there" in printed and passed_on == []


def test_a_message_naming_the_dev_command_gets_the_script_and_no_second_hint(monkeypatch, capsys):
    installed(monkeypatch, ["main.py"])
    sys.excepthook(ConfigurationError, ConfigurationError("Run `streamlit-alb-auth dev` instead."), None)
    printed = " ".join(capsys.readouterr().err.split())
    assert "Run `streamlit-alb-auth dev main.py` instead." in printed
    assert "To run it locally" not in printed


def test_without_a_script_name_the_paragraph_says_app_py(monkeypatch, capsys):
    installed(monkeypatch, [""])
    sys.excepthook(ConfigurationError, ConfigurationError("No ALB ARN."), None)
    assert "stopped app.py at start-up" in capsys.readouterr().err


def test_any_other_error_goes_to_the_previous_hook(monkeypatch, capsys):
    passed_on = installed(monkeypatch, ["app.py"])
    sys.excepthook(ValueError, ValueError("not ours"), None)
    assert passed_on == [ValueError] and capsys.readouterr().err == ""
