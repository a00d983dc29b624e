"""MkDocs hooks (``hooks:`` in mkdocs.yml): what the docs site takes from the code at build time.

``<!-- settings-table -->`` on a page becomes the settings table, rendered from the definitions in
``streamlit_alb_auth/config.py`` (names, environment variables, the secrets section) and ``settings_help.py``,
so the documented settings are the ones the code reads. A setting without help fails the build.

``python scripts/docs_hooks.py`` prints the same table, for the README
(``tests/tooling/test_docs.py`` checks the README's copy is current).
"""

from __future__ import annotations

from typing import Any

from streamlit_alb_auth import config, settings_help

SETTINGS_TABLE_MARKER = "<!-- settings-table -->"


def _with_form(text: str, form: str) -> str:
    return f"{text} ({form})" if form else text


def settings_table() -> str:
    """The Markdown table of every setting, in ``SETTING_HELP``'s order."""
    help_for = settings_help.SETTING_HELP
    undocumented = [name for name in config.SETTING_NAMES if name not in help_for]
    unknown = [name for name in help_for if name not in (*config.SETTING_NAMES, *config.ARGUMENT_ONLY)]
    if undocumented or unknown:
        raise ValueError(f"SETTING_HELP is missing {undocumented} and names unknown settings {unknown}")
    section = config.SECRETS_SECTION
    rows = [f"| setting | environment | `[{section}]` secret | meaning |", "|---|---|---|---|"]
    for name, about in help_for.items():
        if name in config.SETTING_NAMES:
            variable = _with_form(f"`{config.environment_variable(name)}`", about.environment)
            in_secrets = _with_form(f"`{name}`", about.secret)
        else:
            variable = in_secrets = "(argument only)"
        rows.append(f"| `{name}` | {variable} | {in_secrets} | {about.meaning} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    if SETTINGS_TABLE_MARKER in markdown:
        return markdown.replace(SETTINGS_TABLE_MARKER, settings_table())
    return markdown


if __name__ == "__main__":
    print(settings_table())
