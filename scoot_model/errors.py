"""The one error of the model's rules."""

from __future__ import annotations


class RuleError(ValueError):
    """A value that breaks a rule of the model: the message says what to write instead.

    A `ValueError`, so that a pydantic validator raising it reports a validation error
    on the field; the runtime turns it into its own errors where it calls a rule.
    """
