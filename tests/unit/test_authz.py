"""require_groups(), Page and navigation() in real Streamlit scripts (AppTest), with verified groups.

Users get their groups the way production does: an ALB-signed identity plus an access token signed by
a (local) Cognito pool, both verified against a loopback key server. Each gated page script records
that it ran in a file, so "never ran" is observed, not assumed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth import Page, require_groups

ADA = {"sub": "sub-ada", "email": "ada@example.com", "username": "ada"}

ENTRYPOINT = """
import streamlit as st
from streamlit_alb_auth import Page, get_alb_user, navigation

user = get_alb_user(required=st.session_state.get("required", True), headers=st.session_state["headers"])
layout = st.session_state.get("layout", "sections")
if layout == "sections":
    pages = {
        "": [st.Page("home.py", title="Home"), Page("admin.py", title="Admin", groups=["admin"])],
        "Finance": [
            Page("ledger.py", title="Ledger", groups=["admin", "finance"], all_groups=True),
            Page("reports.py", title="Reports", groups=("finance", "auditor")),
        ],
    }
elif layout == "gated-default":
    pages = [Page("admin.py", title="Admin", groups="admin", default=True), Page("home.py", title="Home")]
elif layout == "links-first":
    pages = {
        "Links": [st.Page("https://docs.streamlit.io", title="Docs")],
        "Pages": [Page("admin.py", title="Admin", groups=["admin"]), st.Page("home.py", title="Home")],
    }
elif layout == "only-gated-besides-home":
    pages = ["home.py", Page("admin.py", title="Admin", groups=["admin"])]
else:
    pages = [Page("admin.py", title="Admin", groups=["admin"])]
