"""The AWS driver's error, and how a failed AWS call becomes one."""

from __future__ import annotations

from scoot_runtime.errors import ScootError


class AwsDriverError(ScootError, RuntimeError):
    """An operation of the AWS driver failed; the message says what to do about it."""


def error_code(error: BaseException) -> str:
    """The AWS error code of a failed call (`NoSuchBucket`), or "" for any other error."""
    return error.code if isinstance(error, AwsCallError) else ""


def is_not_found(error: BaseException) -> bool:
    """Whether a failed call failed because the thing asked about does not exist."""
    code = error_code(error)
    return (
        code.startswith(("NoSuch", "InvalidGroup.NotFound", "InvalidInstanceID.NotFound"))
        or code.endswith(("NotFound", "NotFoundException"))
        or code in {"404", "ResourceNotFoundException", "ParameterNotFound"}
    )


class AwsCallError(AwsDriverError):
    """A call to an AWS API that AWS refused: `code` is AWS's error code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code
