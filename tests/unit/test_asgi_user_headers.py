"""What ``st.user`` receives through the internal headers: exact values in any script, a bool
``is_logged_in``, groups no comma can confuse. Read through Starlette's own ``Headers``, as Streamlit
1.67's ``gather_user_info`` reads them (the real-server proof is ``tests/e2e/test_e2e_st_user.py``)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from starlette.datastructures import Headers
from streamlit.web.server.starlette.starlette_websocket import gather_user_info

from streamlit_alb_auth.asgi.user_headers import (
    OPTION,
    USER_HEADERS,
    UserValue,
    encode_groups,
    identity_headers,
    install_user_mapping,
    mapping_installed,
    refuse_outside_mapping,
    st_user_groups,
)
from streamlit_alb_auth.errors import ConfigurationError
from streamlit_alb_auth.user import AlbUser

NAMES = ["山田太郎", "Ђорђе", "محمد", "Παπαδόπουλος", "Zoë", 'O\'Brien; "x"', "100% Ünïcode ✓"]


def st_user_of(user: AlbUser, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What Streamlit 1.67 puts in ``st.user`` for a request carrying ``identity_headers(user)``."""
    from streamlit import config

    monkeypatch.setattr(config, "get_option", lambda name: dict(USER_HEADERS) if name == OPTION else None)
    return gather_user_info(Headers(raw=[(b"host", b"app.example"), *identity_headers(user)]))


@pytest.mark.parametrize("name", NAMES)
def test_st_user_gets_the_verified_name_in_any_script(name, monkeypatch):
    user = AlbUser({"sub": "u-1", "email": "yamada@例え.jp", "name": name})
    seen = st_user_of(user, monkeypatch)
    assert seen == {
        "sub": "u-1",
        "email": "yamada@例え.jp",
        "name": name,
        "groups": None,
        "is_logged_in": True,
        "client_id": None,  # a machine client's (bearer token) only
        "is_machine": None,
    }
    assert seen["is_logged_in"] is True


def test_the_raw_bytes_are_ascii_and_decode_back_with_unquote():
    for name in NAMES:
        raw = UserValue(name)
        assert bytes(raw).isascii() and b"\r" not in raw and b"\n" not in raw
        assert unquote(bytes(raw).decode("ascii")) == name
    assert bytes(UserValue("plain ASCII name")) == b"plain ASCII name"
    assert bytes(UserValue("line\r\nbreak")) == b"line%0D%0Abreak"
    assert bytes(UserValue(True)) == b"true"


def test_a_value_survives_copy_and_pickle():
    for value in ("山田太郎", True):
        for clone in (copy.copy(UserValue(value)), pickle.loads(pickle.dumps(UserValue(value)))):
            assert clone.decode("latin-1") == value and bytes(clone) == bytes(UserValue(value))


def test_a_group_with_a_comma_stays_one_group(monkeypatch):
    user = AlbUser({"sub": "u-1"}, groups=("staff,admin", "ops", "100%", "a%2Cb"))
    seen = st_user_of(user, monkeypatch)
    assert seen["groups"] == "staff%2Cadmin,ops,100%25,a%252Cb"
    assert "admin" not in seen["groups"].split(",")  # code that splits on commas is not fooled
    assert st_user_groups(seen["groups"]) == ("staff,admin", "ops", "100%", "a%2Cb")


@pytest.mark.parametrize(
    "groups",
    [("staff,admin",), ("a", "b"), ("", "x"), ("%", "%%2C,"), ("管理者", "運用")],
)
def test_the_groups_encoding_is_reversible(groups):
    assert st_user_groups(encode_groups(groups)) == groups


def test_no_groups_means_no_groups_header(monkeypatch):
    assert st_user_groups("") == ()
    assert st_user_of(AlbUser({"sub": "u-1"}), monkeypatch)["groups"] is None


def test_values_are_stable_for_session_resume(monkeypatch):
    """Since Streamlit 1.62 a reconnecting tab resumes only if its user_info is exactly equal."""
    user = AlbUser({"sub": "u-1", "email": "a@example.com", "name": "山田太郎"}, groups=("x,y",))
    assert st_user_of(user, monkeypatch) == st_user_of(user, monkeypatch)


@pytest.fixture
def unset_mapping() -> Iterator[None]:
    """``server.trustedUserHeaders`` is process-wide: each test here starts and ends without it."""
    from streamlit import config

    config.set_option(OPTION, {}, where_defined="<default>")
    yield
    config.set_option(OPTION, {}, where_defined="<default>")


@pytest.mark.parametrize(
    "where",
    [
        "/app/.streamlit/config.toml",
        "command-line argument or environment variable",
        "<default>",
        "~/.streamlit/config.toml",  # sorts after the middleware's own mark: "anything else", not "before"
    ],
)
def test_a_mapping_set_anywhere_but_by_the_middleware_is_refused(unset_mapping, where):
    from streamlit import config

    config.set_option(OPTION, dict(USER_HEADERS), where_defined=where)
    assert not mapping_installed()
    with pytest.raises(ConfigurationError, match=r"server\.trustedUserHeaders is set"):
        refuse_outside_mapping()
    with pytest.raises(ConfigurationError):
        install_user_mapping()


def test_the_middleware_s_own_mapping_is_exactly_the_internal_headers(unset_mapping):
    from streamlit import config

    assert not mapping_installed()
    refuse_outside_mapping()  # nothing set: nothing to refuse
    install_user_mapping()
    assert mapping_installed() and config.get_option(OPTION) == dict(USER_HEADERS)
    refuse_outside_mapping()  # its own mapping is not refused
    install_user_mapping()  # and installing again is harmless


def test_control_characters_and_del_are_percent_encoded_in_the_raw_header():
    value = UserValue("a\x7fb\x1fc\nd")
    assert bytes(value) == b"a%7Fb%1Fc%0Ad"
    assert value.decode("latin-1") == "a\x7fb\x1fc\nd"


def test_an_empty_claim_sends_no_header_and_a_machine_says_so(monkeypatch):
    person = AlbUser({"sub": "u-1", "email": "", "name": "Ada"})
    assert b"x-alb-auth-email" not in dict(identity_headers(person))
    machine = AlbUser({"sub": "svc", "client_id": "reports-agent"}, machine=True)
    seen = st_user_of(machine, monkeypatch)
    assert seen["is_machine"] is True and seen["client_id"] == "reports-agent"
    assert (
        "is_machine" not in st_user_of(person, monkeypatch)
        or st_user_of(person, monkeypatch)["is_machine"] is None
    )
