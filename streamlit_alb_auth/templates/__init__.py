"""The logout Lambda and the CloudFormation around it, for ``streamlit-alb-auth template``.

The files ship as package data and are copied byte for byte, so the Lambda code inlined in the
YAML stays the code that the tests exercise.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

FILES = {
    "lambda": "logout_lambda.py",
    "logout-stack": "logout.yaml",
    "stack": "stack.yaml",
    "dockerfile": "Dockerfile",
}
# What each kind is, for `template --help`.
SUMMARIES = {
    "lambda": "the logout Lambda alone (logout_lambda.py), to deploy your own way",
    "logout-stack": "CloudFormation adding the logout path and signed-out page to your ALB listener",
    "stack": "CloudFormation for a whole deployment: Cognito user pool, ALB sign-in, ECS Fargate, logout",
    "dockerfile": "a slim non-root Streamlit image (Dockerfile and .dockerignore) for the stack",
}
# Written beside the main file, as {written name: packaged name}: a dot file does not ship as
# package data, so .dockerignore is packaged without its dot.
COMPANIONS = {"dockerfile": {".dockerignore": "dockerignore"}}

DEPLOY_NOTES = {
    "lambda": """\
Deploy it as a Python 3.12 Lambda (handler logout_lambda.lambda_handler) with these variables:
  COGNITO_USER_POOL_DOMAIN_PREFIX  (the region comes from AWS_REGION) or COGNITO_DOMAIN (custom)
  COGNITO_CLIENT_ID                the app client the listener authenticates with
  APP_LOGOUT_URL                   the signed-out page, https://YOUR-HOST/signed-out, listed in
                                   the app client's sign-out URLs (served by an ALB fixed-response
                                   rule that does not authenticate)
  SESSION_COOKIE_NAME              only if the listener changed it (AWSELBAuthSessionCookie)
Another OIDC provider instead of Cognito: IDP_LOGOUT_URL (its end-session endpoint),
IDP_REDIRECT_PARAM (default post_logout_redirect_uri; returnTo for Auth0) and IDP_CLIENT_ID
(sent as client_id when set).
Register it in a Lambda target group with lambda.multi_value_headers.enabled = true (one answer
expires every cookie shard; single-value mode takes a redirect per shard), and route the logout
path (/cognito/logout) to it with a rule that authenticates with OnUnauthenticatedRequest allow
before forwarding, so the Lambda gets the access token and revokes it (GlobalSignOut).
`template logout-stack` does all of this.""",
    "logout-stack": """\
Add the logout path and the signed-out page to an existing HTTPS listener:
  aws cloudformation deploy --template-file {path} --stack-name my-app-logout \\
    --capabilities CAPABILITY_IAM --parameter-overrides \\
    ListenerArn=arn:aws:elasticloadbalancing:... Priority=10 SignedOutPriority=11 \\
    CognitoDomainPrefix=my-prefix CognitoClientId=... \\
    UserPoolArn=arn:aws:cognito-idp:... SessionTimeout=28800 \\
    AppLogoutUrl=https://app.example.com/signed-out
(CognitoCustomDomain=auth.example.com instead of the prefix for a custom domain; IdpLogoutUrl=...
instead of the Cognito parameters for another OIDC provider.) Add AppLogoutUrl to the app
client's allowed sign-out URLs, use the listener's own SessionTimeout, and pick priorities the
listener does not use yet, lower than any rule that authenticates these paths.""",
    "stack": """\
A complete deployment: Cognito user pool, ALB with Cognito sign-in, ECS Fargate service, logout.
Fill in your host name, its ACM certificate, the VPC, subnets and image, then:
  aws cloudformation deploy --template-file {path} --stack-name my-app \\
    --s3-bucket my-deploy-bucket --capabilities CAPABILITY_IAM --parameter-overrides \\
    DomainName=app.example.com CertificateArn=arn:aws:acm:... \\
    VpcId=vpc-... PublicSubnetIds=subnet-a,subnet-b PrivateSubnetIds=subnet-c,subnet-d \\
    ContainerImage=123456789012.dkr.ecr.REGION.amazonaws.com/my-app:latest \\
    CognitoDomainPrefix=my-unique-prefix
