"""The runtime's errors that a user can act on.

A `ScootError`'s message says what happened and what to do; the CLI shows it as
it is, in one paragraph. Any other exception is a bug, reported as one.
"""


class ScootError(Exception):
    """An error whose message is for the user."""
