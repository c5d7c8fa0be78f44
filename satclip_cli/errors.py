"""User-facing errors.

Library code raises :class:`SatclipError` (or a subclass) for anything a user can
fix: bad input, a missing file, an incompatible checkpoint. The CLI prints its
message as one line on stderr and exits with code 2, never with a traceback.
"""


class SatclipError(Exception):
    """An error caused by the user's input or environment, with a one-line message."""

    exit_code = 2


class InputError(SatclipError):
    """The input file, its columns or its coordinates cannot be used."""


class CheckpointError(SatclipError):
    """A checkpoint or model file is missing, corrupt or of an unknown layout."""


class OutputExistsError(SatclipError):
    """The output path exists and ``--overwrite`` was not given."""


class OfflineError(SatclipError):
    """A download was needed but the network (or the cache) could not provide it."""
