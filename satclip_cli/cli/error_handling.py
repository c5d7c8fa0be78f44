"""Turn user-facing errors (ours and click's usage errors) into one line on stderr and exit code 2."""

import contextlib
import functools
import os
import signal
import sys
import threading
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
from satclip_cli.utils.disk_space import is_disk_full

P = ParamSpec("P")
R = TypeVar("R")


SIGTERM_EXIT_CODE = 128 + signal.SIGTERM
"""Exit code after SIGTERM (143), as a shell reports a process killed by it."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same clean-up runs (temporary files removed, outputs untouched)."""


@contextlib.contextmanager
def sigterm_as_interrupt(received: threading.Event | None = None) -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (and sets ``received``); the
    previous handler is restored after it.

    A forked child (a worker process) that inherited the handler dies of SIGTERM as it would by default.
    Outside the main thread (where Python cannot install handlers) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != owner:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if received is not None:
            received.set()
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def user_errors_exit(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so a :class:`SatclipError` prints ``Error: <message>`` and exits 2.

    Settings the message names are shown as their flags (:func:`~satclip_cli.cli.options.flag_name`).

    Ctrl-C exits with 130 and a short note; SIGTERM takes the same path (:class:`Terminated`) and exits
    with 143, also when a library turned the interrupt into ``sys.exit`` (Lightning exits 1 on Ctrl-C).
    A full disk that no library code reported (:func:`~satclip_cli.utils.disk_space.is_disk_full`) is one line
    too. Other exceptions are bugs and keep their traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        terminated = threading.Event()
        try:
            with sigterm_as_interrupt(terminated):
                return func(*args, **kwargs)
        except SatclipError as error:
            print(f"Error: {error.message_for(flag_name)}", file=sys.stderr)
            raise typer.Exit(code=error.exit_code) from None
        except (KeyboardInterrupt, SystemExit) as interrupt:
            if terminated.is_set():
                print("Terminated.", file=sys.stderr)
                raise typer.Exit(code=SIGTERM_EXIT_CODE) from None
            if isinstance(interrupt, SystemExit):
                raise
            print("Interrupted.", file=sys.stderr)
            raise typer.Exit(code=130) from None
        except Exception as error:
            if not is_disk_full(error):
                raise
            # A writer we did not wrap (a logger's file, a library's cache): still one line, without a path.
            print(f"Error: no space left on the device ({one_line(error, 300)})", file=sys.stderr)
            raise typer.Exit(code=2) from None

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
