"""Output folders built piece by piece (a GeoParquet dataset, a Zarr store) that a re-run resumes.

A folder output holds ``.satclip-run.json``: the settings its pieces depend on and whether it is complete.
:func:`open_output_folder` decides what a run does with an existing folder:

* complete, without ``overwrite``: refused (:class:`~satclip_cli.errors.OutputExistsError`);
* complete (or not ours), with ``overwrite``: the new output is built in a hidden sibling folder and only
  swapped in by :func:`finish_output_folder` once complete, so the old one stays intact until then;
* unfinished with the same settings: resumed in place (finished pieces are kept);
* unfinished with other settings: refused unless ``overwrite`` (then started again).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from satclip_cli.errors import InputError, OutputExistsError, SatclipError, setting
from satclip_cli.utils.disk_space import reporting_full_disk
from satclip_cli.utils.output_folder import reason

RUN_FILE = ".satclip-run.json"


def read_run(folder: Path) -> dict[str, Any] | None:
    """The run record of ``folder``, or None when it has none (or an unreadable one)."""
    try:
        return json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_run(folder: Path, settings: dict[str, Any], *, complete: bool) -> None:
    """Record ``settings`` and the completion flag in ``folder`` (atomically: temporary file + rename)."""
    tmp = folder / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps({"settings": settings, "complete": complete}, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / RUN_FILE)


def _replacement(path: Path) -> Path:
    return path.parent / f".{path.name}.replacement"


def open_output_folder(path: Path, settings: dict[str, Any], *, overwrite: bool) -> tuple[Path, bool]:
    """The folder to build the output ``path`` in, and whether it resumes an unfinished run.

    ``settings`` must be JSON-serialisable; a run resumes only a folder recorded with equal settings.

    Raises:
        OutputExistsError: ``path`` is complete (or is not an output of ours) and ``overwrite`` is off.
        InputError: ``path`` is an unfinished run with other settings and ``overwrite`` is off; ``path`` is a
            file; its parent folder does not exist.
    """
    settings = json.loads(json.dumps(settings))
    if not path.parent.is_dir():
        raise InputError(f"output folder {path.parent} does not exist")
    if path.exists() and not path.is_dir():
        if not overwrite:
            raise OutputExistsError(f"output {path} already exists; pass {setting('overwrite')} to replace it")
        return _fresh_or_resumed(_replacement(path), settings)
    if not path.exists():
        return _fresh_or_resumed(path, settings)
    run = read_run(path)
    if run is not None and not run.get("complete") and run.get("settings") == settings:
        return path, True
    if not overwrite:
        if run is not None and not run.get("complete"):
            raise InputError(
                f"output {path} is an unfinished run with other settings; re-run with the same settings to "
                f"resume it, or pass {setting('overwrite')} to start again"
            )
        raise OutputExistsError(f"output {path} already exists; pass {setting('overwrite')} to replace it")
    if run is not None and not run.get("complete"):
        shutil.rmtree(path)
        return _fresh_or_resumed(path, settings)
    return _fresh_or_resumed(_replacement(path), settings)


def _fresh_or_resumed(folder: Path, settings: dict[str, Any]) -> tuple[Path, bool]:
    run = read_run(folder) if folder.is_dir() else None
    if run is not None and not run.get("complete") and run.get("settings") == settings:
        return folder, True
    if folder.exists():
        shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
    folder.mkdir()
    write_run(folder, settings, complete=False)
    return folder, False


def finish_output_folder(working: Path, path: Path) -> None:
    """Mark ``working`` complete and, if it is a replacement, swap it in for ``path`` (old output removed)."""
    run = read_run(working)
    assert run is not None, f"{working} has no run record"
    write_run(working, run["settings"], complete=True)
    if working == path:
        return
    old = path.parent / f".{path.name}.old"
    if old.exists():
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    if path.exists():
        os.replace(path, old)
    os.replace(working, path)
    with contextlib.suppress(OSError):
        shutil.rmtree(old) if old.is_dir() else old.unlink()


def folder_bytes(folder: Path) -> int:
    """Total size of the files under ``folder``, in bytes."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an ``OSError`` while writing ``path`` (a full disk, no permission) into one clear :class:`SatclipError`.

    What was written before stays valid: parts and chunks are complete or absent, and a re-run resumes.
    """
    kept = "finished parts are kept, re-run to resume"
    try:
        with reporting_full_disk(path, kept=kept):
            yield
    except OSError as error:
        raise SatclipError(f"cannot write {path}: {reason(error)}; {kept}") from None