page = navigation(pages, user=user)
st.session_state["returned"] = (page.title, page.url_path)
page.run()
st.caption("frame after the page")
"""


def page_script(name: str, ran: Path) -> str:
    return textwrap.dedent(
        f"""
        import pathlib
        import streamlit as st

        with pathlib.Path({str(ran)!r}).open("a") as log:
            log.write({name!r} + "\\n")
        st.markdown("{name} page content")
        """
    )


@pytest.fixture
def app(tmp_path) -> Path:
    ran = tmp_path / "ran.log"
    ran.touch()
    (tmp_path / "app.py").write_text(ENTRYPOINT)
    for name in ("home", "admin", "ledger", "reports"):
        (tmp_path / f"{name}.py").write_text(page_script(name, ran))
    return tmp_path


@pytest.fixture
def menus(monkeypatch) -> list:
    """Every navigation message Streamlit sends to the browser, as the runs produce them."""
    from streamlit.testing.v1 import local_script_runner

    seen: list = []
    parse = local_script_runner.parse_tree_from_messages

    def recording(messages):
        seen.extend(m.navigation for m in messages if m.HasField("navigation"))
        return parse(messages)

    monkeypatch.setattr(local_script_runner, "parse_tree_from_messages", recording)
    return seen


def headers_for(signer, pool, groups: list[str] | None) -> dict[str, str]:
    access = None if groups is None else pool.access_token(ADA["sub"], groups=groups)
    return signer.headers(ADA, access_token=access)


def app_test(app: Path, headers: dict[str, str], **state) -> AppTest:
    at = AppTest.from_file(str(app / "app.py"), default_timeout=20)
    at.session_state["headers"] = headers
    for key, value in state.items():
        at.session_state[key] = value
    return at


def ran(app: Path) -> list[str]:
    return (app / "ran.log").read_text().split()


def visible(menu) -> list[tuple[str, str]]:
    return [(p.section_header, p.page_name) for p in menu.app_pages if not p.is_hidden]


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_each_user_sees_only_the_pages_they_may_open(alb_environment, signer, pool, app, menus):
    expected = {
        None: [("", "Home")],
        (): [("", "Home")],
        ("admin",): [("", "Home"), ("", "Admin")],
        ("finance",): [("", "Home"), ("Finance", "Reports")],
        ("admin", "finance"): [("", "Home"), ("", "Admin"), ("Finance", "Ledger"), ("Finance", "Reports")],
    }
    for groups, menu in expected.items():
        at = app_test(app, headers_for(signer, pool, None if groups is None else list(groups))).run()
        assert not at.exception, at.exception
        assert visible(menus[-1]) == menu, groups
        assert texts(at) == ["home page content"]
    assert ran(app) == ["home"] * len(expected)


def test_a_section_with_nothing_to_open_is_left_out(alb_environment, signer, pool, app, menus):
    app_test(app, headers_for(signer, pool, ["admin"])).run()
    assert list(menus[-1].sections) == [""]
    app_test(app, headers_for(signer, pool, ["auditor"])).run()
    assert list(menus[-1].sections) == ["", "Finance"]


def test_a_member_opens_the_gated_page(alb_environment, signer, pool, app):
    at = app_test(app, headers_for(signer, pool, ["admin"])).run()
    at.switch_page("admin.py").run()
    assert texts(at) == ["admin page content"]
    assert at.session_state["returned"] == ("Admin", "admin")
    assert ran(app) == ["home", "admin"]


@pytest.mark.parametrize("groups", [None, [], ["finance"], ["Admin"], ["admins"]])
def test_the_gated_url_is_refused_at_that_url_and_its_script_never_runs(
    alb_environment, signer, pool, app, menus, groups
):
    at = app_test(app, headers_for(signer, pool, groups))
    at.switch_page("admin.py").run()  # before the first run: the URL /admin, as a typed address
    assert not at.exception, at.exception
    assert ran(app) == []
    assert texts(at) == []
    (refusal,) = at.error
    assert 'not allowed to see the page "Admin"' in refusal.value
    assert "members of the `admin` group" in refusal.value
    assert at.session_state["returned"] == ("Admin", "admin")
    (stand_in,) = [p for p in menus[-1].app_pages if p.page_name == "Admin"]
    assert stand_in.is_hidden and menus[-1].page_script_hash == stand_in.page_script_hash
    assert ("", "Admin") not in visible(menus[-1])
    assert [c.value for c in at.caption] == ["frame after the page"]
    at.run()  # and on every rerun at that URL
    assert ran(app) == [] and len(at.error) == 1


def page_links(at: AppTest) -> list[tuple[str, str]]:
    """(label, url path) of each st.page_link on the page; "" is the app's root."""
    return [(e.proto.label, e.proto.page) for e in at.get("page_link")]


@pytest.mark.parametrize("layout", ["sections", "only-gated-besides-home", "gated-default"])
def test_a_refused_page_links_back_to_the_app_s_default_page(alb_environment, signer, pool, app, layout):
    """With one page left Streamlit shows no menu: the refusal itself is the way back."""
    at = app_test(app, headers_for(signer, pool, []), layout=layout)
    at.switch_page("admin.py").run()
    assert "not allowed" in at.error[0].value
    title = "home" if layout == "only-gated-besides-home" else "Home"  # a plain path: named by its file
    assert page_links(at) == [(f"Back to {title}", "")]
    assert ran(app) == []


def test_a_user_who_may_open_nothing_gets_no_link(alb_environment, signer, pool, app):
    at = app_test(app, headers_for(signer, pool, []), layout="only-admin").run()
    assert "not allowed" in at.error[0].value
    assert page_links(at) == []


def test_all_groups_means_every_group(alb_environment, signer, pool, app):
    at = app_test(app, headers_for(signer, pool, ["admin"]))
    at.switch_page("ledger.py").run()
    assert "all of the groups `admin`, `finance`" in at.error[0].value
    assert ran(app) == []
    at = app_test(app, headers_for(signer, pool, ["finance", "admin"]))
    at.switch_page("ledger.py").run()
    assert texts(at) == ["ledger page content"] and ran(app) == ["ledger"]


