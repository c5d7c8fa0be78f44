"""Write outputs atomically: to a temporary file beside the target, renamed when complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from satclip_cli.errors import InputError, OutputExistsError, setting


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


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    On any exception (including Ctrl-C) the temporary file is removed and an existing
    ``path`` is left untouched.
    """
    target = check_output_path(path, overwrite)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial" + target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates the file 0600; give the output the permissions a normal open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
