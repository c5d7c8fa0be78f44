"""User-facing errors, and the one formatter that turns any exception into one line.

Library code raises :class:`SatclipError` (or a subclass) for anything a user can
fix: bad input, a missing file, an incompatible checkpoint. The CLI prints its
message as one line on stderr and exits with code 2, never with a traceback.

Library code does not know flag names. A message that names a setting marks it with
:func:`setting` (``f"{setting('max_cloud')} is a percentage"``); ``str(error)`` shows the
setting's name (``max_cloud``), and the CLI shows the command's flag (``--max-cloud``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SETTING_REFERENCE = re.compile(r"⟦([A-Za-z_][A-Za-z0-9_]*)⟧")


def setting(name: str) -> str:
    """A reference to the setting ``name`` inside an error message (see the module docstring)."""
    return f"⟦{name}⟧"


def render_settings(text: str, show: Callable[[str], str] | None = None) -> str:
    """Replace each :func:`setting` reference in ``text`` by ``show(name)`` (default: the name itself)."""
    return _SETTING_REFERENCE.sub(lambda match: show(match[1]) if show else match[1], text)


def one_line(error: BaseException | str, limit: int | None = None, *, with_type: bool = False) -> str:
    """An exception (or text) as one line: white space folded, cut at ``limit`` characters with ``…``.

    An empty message gives the exception's type name; ``with_type`` puts ``Type: `` in front, for
    errors of other libraries whose message alone does not say what failed.
    """
    text = " ".join(str(error).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    if isinstance(error, str):
        return text
    name = type(error).__name__
    if not text:
        return name
    return f"{name}: {text}" if with_type else text


def shown(value: object) -> str:
    """A value for a message: text quoted (``'abc'``), numbers plain, numpy scalars as Python ones.

    ``f"{value!r}"`` of a numpy scalar prints ``np.float64(nan)``; this prints ``nan`` (and ``3``,
    ``2.5``, ``True``).
    """
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    return repr(value) if isinstance(value, str) else str(value)


class SatclipError(Exception):
    """An error caused by the user's input or environment, with a one-line message."""

    exit_code = 2

    def __str__(self) -> str:
        return render_settings(super().__str__())

    def message_for(self, show_setting: Callable[[str], str]) -> str:
        """The message as one line, each setting shown by ``show_setting`` (the CLI passes flag names)."""
        return one_line(render_settings(super().__str__(), show_setting))


class InputError(SatclipError):
    """The input file, its columns or its coordinates cannot be used."""


class CheckpointError(SatclipError):
    """A checkpoint or model file is missing, corrupt or of an unknown layout."""


class OutputExistsError(SatclipError):
    """The output path exists and the ``overwrite`` setting is off."""


class OfflineError(SatclipError):
    """A download was needed but the network (or the cache) could not provide it."""


class DiskFullError(SatclipError):
    """A write found no space left on the device (or the quota exhausted); the message names the path."""
