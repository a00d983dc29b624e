"""Streamlit's ``pages/`` folder, which runs scripts by URL ungated: a gated page must not be one of them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
from streamlit.url_util import is_url

PageSource: TypeAlias = str | Path | Callable[[], None]
"""What ``st.Page`` takes: a script path (relative to the entrypoint), a callable, or a URL."""


def refuse_pages_folder(page: PageSource) -> None:
    """Refuse a gated script that Streamlit would also run by URL from the ``pages/`` folder.

    Until ``st.navigation`` is first called after a server start, Streamlit runs every ``*.py`` in the
    ``pages`` folder beside the (resolved) entrypoint by its own URL, following symlinks, without
    running the entrypoint at all. So the question is not where the path points but whether any file
    there *is* this script: a symlinked page, a symlinked ``pages`` folder, a link (or hard link) in
    ``pages/`` to a gated script elsewhere.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not isinstance(page, str | Path) or is_url(str(page)):
        return
    entrypoint = Path(ctx.main_script_path)
    script = entrypoint.parent / page  # as st.Page finds it
    # Streamlit lists the pages beside the resolved entrypoint; an entrypoint reached through a
    # link has a second folder beside it: look in both.
    folders = {entrypoint.parent, entrypoint.resolve().parent}
    candidates = [f for folder in sorted(folders) for f in _pages_folder_scripts(folder)]
    twin = next((f for f in candidates if _same_file(f, script)), None)
    if twin is None:
        return
    # Nothing of this app should run any more in this process: with the pages folder left on,
    # the refused script would still answer its URL there for anyone.
    PagesManager.uses_pages_directory = False
    raise ValueError(
        f"Page({str(page)!r}, groups=...): a gated script cannot be in, or be linked from, the pages/ "
        f"folder beside the entrypoint (pages/{twin.name} is this script), because Streamlit runs the "
        "files there by URL, ungated, until st.navigation is first called after a server start. Move "
        "it to another folder (for example views/) and remove the link."
    )


def _pages_folder_scripts(entrypoint_folder: Path) -> list[Path]:
    # Every *.py, not only the ones Streamlit lists today (it skips dot files and __init__.py).
    folder = entrypoint_folder / "pages"
    return sorted(folder.glob("*.py")) if folder.is_dir() else []


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # a dangling link runs nothing
        return False
