"""Turn user-facing errors (ours and click's usage errors) into one line on stderr and exit code 2."""

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import typer
from typer.core import TyperGroup

try:  # typer (0.29, pinned) runs on its own vendored copy of click, whose exceptions are not re-exported
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - typer releases that use click itself
    from click.exceptions import NoArgsIsHelpError, UsageError

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import SatclipError, one_line

P = ParamSpec("P")
R = TypeVar("R")


def user_errors_exit(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so a :class:`SatclipError` prints ``Error: <message>`` and exits 2.

    Settings the message names are shown as their flags (:func:`~satclip_cli.cli.options.flag_name`).

    Ctrl-C exits with 130 and a short note. Other exceptions are bugs and keep their
    traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SatclipError as error:
            print(f"Error: {error.message_for(flag_name)}", file=sys.stderr)
            raise typer.Exit(code=error.exit_code) from None
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            raise typer.Exit(code=130) from None

    return wrapper


class OneLineUsageErrors(TyperGroup):
    """The ``satclip`` group: click's usage errors (a missing or invalid option, an unknown command) become
    one line on stderr, ``Error: <message> (see 'satclip CMD --help')``, with click's exit code 2.

    Running a command with no arguments still prints its help (click's NoArgsIsHelpError).
    """

    def make_context(self, *args: Any, **kwargs: Any) -> typer.Context:
        with _one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: typer.Context) -> Any:
        with _one_line_usage_errors():
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:
        raise
    except UsageError as error:
        message = one_line(error.format_message())
        where = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
        print(f"Error: {message}{where}", file=sys.stderr)
        raise typer.Exit(error.exit_code) from None
