"""Copy logout_lambda.py and signed_out.html into the templates' ``ZipFile`` and ``MessageBody`` blocks.

Run after editing either file: ``python scripts/inline_templates.py``. tests/templates/test_templates.py
checks that the blocks are byte for byte the files.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "streamlit_alb_auth" / "templates"
BLOCKS = {"ZipFile": "logout_lambda.py", "MessageBody": "signed_out.html"}


def inline(text: str, key: str, content: str) -> str:
    """Replace every ``key: |`` block scalar of ``text`` with ``content``, indented two more spaces."""
    lines, out, index = text.splitlines(keepends=True), [], 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        match = re.fullmatch(rf"( *)(- )?{key}: \|\n", line)
        if not match:
            continue
        indent = " " * (len(match.group(1)) + len(match.group(2) or "") + 2)
        while index < len(lines) and (lines[index].startswith(indent) or not lines[index].strip()):
            index += 1
        while out and not out[-1].strip():
            out.pop()
        body = [indent + row if row.strip() else "\n" for row in content.splitlines(keepends=True)]
        out.extend([*body, "\n"])
    return "".join(out)


def main() -> None:
    for template in sorted(TEMPLATES.glob("*.yaml")):
        text = template.read_text(encoding="utf-8")
        for key, name in BLOCKS.items():
            text = inline(text, key, (TEMPLATES / name).read_text(encoding="utf-8"))
        template.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
