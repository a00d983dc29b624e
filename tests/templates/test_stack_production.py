"""stack.yaml beyond sign-in: scaling, the task role, the admin group, the container's file system."""

from __future__ import annotations

from pathlib import Path

from cfnlint.decode import decode

from streamlit_alb_auth.templates import write_template

TEMPLATES = Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates"


def stack() -> dict:
    template, problems = decode(str(TEMPLATES / "stack.yaml"))
    assert not problems, problems
    return template


def ref(name: str) -> dict:
    return {"Ref": name}


def test_service_scales_between_min_and_max_tasks() -> None:
    template = stack()
    resources, parameters = template["Resources"], template["Parameters"]
    target = resources["ScalableTarget"]["Properties"]
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert target["ResourceId"] == {"Fn::Sub": "service/${Cluster}/${Service.Name}"}
    assert target["MinCapacity"] == ref("MinTaskCount")
    assert target["MaxCapacity"] == ref("MaxTaskCount")
    assert 2 <= parameters["MinTaskCount"]["Default"] < parameters["MaxTaskCount"]["Default"]
    assert resources["Service"]["Properties"]["DesiredCount"] == ref("MinTaskCount")


def test_target_tracking_on_cpu_and_requests_per_task_scales_in_gently() -> None:
    resources = stack()["Resources"]
    policies = {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
    }
    metrics = {}
    for policy in policies.values():
        assert policy["PolicyType"] == "TargetTrackingScaling"
        assert policy["ScalingTargetId"] == ref("ScalableTarget")
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        assert config["ScaleInCooldown"] >= 10 * config["ScaleOutCooldown"], "scale in slowly"
        assert config.get("DisableScaleIn") is not True
        metrics[config["PredefinedMetricSpecification"]["PredefinedMetricType"]] = config
    assert set(metrics) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    assert metrics["ECSServiceAverageCPUUtilization"]["TargetValue"] == ref("TargetCpuPercent")
    requests = metrics["ALBRequestCountPerTarget"]
    assert requests["TargetValue"] == ref("TargetRequestsPerTask")
    label = requests["PredefinedMetricSpecification"]["ResourceLabel"]["Fn::Sub"]
    assert label == "${LoadBalancer.LoadBalancerFullName}/${AppTargetGroup.TargetGroupFullName}"


def test_deregistration_waits_for_a_running_script_and_stickiness_stays() -> None:
    template = stack()
    group = template["Resources"]["AppTargetGroup"]["Properties"]["TargetGroupAttributes"]
    attributes = {a["Key"]: a["Value"] for a in group}
    assert attributes["deregistration_delay.timeout_seconds"] == ref("DeregistrationDelaySeconds")
    assert 60 <= template["Parameters"]["DeregistrationDelaySeconds"]["Default"] <= 300
    assert attributes["stickiness.enabled"] == "true"


def test_task_role_is_separate_and_empty_unless_policies_are_named() -> None:
    template = stack()
    resources = template["Resources"]
    role = resources["TaskRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
    assert "Policies" not in role
    assert role["ManagedPolicyArns"] == {
        "Fn::If": ["HasTaskPolicies", ref("TaskPolicyArns"), ref("AWS::NoValue")]
    }
    assert template["Parameters"]["TaskPolicyArns"]["Default"] == ""
    task = resources["TaskDefinition"]["Properties"]
    assert task["TaskRoleArn"] == {"Fn::GetAtt": ["TaskRole", "Arn"]}
    assert task["ExecutionRoleArn"] != task["TaskRoleArn"]


def test_admin_group_is_created_in_the_pool_named_by_a_parameter() -> None:
    template = stack()
    group = template["Resources"]["AdminGroup"]
    assert group["Type"] == "AWS::Cognito::UserPoolGroup"
    assert group["Properties"]["UserPoolId"] == ref("UserPool")
    assert group["Properties"]["GroupName"] == ref("AdminGroupName")
    assert template["Parameters"]["AdminGroupName"]["Default"] == "admin"


def test_read_only_root_file_system_with_a_writable_tmp_matches_the_dockerfile() -> None:
    template = stack()
    task = template["Resources"]["TaskDefinition"]["Properties"]
    (container,) = task["ContainerDefinitions"]
    assert container["ReadonlyRootFilesystem"] == ref("ReadOnlyRootFilesystem")
    assert template["Parameters"]["ReadOnlyRootFilesystem"]["Default"] == "true"
    assert container["MountPoints"] == [{"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}]
    assert task["Volumes"] == [{"Name": "tmp"}]
    dockerfile = (TEMPLATES / "Dockerfile").read_text()
    assert 'VOLUME ["/tmp"]' in dockerfile  # Fargate copies the image's /tmp (mode 1777) into it
    assert "HOME=/tmp" in dockerfile


def test_stack_note_covers_first_user_network_and_what_a_delete_keeps(tmp_path, capsys) -> None:
    assert write_template("stack", tmp_path) == 0
    note = capsys.readouterr().out
    for needed in (
        "aws cognito-idp admin-create-user",
        "aws cognito-idp admin-add-user-to-group",
        "--group-name admin",
        "NAT",
        "VPC endpoints",
        "DeletionPolicy: Retain",
        "doctor --url",
    ):
        assert needed in note
    assert stack()["Resources"]["UserPool"]["DeletionPolicy"] == "Retain"


def test_access_logs_follow_the_optional_bucket() -> None:
    template = stack()
    attributes = template["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    values = {a["Key"]: a["Value"] for a in attributes}
    assert values["access_logs.s3.enabled"] == {"Fn::If": ["HasAccessLogs", "true", "false"]}
    assert values["access_logs.s3.bucket"] == ref("AccessLogBucket")
    assert template["Parameters"]["AccessLogBucket"]["Default"] == ""
    assert template["Conditions"]["HasAccessLogs"] == {
        "Fn::Not": [{"Fn::Equals": [ref("AccessLogBucket"), ""]}]
    }


def test_https_listener_sends_strict_transport_security_that_doctor_accepts() -> None:
    from streamlit_alb_auth.doctor.live import HSTS_MIN_SECONDS, hsts_max_age

    listener = stack()["Resources"]["HttpsListener"]["Properties"]
    attributes = {a["Key"]: a["Value"] for a in listener["ListenerAttributes"]}
    value = attributes["routing.http.response.strict_transport_security.header_value"]
    assert hsts_max_age(value) >= HSTS_MIN_SECONDS
