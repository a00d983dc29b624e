"""The reference stack as an AWS CDK construct (``pip install "streamlit-alb-auth[cdk]"``).

The construct includes the very ``stack.yaml`` that ``streamlit-alb-auth template stack`` writes
(``aws_cdk.cloudformation_include.CfnInclude``), so there is one template, not a CDK copy that drifts.
Parameters given here become the parameters' defaults in the synthesised template; the others keep the
template's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources

from aws_cdk import CfnOutput, CfnResource
from aws_cdk import cloudformation_include as cfn_include
from constructs import Construct

ParameterValue = str | int | Sequence[str]


def stack_template_path() -> str:
    """The packaged ``stack.yaml`` (a real file: package data ships unzipped)."""
    return str(resources.files("streamlit_alb_auth.templates").joinpath("stack.yaml"))


class StreamlitAlbAuth(Construct):
    """Cognito user pool, ALB with sign-in, ECS Fargate service with scaling, and logout, from ``stack.yaml``.

    Parameters
    ----------
    domain_name, certificate_arn, vpc_id, public_subnet_ids, private_subnet_ids, container_image,
    cognito_domain_prefix
        The template's required parameters (``DomainName``, ``CertificateArn``, ...).
    parameters
        Any other ``stack.yaml`` parameter by its template name, e.g. ``{"MaxTaskCount": 10}``.

    Examples
    --------
    >>> import aws_cdk as cdk
    >>> app = cdk.App()
    >>> stack = cdk.Stack(app, "MyApp")
    >>> site = StreamlitAlbAuth(
    ...     stack, "Streamlit",
    ...     domain_name="app.example.com",
    ...     certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/x",
    ...     vpc_id="vpc-1",
    ...     public_subnet_ids=["subnet-a", "subnet-b"],
    ...     private_subnet_ids=["subnet-c", "subnet-d"],
    ...     container_image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-app:v1",
    ...     cognito_domain_prefix="my-unique-prefix", parameters={"MaxTaskCount": 10},
    ... )  # doctest: +SKIP
    >>> site.output("UserPoolId")  # doctest: +SKIP
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        certificate_arn: str,
        vpc_id: str,
        public_subnet_ids: Sequence[str],
        private_subnet_ids: Sequence[str],
        container_image: str,
        cognito_domain_prefix: str,
        parameters: Mapping[str, ParameterValue] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        values: dict[str, ParameterValue] = {
            "DomainName": domain_name,
            "CertificateArn": certificate_arn,
            "VpcId": vpc_id,
            "PublicSubnetIds": list(public_subnet_ids),
            "PrivateSubnetIds": list(private_subnet_ids),
            "ContainerImage": container_image,
            "CognitoDomainPrefix": cognito_domain_prefix,
            **(parameters or {}),
        }
        self.template = cfn_include.CfnInclude(self, "Template", template_file=stack_template_path())
        # Values become the parameters' defaults rather than being substituted away: the template keeps its
        # parameter list (its console groups stay valid) and a deploy can still override any of them.
        for name, value in values.items():
            parameter = self.template.get_parameter(name)  # refuses an unknown name, naming it
            parameter.default = value if isinstance(value, str | int) else ",".join(value)

    def resource(self, logical_id: str) -> CfnResource:
        """A resource of the template by its logical id (``UserPool``, ``Service``, ``TaskRole``, ...)."""
        return self.template.get_resource(logical_id)

    def output(self, name: str) -> CfnOutput:
        """An output of the template (``UserPoolId``, ``LoadBalancerArn``, ``AppUrl``, ...)."""
        return self.template.get_output(name)
