"""The ``streamlit-alb-auth dev`` command around the stand-in: which script it runs, and its child process."""

from __future__ import annotations

from pathlib import Path

import streamlit_alb_auth
from streamlit_alb_auth.demo import DEMO_APP
from streamlit_alb_auth.devserver import resolve_app


def test_dev_without_a_script_runs_the_packaged_demo(tmp_path):
    assert resolve_app(None, tmp_path) == DEMO_APP
    assert DEMO_APP.is_file()
    assert DEMO_APP.is_relative_to(Path(streamlit_alb_auth.__file__).parent)


def test_dev_without_a_script_prefers_a_demo_app_in_the_current_folder(tmp_path):
    (tmp_path / "demo_app.py").write_text("import streamlit as st\n")
    assert resolve_app(None, tmp_path) == tmp_path / "demo_app.py"
    assert resolve_app("other.py", tmp_path) == Path("other.py")
