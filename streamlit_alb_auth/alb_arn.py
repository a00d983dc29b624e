"""An Application Load Balancer's ARN: its syntax, and the partition and region it names (a leaf).

The region says where the ALB publishes its public keys (``keys.regional_key_base_url``); the settings
check an ARN's syntax with it before anything is fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streamlit_alb_auth.errors import ConfigurationError

# ASCII digits only: ``\d`` would also match Arabic-Indic and other Unicode digits.
ALB_ARN_PATTERN = re.compile(
    r"arn:(?P<partition>aws|aws-us-gov|aws-cn):elasticloadbalancing:(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]+)"
    r":(?P<account>[0-9]{12}):loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{1,32}"
)


@dataclass(frozen=True)
class AlbArn:
    arn: str
    partition: str
    region: str
    account: str

    @classmethod
    def parse(cls, arn: str) -> AlbArn:
        match = ALB_ARN_PATTERN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None:
            raise ConfigurationError(
                f"{arn!r} is not an Application Load Balancer ARN "
                "(arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID)"
            )
        return cls(arn, match["partition"], match["region"], match["account"])


__all__ = ["ALB_ARN_PATTERN", "AlbArn"]
