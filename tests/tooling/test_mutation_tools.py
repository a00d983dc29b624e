"""The helpers of scripts/mutation.sh: the regex-weakening operator, the annotation filter, the report."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.tools import missing

try:
    import cosmic_ray  # noqa: F401
    import parso
except ImportError:
    missing("cosmic-ray is not installed: pip install -e '.[mutation]' (scripts/install-test-deps.sh does)")

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import mutation_regex  # noqa: E402
import mutation_session  # noqa: E402


@pytest.mark.parametrize(
    ("pattern", "fstring", "expected"),
    [
        (r"[a-z]+", False, [".+", "[a-z]*"]),
        (r"\d{12}", False, [r"\w{12}", r"\d{12,}", r"\d{0,12}"]),
        (r"={0,2}$", False, ["={0,2}", "={0,}$"]),
        (r"a\.b", False, ["a.b"]),
        (r"(?=.{{4,253}}$)", True, ["(?=.{{4,253}})", "(?=.{{4,}}$)", "(?=.{{0,253}}$)"]),
        (r"[$+\.]", False, ["."]),  # inside a class nothing but the class itself is touched
        (r"plain", False, []),
    ],
)
def test_regex_weakenings(pattern, fstring, expected):
    assert mutation_regex.weakened(pattern, fstring=fstring) == expected


def test_only_literals_that_reach_a_re_call_are_regexes():
    code = textwrap.dedent(
        """\
        import re
        LABEL = r"[a-z]+"
        HOST = re.compile(rf"{LABEL}(\\.{LABEL})+")
        MESSAGE = r"[not a regex]"
        ID = re.compile(r"\\d+" r"[x]")
        """
    )
    root = parso.parse(code)
    found = mutation_regex._regex_literals(root)
    assert found == {(2, 8), (3, 18), (5, 16), (5, 23)}
    message = root.children[3].children[0].children[2]
    assert mutation_regex._mutants_of(message) == []


def test_annotation_spans_only_where_annotations_are_postponed(tmp_path):
    source = "from __future__ import annotations\ndef f(a: int | None) -> str | None:\n    return a | 1\n"
    spans = list(mutation_session._annotation_spans(source))
    assert spans == [((2, 24), (2, 34)), ((2, 9), (2, 19))]
    assert mutation_session._postponed(source)
    assert not mutation_session._postponed(source.replace("from __future__ import annotations\n", ""))


def test_survivor_lines_with_the_mutated_line_are_parsed():
    line = '- v.py · WeakenRegex · `X = r"[a-z]+"` → `X = r"[a-z]*"` — only adds the empty string'
    match = mutation_session.SURVIVOR_LINE.match(line)
    assert match and (match["line"], match["mutated"]) == ('X = r"[a-z]+"', 'X = r"[a-z]*"')


def test_survivor_lines_are_parsed():
    line = "- keys.py · ReplaceComparisonOperator_LtE_Lt · `while x <= y:` — the boundary instant"
    match = mutation_session.SURVIVOR_LINE.match(line)
    assert match and (match["module"], match["operator"], match["line"]) == (
        "keys.py",
        "ReplaceComparisonOperator_LtE_Lt",
        "while x <= y:",
    )


def test_a_session_is_filtered_and_reported(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from __future__ import annotations\ndef f(a: int | None) -> int:\n    return a + 1\n")
    (tmp_path / "cr.toml").write_text(
        '[cosmic-ray]\nmodule-path = "m.py"\ntimeout = 10.0\nexcluded-modules = []\n'
        'test-command = "false"\n[cosmic-ray.distributor]\nname = "local"\n'
    )
    survivors = tmp_path / "survivors.md"
    survivors.write_text("")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert run("cosmic-ray", "init", "cr.toml", "s.sqlite").returncode == 0
    helper = str(SCRIPTS / "mutation_session.py")
    skipped = run(sys.executable, helper, "skip-annotations", "s.sqlite")
    assert "skipped 11 mutants" in skipped.stdout  # int | None: 11 replacements of |
    assert run("cosmic-ray", "exec", "cr.toml", "s.sqlite").returncode == 0
    report = run(sys.executable, helper, "report", "s.sqlite", str(survivors))
    assert report.returncode == 0, report.stdout
    assert "11 skipped (annotations)" in report.stdout
    assert "0 survived unexplained -> 100.0% of non-equivalent mutants killed" in report.stdout
    table = run(sys.executable, helper, "table", str(tmp_path), str(survivors), "mutation.md")
    assert table.returncode == 0, table.stderr
    # 24 mutants less the 11 in annotations, all killed (the test command always fails)
    assert "| `m.py` | 13 | 13 (all) | 13 | 0 | 0 | **100.0%** |" in (tmp_path / "mutation.md").read_text()
