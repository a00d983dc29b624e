"""What a stored user was verified for: the groups provider's identity, the same across reruns."""

from __future__ import annotations

import functools

from streamlit_alb_auth.fingerprint import provider_identity
from streamlit_alb_auth.user import AlbUser


def test_the_same_groups_function_redefined_by_a_rerun_is_the_same_provider():
    def page_groups(table: dict[str, list[str]]):
        def groups(user: AlbUser) -> list[str]:
            return table.get(user.sub, [])

        return groups

    assert provider_identity(page_groups({"a": ["x"]})) == provider_identity(page_groups({"a": ["x"]}))
    assert provider_identity(page_groups({"a": ["x"]})) != provider_identity(page_groups({"a": ["y"]}))
    admins, staff = (lambda user: ["admin"]), (lambda user: ["staff"])  # one line: only the code differs
    assert provider_identity(admins) != provider_identity(staff)

    def from_table(table: dict[str, list[str]], user: AlbUser) -> list[str]:
        return table.get(user.sub, [])

    same = [provider_identity(functools.partial(from_table, {"a": ["x"]})) for _ in range(2)]
    assert same[0] == same[1] != provider_identity(functools.partial(from_table, {"a": ["y"]}))
    assert provider_identity(None) == ""


def test_a_groups_provider_counts_as_the_same_provider_by_name():
    def first(user):
        return []

    def make():
        def provider(user):
            return []

        return provider

    assert provider_identity(make()) == provider_identity(make())
    assert provider_identity(first) != provider_identity(make())


def test_a_provider_with_an_empty_closure_cell_is_never_the_same_provider():
    def outer():
        def provider(user):
            return [later]

        return provider
        later = "never"  # unreachable: the cell stays empty

    assert provider_identity(outer()) != provider_identity(outer())


def test_a_lambda_is_known_by_its_line_and_a_named_function_by_its_name():
    twins = [
        lambda user: ["admin"],
        lambda user: ["admin"],
    ]
    assert provider_identity(twins[0]) != provider_identity(twins[1])  # two lines: two providers

    def provider(user):
        return ["a"]

    before = provider_identity(provider)

    def provider(user):  # redefined lower down, as an edited page's rerun does
        return ["a"]

    assert provider_identity(provider) == before


def test_the_digest_changes_with_each_header_value_the_settings_and_the_provider():
    from streamlit_alb_auth.config import resolve_settings
    from streamlit_alb_auth.fingerprint import verified_for

    arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/one/0123456789abcdef"
    settings = resolve_settings({"alb_arn": arn}, environ={}, secrets={})
    other_settings = resolve_settings({"alb_arn": arn, "client_id": "c"}, environ={}, secrets={})
    values = ("data.token.sig", "sub-1", "access-token")
    base = verified_for(values, settings, None)
    assert len(base) == 64 and base == verified_for(values, settings, None)
    variants = [
        verified_for(("data.token.other", "sub-1", "access-token"), settings, None),
        verified_for(("data.token.sig", "sub-2", "access-token"), settings, None),
        verified_for(("data.token.sig", "sub-1", "another-token"), settings, None),
        verified_for(("data.token.sig", "sub-1access-token", ""), settings, None),  # parts stay apart
        verified_for(values, other_settings, None),
        verified_for(values, settings, lambda user: ["admin"]),
    ]
    assert len({base, *variants}) == 1 + len(variants)
