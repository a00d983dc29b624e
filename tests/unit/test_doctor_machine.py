"""``doctor --template`` knows the machine-client rule: https issuer and JWKS, agent paths only, forward
after validation, and no browser sign-in on those paths evaluated before it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.doctor import doctor_cli

from streamlit_alb_auth.doctor.machine import check_machine_rules

STACK = Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates" / "stack.yaml"

RULE = """
Parameters:
  Issuer:
    Type: String
    AllowedPattern: "{pattern}"
Resources:
  Browser:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      Priority: {browser}
      Conditions:
        - Field: path-pattern
          PathPatternConfig:
            Values: ["/*"]
      Actions:
        - Type: authenticate-cognito
          Order: 1
        - Type: forward
          Order: 2
  Machines:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      Priority: 5
      Conditions:
        - Field: path-pattern
          PathPatternConfig:
            Values: [{paths}]
      Actions:
        - Type: jwt-validation
          Order: 1
          JwtValidationConfig:
            Issuer: !Ref Issuer
            JwksEndpoint: {jwks}
        - Type: {then}
          Order: 2
"""
GOOD = {
    "pattern": "https://[^\\\\s]+",
    "browser": 50,
    "paths": "/_stcore/agent/*",
    "jwks": "https://idp.example.com/jwks.json",
    "then": "forward",
}


def verdicts(
    tmp_path: Path, name: str = "t.yaml", text: str | None = None, **changes
) -> list[tuple[str, str]]:
    path = tmp_path / name
    path.write_text(text if text is not None else RULE.format(**{**GOOD, **changes}))
    return [(check.status, check.reason) for check in check_machine_rules(path)]


def test_the_shipped_stack_rule_passes_every_check():
    found = [(c.status, c.reason) for c in check_machine_rules(STACK)]
    assert [status for status, _ in found] == ["ok"] * 6, found
    assert any("Priority 4" in reason for _, reason in found)


def test_a_template_without_the_rule_is_one_ok(tmp_path):
    [(status, reason)] = verdicts(tmp_path, text="Resources: {}\n")
    assert status == "ok" and "no jwt-validation rule" in reason


def test_a_good_rule_passes(tmp_path):
    assert {status for status, _ in verdicts(tmp_path)} == {"ok"}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"jwks": "http://idp.example.com/jwks.json"}, "JwksEndpoint may not be an https URL"),
        ({"pattern": "[^\\\\s]+"}, "Issuer may not be an https URL"),
        ({"paths": "/*"}, "lets machine tokens in on /*"),
        ({"paths": "/_stcore/agent/*, /admin"}, "on /admin"),
        ({"then": "fixed-response"}, "does not forward"),
        ({"browser": 1}, "Browser signs browsers in on the agent paths before Machines"),
    ],
)
def test_each_unsafe_setting_fails(tmp_path, change, says):
    found = verdicts(tmp_path, **change)
    failed = [reason for status, reason in found if status == "fail"]
    assert len(failed) == 1 and says in failed[0], found


def test_json_templates_are_read_too(tmp_path):
    template = {
        "Resources": {
            "Machines": {
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "Priority": 3,
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
                    "Actions": [
                        {
                            "Type": "jwt-validation",
                            "Order": 1,
                            "JwtValidationConfig": {
                                "Issuer": {"Fn::If": ["C", "https://a.example", "http://b.example"]},
                                "JwksEndpoint": "https://a.example/jwks",
                            },
                        },
                        {"Type": "forward", "Order": 2},
                    ],
                },
            }
        }
    }
    found = verdicts(tmp_path, name="t.json", text=json.dumps(template))
    failed = sorted(reason for status, reason in found if status == "fail")
    assert len(failed) == 2
    assert any("http://b.example" in reason for reason in failed)
    assert any("lets machine tokens in on /*" in reason for reason in failed)


def test_the_cli_runs_it_with_the_revocation_check_and_fails_on_it(tmp_path):
    good = doctor_cli("--template", str(STACK), "--json", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    names = [check["name"] for check in json.loads(good.stdout)["checks"]]
    assert names.count("machine-rule") == 6 and "revocation" in names
    (tmp_path / "bad.yaml").write_text(RULE.format(**{**GOOD, "paths": "/*"}))
    bad = doctor_cli("--template", str(tmp_path / "bad.yaml"), cwd=tmp_path)
    assert bad.returncode == 1 and "lets machine tokens in on /*" in bad.stdout