def test_any_group_is_enough_by_default(alb_environment, signer, pool, app):
    at = app_test(app, headers_for(signer, pool, ["auditor"]))
    at.switch_page("reports.py").run()
    assert texts(at) == ["reports page content"] and not at.error


def test_groups_from_an_untrusted_access_token_open_nothing(alb_environment, signer, pool, app):
    from streamlit_alb_auth.testing import LocalCognitoPool

    forged = LocalCognitoPool(kid=pool.kid).access_token(ADA["sub"], groups=["admin"])
    at = app_test(app, signer.headers(ADA, access_token=forged))
    at.switch_page("admin.py").run()
    assert "not allowed" in at.error[0].value
    assert ran(app) == []


def test_a_refused_default_page_gives_the_root_to_the_first_page_allowed(
    alb_environment, signer, pool, app, menus
):
    at = app_test(app, headers_for(signer, pool, []), layout="gated-default").run()
    assert texts(at) == ["home page content"]
    assert at.session_state["returned"] == ("Home", "")
    assert visible(menus[-1]) == [("", "Home")]
    at = app_test(app, headers_for(signer, pool, []), layout="gated-default")
    at.switch_page("admin.py").run()
    assert "not allowed" in at.error[0].value
    assert ran(app) == ["home"]
    at = app_test(app, headers_for(signer, pool, ["admin"]), layout="gated-default").run()
    assert texts(at) == ["admin page content"]
    assert at.session_state["returned"] == ("Admin", "")


def test_a_refused_page_never_becomes_the_default_behind_a_link(alb_environment, signer, pool, app, menus):
    at = app_test(app, headers_for(signer, pool, []), layout="links-first").run()
    assert texts(at) == ["home page content"] and not at.error
    assert visible(menus[-1]) == [("Links", "Docs"), ("Pages", "Home")]


def test_a_user_who_may_open_nothing_gets_the_refusal_at_the_root(alb_environment, signer, pool, app):
    at = app_test(app, headers_for(signer, pool, ["finance"]), layout="only-admin").run()
    assert "not allowed" in at.error[0].value
    assert ran(app) == []


def test_a_signed_out_visitor_sees_the_open_pages_and_is_told_to_sign_in(alb_environment, app, menus):
    at = app_test(app, {}, required=False).run()
    assert visible(menus[-1]) == [("", "Home")]
    at = app_test(app, {}, required=False)
    at.switch_page("admin.py").run()
    assert "x-amzn-oidc-data" in at.error[0].value
    assert ran(app) == ["home"]


def test_without_a_user_navigation_asks_get_alb_user(alb_environment, tmp_path):
    ran_log = tmp_path / "ran.log"
    (tmp_path / "admin.py").write_text(page_script("admin", ran_log))
    (tmp_path / "app.py").write_text(
        "from streamlit_alb_auth import Page, navigation\n"
        "navigation([Page('admin.py', groups=['admin'])]).run()\n"
    )
    at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=20).run()
    assert "did not come through an ALB" in at.error[0].value  # AppTest sends no ALB headers
    assert not ran_log.exists()


@pytest.mark.parametrize(("groups", "shown"), [(["admin"], "secret tools"), ([], "not allowed")])
def test_switch_page_to_a_gated_callable_page(alb_environment, signer, pool, groups, shown):
    def script() -> None:
        import streamlit as st

        from streamlit_alb_auth import Page, get_alb_user, navigation

        def tools() -> None:
            st.markdown("secret tools")

        def home() -> None:
            if st.button("Go"):
                st.switch_page(admin.st_page)

        admin = Page(tools, title="Tools", groups=["admin"])
        user = get_alb_user(headers=st.session_state["headers"])
        navigation([st.Page(home, title="Home"), admin], user=user).run()

    at = AppTest.from_function(script, default_timeout=20)
    at.session_state["headers"] = headers_for(signer, pool, groups)
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert shown in " ".join([*texts(at), *(e.value for e in at.error)])
    assert (shown == "secret tools") is ("secret tools" in texts(at))


