"""Write outputs atomically: to a temporary file beside the target, renamed when complete."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from satclip_cli.errors import InputError, OutputExistsError, setting
from satclip_cli.utils.disk_space import reporting_full_disk
from satclip_cli.utils.temporary_files import remove_leftovers, temporary_file_beside


def check_output_path(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an existing output unless ``overwrite``; check the folder exists."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"output {path} already exists; pass {setting('overwrite')} to replace it")
    if path.exists() and path.is_dir():
        raise InputError(f"output {path} is a directory")
    if not path.parent.exists():
        raise InputError(f"output folder {path.parent} does not exist")
    return path


def move_no_replace(tmp: str | os.PathLike, target: str | os.PathLike) -> bool:
    """Rename ``tmp`` to ``target`` unless ``target`` exists; False (``tmp`` left in place) when it does.

    Atomic where the file system supports hard links (link, then unlink ``tmp``): of two runs finishing
    the same output at once, exactly one wins. Elsewhere a re-check followed by ``os.replace`` (a small race).
    """
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some network or FAT file systems)
        if os.path.lexists(target):
            return False
        os.replace(tmp, target)
        return True
    os.unlink(tmp)
    return True


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike, overwrite: bool = False, *, needed: int | None = None, kept: str | None = None
) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    Without ``overwrite``, an output that another run created while this one was writing is kept and
    :class:`OutputExistsError` raised. On any exception (including Ctrl-C) the temporary file is removed
    and an existing ``path`` is left untouched; a full disk is reported as a
    :class:`~satclip_cli.errors.DiskFullError` naming ``path``, the space left and
    ``needed`` bytes (when given), ending with ``kept`` (what stays valid, when given).
    The temporary's name carries this process's ``pid@host``
    (:func:`~satclip_cli.utils.temporary_files.temporary_file_beside`); temporaries of ``path`` left by dead
    writers (a run killed with SIGKILL) are removed first (:func:`~satclip_cli.utils.temporary_files.remove_leftovers`).
    """
    target = check_output_path(path, overwrite)
    remove_leftovers(target)
    tmp = temporary_file_beside(target)
    # mkstemp creates the file 0600; give the output the permissions a normal open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)

    def remove_temporary() -> None:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()

    with reporting_full_disk(target, needed, kept, cleanup=remove_temporary):
        yield tmp
        if overwrite:
            os.replace(tmp, target)
        elif not move_no_replace(tmp, target):  # another run wrote the output meanwhile: keep it
            raise OutputExistsError(
                f"output {target} appeared while this run was writing it; pass {setting('overwrite')} to replace it"
            )
