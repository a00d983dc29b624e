"""Page authorization in a real ``streamlit run`` behind the stand-in, in a real Chromium.

The review's story: a ``pages/`` file links to a gated script. Streamlit runs ``pages/`` files by URL
until ``st.navigation`` is first called, so a non-member who asked for that URL ran the gated script.
The layout is now refused when the entrypoint first runs, and after that nothing of the app runs by
any URL: each script appends its name to a marker file, so "never ran" is read, not assumed. And a
user refused a page, left without a menu, follows the refusal's own link back to the app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

pytestmark = pytest.mark.e2e

MAIN = """
import streamlit as st
from streamlit_alb_auth import Page, navigation

pages = [st.Page("home.py", title="Home"), Page("views/admin.py", title="Admin", groups=["admin"])]
navigation(pages).run()
"""
EMAIL = "user@example.com"
REFUSAL = re.compile("pages/report.py is this script")


def _script(marker: Path, name: str) -> str:
    return (
        "import pathlib\nimport streamlit as st\n"
        f"pathlib.Path({str(marker)!r}).open('a').write({name!r} + '\\n')\n"
        f"st.header({name + ' page'!r})\n"
    )


@pytest.fixture(scope="module")
def linked(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Path]]:
    folder = tmp_path_factory.mktemp("linked")
    marker = folder / "ran.log"
    (folder / "views").mkdir()
    (folder / "views" / "admin.py").write_text(_script(marker, "admin"))
    (folder / "home.py").write_text(_script(marker, "home"))
    (folder / "pages").mkdir()
    (folder / "pages" / "report.py").symlink_to(Path("..") / "views" / "admin.py")
    (folder / "app.py").write_text(MAIN)
    with start_dev_server(folder, "app.py") as server:
        yield server, marker


def test_a_pages_link_to_a_gated_script_is_refused_and_its_url_runs_nothing(linked, context: BrowserContext):
    server, marker = linked
    page = context.new_page()
    page.goto(server.base_url + "/")
    page.get_by_role("button", name=re.compile(f"Sign in as {re.escape(EMAIL)}")).click()
    expect(page.get_by_text(REFUSAL).first).to_be_visible()
    # The link's own URL, as a non-member would type it: the refusal again, and no script ran.
    page.goto(server.base_url + "/report")
    expect(page.get_by_text(REFUSAL).first).to_be_visible()
    page.goto(server.base_url + "/admin")
    expect(page.get_by_text(REFUSAL).first).to_be_visible()
    assert not marker.exists(), marker.read_text()


def test_a_refused_user_follows_the_refusal_s_link_back_home(dev_server, context: BrowserContext):
    """The packaged demo, /admin as a non-member: no menu (one page left), but a link home."""
    page = context.new_page()
    page.goto(dev_server.base_url + "/admin")
    page.get_by_role("button", name=re.compile(f"Sign in as {re.escape(EMAIL)}")).click()
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("not allowed")
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    page.get_by_role("link", name=re.compile("Back to Home")).click()
    expect(page.get_by_role("heading", name="Hello, user")).to_be_visible()
    assert page.url == dev_server.base_url + "/"