def test_a_gated_script_in_the_pages_folder_is_refused_outright(tmp_path):
    """Streamlit runs pages/*.py by URL before st.navigation is first called: no guard can hold there."""
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "secret.py").write_text("")
    (tmp_path / "views").mkdir()
    (tmp_path / "views" / "open.py").write_text("")
    (tmp_path / "app.py").write_text(
        "import streamlit as st\n"
        "from streamlit_alb_auth import Page\n"
        "Page('views/open.py', groups=['admin'])\n"
        "Page('pages/secret.py')  # not gated: nothing to guard\n"
        "st.markdown('declared')\n"
        "Page('pages/secret.py', groups=['admin'])\n"
    )
    at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=20).run()
    assert texts(at) == ["declared"]
    assert "pages/ folder" in at.exception[0].message


def test_a_page_given_to_plain_st_navigation_is_rejected_not_run_ungated(tmp_path):
    ran_log = tmp_path / "ran.log"
    (tmp_path / "admin.py").write_text(page_script("admin", ran_log))
    (tmp_path / "app.py").write_text(
        "import streamlit as st\n"
        "from streamlit_alb_auth import Page\n"
        "st.navigation([Page('admin.py', groups=['admin'])]).run()\n"
    )
    at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=20).run()
    assert at.exception
    assert not ran_log.exists()


def section() -> None:
    import streamlit as st

    from streamlit_alb_auth import get_alb_user, require_groups

    st.markdown("before")
    user = get_alb_user(headers=st.session_state["headers"], required=False)
    args = st.session_state["args"]
    member = require_groups(*args, user=user, all_groups=st.session_state.get("all_groups", False))
    st.markdown(f"after {member.email}")


@pytest.mark.parametrize(
    ("groups", "args", "all_groups", "allowed"),
    [
        (["admin"], ("admin",), False, True),
        (["staff"], ("admin", "staff"), False, True),
        (["staff"], ("admin", "staff"), True, False),
        (["staff", "admin"], ("admin", "staff"), True, True),
        (["admin"], ("Admin",), False, False),
        ([], ("admin",), False, False),
        (None, ("admin",), False, False),
    ],
)
def test_require_groups_lets_members_through_and_stops_the_rest(
    alb_environment, signer, pool, groups, args, all_groups, allowed
):
    at = AppTest.from_function(section, default_timeout=20)
    at.session_state["headers"] = headers_for(signer, pool, groups)
    at.session_state["args"] = args
    at.session_state["all_groups"] = all_groups
    at.run()
    assert not at.exception, at.exception
    if allowed:
        assert texts(at) == ["before", "after ada@example.com"] and not at.error
    else:
        assert texts(at) == ["before"]
        (refusal,) = at.error
        assert "not allowed" in refusal.value
        assert all(f"`{name}`" in refusal.value for name in args)
        assert ADA["sub"] not in refusal.value and "eyJ" not in refusal.value


def test_require_groups_for_a_signed_out_user_says_why(alb_environment):
    at = AppTest.from_function(section, default_timeout=20)
    at.session_state["headers"] = {}
    at.session_state["args"] = ("admin",)
    at.run()
    assert texts(at) == ["before"]
    assert "x-amzn-oidc-data" in at.error[0].value


def test_require_groups_by_default_verifies_the_request(alb_environment):
    def script() -> None:
        import streamlit as st

        from streamlit_alb_auth import require_groups

        require_groups("admin")
        st.markdown("secret")

    at = AppTest.from_function(script, default_timeout=20).run()
    assert texts(at) == []
    assert "did not come through an ALB" in at.error[0].value


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: require_groups(), ValueError),
        (lambda: require_groups(["admin"]), TypeError),
        (lambda: require_groups("admin", ""), TypeError),
        (lambda: Page(lambda: None, groups=[]), ValueError),
        (lambda: Page(lambda: None, groups=[None]), TypeError),
    ],
)
def test_group_names_are_checked_before_anyone_is_let_in(call, error):
    with pytest.raises(error):
        call()
