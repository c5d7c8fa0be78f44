"""Turn user-facing errors into one line on stderr and exit code 2."""

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from satclip_cli.errors import SatclipError

P = ParamSpec("P")
R = TypeVar("R")


def user_errors_exit(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so a :class:`SatclipError` prints ``Error: <message>`` and exits 2.

    Ctrl-C exits with 130 and a short note. Other exceptions are bugs and keep their
    traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SatclipError as error:
            message = " ".join(str(error).split())
            print(f"Error: {message}", file=sys.stderr)
            raise typer.Exit(code=error.exit_code) from None
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            raise typer.Exit(code=130) from None

    return wrapper
