"""The `aws` cloud driver (`pip install scoot[aws]`): see `driver` and docs/drivers/aws.md."""

from scoot_runtime.drivers.aws.driver import AwsDriver

__all__ = ["AwsDriver"]
