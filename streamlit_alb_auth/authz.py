"""Who may see what: ``require_groups()`` gates a section, ``Page`` and ``navigation()`` gate pages.

Groups are the verified ``AlbUser.groups`` (never anything the browser can set). A page the user may
not open is left out of ``st.navigation`` altogether: in its place goes a hidden stand-in at the same
URL path whose only content is the refusal, so the menu and direct URLs agree,
and the gated script is never handed to Streamlit for someone outside its groups.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
from streamlit.url_util import is_url

from streamlit_alb_auth.session import get_alb_user, stop_with
from streamlit_alb_auth.user import AlbUser

PageSource: TypeAlias = str | Path | Callable[[], None]
PageLike: TypeAlias = "Page | st.Page | PageSource"
_LOCK_ICON = ":material/lock:"
_BACK_ICON = ":material/arrow_back:"


def require_groups(*groups: str, user: AlbUser | None = None, all_groups: bool = False) -> AlbUser:
    """Return the verified user if they are in the named groups; otherwise refuse and stop the script.

    The refusal is a clear "not allowed" message naming the groups needed (nothing else), followed by
    ``st.stop()``, so nothing after the call runs for someone outside the groups.

    Parameters
    ----------
    *groups : str
        Group names; at least one. The user needs any one of them (or all, see ``all_groups``).
    user : AlbUser, optional
        The user to check. Default: ``get_alb_user()``, which reuses the user this session verified
        under the settings given to its earlier ``get_alb_user(...)`` (so it takes no settings of its
        own), and stops the script with its own message when nobody verified is signed in.
    all_groups : bool
        If True the user must be in every named group; by default one is enough.

    Returns
    -------
    AlbUser
        The verified user, who is in the groups.

    Raises
    ------
    ValueError, TypeError
        No group named, or a name that is not a non-empty string (a programming error, raised
        before anyone is let in).

    Examples
    --------
    >>> import streamlit as st
    >>> from streamlit_alb_auth import require_groups
    >>>
    >>> st.title("Reports")                       # everyone signed in sees this
    >>> user = require_groups("admin", "auditor")  # the rest is for admins and auditors
    >>> st.write(f"Audit log for {user.email}")
    """
    needed = _group_names(groups, caller="require_groups")
    if user is None:
        user = get_alb_user()
    if not _is_member(user, needed, all_groups=all_groups):
        stop_with(_refusal(user, needed, all_groups=all_groups))
    return user


class Page:
    """An ``st.Page`` with the groups allowed to open it, for ``navigation()``.

    Parameters
    ----------
    page : str, Path or callable
        What ``st.Page`` takes: a script path (relative to the entrypoint), a callable, or an
        external URL (which is only shown or hidden: it has no script to guard).
    groups : str or iterable of str, optional
        Who may open the page: members of any of these groups (of all of them with
        ``all_groups=True``). ``None`` (default) means everyone who may open the app.
    all_groups : bool
        Require every named group instead of any one.
    **st_page_kwargs
        Passed to ``st.Page``: ``title``, ``icon``, ``url_path``, ``default``, ``visibility``, ``help``.

    Attributes
    ----------
    st_page : st.Page
        The page itself, for ``st.page_link`` or ``st.switch_page``. Offer those links to members
        only (``page.allows(user)``): for an outsider Streamlit refuses a link to a gated *file* page
        with its own error (the script still never runs); a callable page shows the refusal.
    groups : tuple of str or None
        The groups named, or None for a page open to everyone.

    Raises
    ------
    ValueError
        A gated script in a folder named ``pages`` beside the entrypoint. Streamlit runs the files
        there by URL, ungated, until some session first calls ``st.navigation`` (after every
        server start), so such a page cannot be guarded: move it to another folder.

    Notes
    -----
    A ``Page`` takes no settings and verifies nothing: ``navigation()`` decides with the verified user.
    A ``Page`` is not an ``st.Page`` on purpose: handed to plain ``st.navigation`` it is rejected
    instead of running ungated. Like ``st.Page``, create it inside the running script.

    Examples
    --------
    >>> from streamlit_alb_auth import Page, navigation
    >>>
    >>> navigation([
    ...     Page("home.py", title="Home", icon=":material/home:"),
    ...     Page("admin.py", title="Admin", groups=["admin"]),
    ... ]).run()
    """

    __slots__ = ("_kwargs", "_source", "all_groups", "groups", "st_page")

    def __init__(
        self,
        page: PageSource,
        *,
        groups: str | Iterable[str] | None = None,
        all_groups: bool = False,
        **st_page_kwargs: Any,
    ) -> None:
        self.groups: tuple[str, ...] | None = None if groups is None else _group_names(groups, caller="Page")
        self.all_groups = all_groups
        self.st_page: st.Page = st.Page(page, **st_page_kwargs)
        if self.groups is not None:
            _refuse_pages_folder(page)
        self._source = page
        self._kwargs = st_page_kwargs

    def allows(self, user: AlbUser) -> bool:
        """Whether ``user`` may open this page."""
        return self.groups is None or _is_member(user, self.groups, all_groups=self.all_groups)

    def refusal_page(self, user: AlbUser, back: st.Page | None = None) -> st.Page:
        """A hidden page at this page's URL path that only says ``user`` may not open it.

        ``back`` (``navigation`` passes the app's default page) gets a link under the message: with a
        single page left Streamlit shows no menu, and the refusal would otherwise be a dead end.
        """
        what = f'the page "{self.st_page.title}"'
        message = _refusal(user, self.groups or (), all_groups=self.all_groups, what=what)

        def not_allowed() -> None:
            st.error(message, icon=_LOCK_ICON)
            if back is not None:
                st.page_link(back, label=f"Back to {back.title}", icon=_BACK_ICON)

        icon = self.st_page.icon or None
        return st.Page(
            not_allowed, title=self.st_page.title, icon=icon, url_path=self._url_path(), visibility="hidden"
        )

    def _url_path(self) -> str:
        # A default page reports "" (the root) as its url_path but still owns its own pathname.
        return self.st_page.url_path or st.Page(self._source, **{**self._kwargs, "default": False}).url_path

    def __repr__(self) -> str:
        return f"Page({self.st_page.title!r}, groups={self.groups!r})"


def navigation(
    pages: Sequence[PageLike] | Mapping[str, Sequence[PageLike]],
    *,
    user: AlbUser | None = None,
    **st_navigation_kwargs: Any,
) -> st.Page:
    """``st.navigation`` that shows each user only the pages they may open, and guards the rest.

    Pages the user may not open are left out of the menu. Their URLs still answer, with a "not
    allowed" page at that URL instead of the page: the gated script is never run for someone outside
    its groups, whether they follow a link, type the URL or are sent there by ``st.switch_page``
    (to a gated file page, Streamlit itself refuses that call for them: see ``Page.st_page``).
    Sections left with no page the user may open disappear. If the default page is refused, the first
    page the user may open is shown at the root instead.

    Parameters
    ----------
    pages : list or dict of lists
        As for ``st.navigation``: pages, or section titles mapped to pages. ``Page`` (with groups)
        and plain ``st.Page``, paths or callables (open to everyone) may be mixed.
    user : AlbUser, optional
        Whose menu to build. Default: ``get_alb_user()``, which reuses the user this session
        verified under the settings given to its earlier ``get_alb_user(...)`` (so it takes no
        settings of its own), and stops the script with its own message when nobody verified is
        signed in. Pass ``get_alb_user(required=False)`` to let
        signed-out visitors see the pages without groups.
    **st_navigation_kwargs
        Passed to ``st.navigation`` (``position``, ``expanded``).

    Returns
    -------
    st.Page
        What ``st.navigation`` returns: the page to run, so ``navigation([...]).run()`` works.

    Examples
    --------
    >>> import streamlit as st
    >>> from streamlit_alb_auth import Page, navigation
    >>>
    >>> navigation({
    ...     "": [st.Page("home.py", title="Home")],
    ...     "Admin": [
    ...         Page("users.py", title="Users", groups=["admin"]),
    ...         Page("billing.py", title="Billing", groups=["admin", "finance"]),
    ...     ],
    ... }).run()
    """
    if user is None:
        user = get_alb_user()
    if isinstance(pages, Mapping):
        return st.navigation(_menu(user, pages), **st_navigation_kwargs)
    return st.navigation(_menu(user, {"": pages}).get("", []), **st_navigation_kwargs)


def _menu(user: AlbUser, sections: Mapping[str, Sequence[PageLike]]) -> dict[str, list[Any]]:
    """The sections with refused pages swapped for hidden stand-ins, placed after every page kept."""
    menu: dict[str, list[st.Page]] = {}
    refused: list[Page] = []
    for header, entries in sections.items():
        kept: list[st.Page] = []
        for entry in entries:
            if not isinstance(entry, Page):
                # What st.navigation would make of a path or callable; a Page object links back.
                kept.append(entry if isinstance(entry, st.Page) else st.Page(entry))
            elif entry.allows(user):
                kept.append(entry.st_page)
            elif not entry.st_page.is_external:
                refused.append(entry)
        if kept:
            menu[header] = kept
    if refused:
        home = _default_page(menu)
        # After every kept page, so a stand-in never becomes the implicit default (the first page)
        # unless the user may open nothing at all.
        last = next(reversed(menu), next(iter(sections), ""))
        menu.setdefault(last, []).extend(entry.refusal_page(user, home) for entry in refused)
    return menu


def _default_page(menu: Mapping[str, Sequence[st.Page]]) -> st.Page | None:
    """The page st.navigation opens at the root: the one marked default, else the first script."""
    pages = [page for entries in menu.values() for page in entries if not page.is_external]
    return next((page for page in pages if page.url_path == ""), pages[0] if pages else None)


def _refuse_pages_folder(page: PageSource) -> None:
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


def _group_names(groups: str | Iterable[str], *, caller: str) -> tuple[str, ...]:
    names = (groups,) if isinstance(groups, str) else tuple(groups)
    if not names:
        raise ValueError(f"{caller}: name at least one group")
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(f"{caller}: group names are non-empty strings, not {name!r}")
    return names


def _is_member(user: AlbUser, groups: tuple[str, ...], *, all_groups: bool) -> bool:
    if not user.is_logged_in:
        return False
    held = set(user.groups)
    return all(g in held for g in groups) if all_groups else any(g in held for g in groups)


def _refusal(user: AlbUser, groups: tuple[str, ...], *, all_groups: bool, what: str = "this") -> str:
    if not user.is_logged_in:
        return user.problem or "You are not signed in."
    names = ", ".join(f"`{name}`" for name in groups)
    if len(groups) == 1:
        needed = f"members of the {names} group"
    else:
        needed = f"members of {'all' if all_groups else 'any'} of the groups {names}"
    return f"You are not allowed to see {what}: it is only for {needed}."


__all__ = ["Page", "navigation", "require_groups"]