Add HostedZoneId=Z... to create the DNS record; otherwise point DomainName at the
LoadBalancerDnsName output. (`template dockerfile` writes an image for ContainerImage.)
The template is over CloudFormation's 51,200-byte inline limit: --s3-bucket (any bucket of yours in
this region) carries it. MachineClients=cognito lets agents call /_stcore/agent/* with a bearer token.

Private subnets: the tasks get no public IP, so each private subnet needs a route to a NAT
gateway. VPC endpoints (ecr.api, ecr.dkr, s3 gateway, logs) cover pulling the image and
logging, but not token checks: the ALB's public-key host public-keys.auth.elb.REGION.amazonaws.com
has no VPC endpoint, so without NAT (or an egress proxy) every sign-in fails verification.

Sign-up is invite-only. Add the first user and make them an administrator:
  aws cognito-idp admin-create-user --user-pool-id POOL_ID --username you@example.com \\
    --user-attributes Name=email,Value=you@example.com Name=email_verified,Value=true
  aws cognito-idp admin-add-user-to-group --user-pool-id POOL_ID --username you@example.com \\
    --group-name admin
(POOL_ID is the UserPoolId output, admin the AdminGroupName parameter; Cognito e-mails a
temporary password.) Then check the deployment from outside:
  streamlit-alb-auth doctor --url https://app.example.com/

Deleting the stack keeps the user pool (DeletionPolicy: Retain), with its users, groups and
passwords, so a delete or a replacement never locks everyone out; delete it yourself with
aws cognito-idp delete-user-pool once it is no longer wanted. Its domain prefix and app
client go with the stack.""",
    "dockerfile": """\
Put requirements.txt (with streamlit-alb-auth) and app.py beside it (or edit the CMD line), and,
while streamlit-alb-auth is not on PyPI, its wheel in wheels/ (in a clone of the repository:
python -m build --wheel --outdir wheels/ PATH/TO/CLONE). Then build for the tasks' architecture
(Fargate defaults to x86_64) and push to ECR:
  aws ecr create-repository --repository-name my-app
  aws ecr get-login-password | docker login --username AWS --password-stdin \\
    123456789012.dkr.ecr.REGION.amazonaws.com
  docker build --platform linux/amd64 -t 123456789012.dkr.ecr.REGION.amazonaws.com/my-app:v1 {folder}
  docker push 123456789012.dkr.ecr.REGION.amazonaws.com/my-app:v1
Pass that image to the stack as ContainerImage=123456789012.dkr.ecr.REGION.amazonaws.com/my-app:v1
(use a new tag for each release, so a stack update rolls the tasks). The image listens on 8501,
the stack's default ContainerPort; the stack sets STREAMLIT_SERVER_PORT when you change it.
.dockerignore keeps .streamlit/secrets.toml and .env out of the image: give secrets to the
task as ECS secrets or environment instead.""",
}


def write_template(kind: str, out: str | os.PathLike, *, force: bool = False) -> int:
    """Write the ``kind`` template into the folder ``out`` and print what to fill in.

    An existing file with other content is left alone (exit code 1), so local edits are never
    lost, unless ``force`` is set; an identical one is rewritten. Returns 0 on success, 1 when
    nothing was written.

    Examples
    --------
    >>> write_template("stack", "deploy/aws")  # doctest: +SKIP
    0
    """
    if kind not in FILES:
        raise ValueError(f"unknown template {kind!r}; choose one of {', '.join(FILES)}")
    names = {FILES[kind]: FILES[kind], **COMPANIONS.get(kind, {})}
    files = {Path(out) / written: _packaged(packaged) for written, packaged in names.items()}
    try:
        differing = [
            target for target, data in files.items() if target.exists() and target.read_bytes() != data
        ]
        if differing and not force:
            for target in differing:
                print(
                    f"{target} exists and differs: pass --force to overwrite it, or pick another --out",
                    file=sys.stderr,
                )
            return 1
        for target, data in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    except OSError as error:
        print(f"cannot write into {out}: {error}", file=sys.stderr)
        return 1
    target = Path(out) / FILES[kind]
    print("".join(f"Wrote {written}\n" for written in files))
    print(DEPLOY_NOTES[kind].format(path=target, folder=target.parent))
    return 0


def _packaged(name: str) -> bytes:
    return resources.files(__name__).joinpath(name).read_bytes()
