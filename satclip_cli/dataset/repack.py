"""Re-encode a dataset's patches, losslessly, in the encoding the training loader decodes fastest.

S2-100K as published stores each 256 x 256 px patch with LZW + horizontal predictor in one 512 x 512 px
tile, so every read decodes four times the pixels; training reads every patch once per epoch (500
epochs for the released models). :class:`DatasetRepack` rewrites the patches listed in a dataset's
``index.csv`` in :data:`~satclip_cli.dataset.patch_files.PATCH_ENCODING` (what ``satclip sample``
writes): on the 23 real S2-100K patches ~3.7x faster to decode and 37 % smaller. Pixels, CRS,
transform, nodata, band descriptions and dataset tags are kept; every new file is read back and
compared with the original before it takes the original's place.

Either into a new folder ``out`` (the other files of the dataset folder — ``index.csv``, ``index.parquet``,
``sampling/`` — are copied once every patch is done, so an unfinished ``out`` is no dataset yet), or in
place (each file replaced atomically by its checked copy; a symbolic link is replaced by the new file
and its target left as it is). Re-running resumes: done files are skipped.

A patch that cannot be read (truncated, corrupt) is skipped and counted, not fatal: it is listed with
the reason in ``repack-skipped.csv`` (fn,reason) of the output folder, and the copied ``index.csv`` /
``index.parquet`` leave it out, so the new folder is a consistent dataset. In place, the unreadable file
is left as it is and listed in the dataset's own ``repack-skipped.csv``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from satclip_cli.dataset.index import check_images_present, read_index
from satclip_cli.dataset.layout import IMAGES_DIR, INDEX_CSV, INDEX_PARQUET
from satclip_cli.dataset.patch_files import (
    GDAL_READ_OPTIONS,
    PatchEncodingInfo,
    PatchVerificationError,
    read_error_reason,
    remove_partial_patches,
    write_patch,
)
from satclip_cli.errors import InputError, one_line, setting
from satclip_cli.utils.atomic_output import atomic_output
from satclip_cli.utils.output_folder import make_output_folder
from satclip_cli.utils.parent_watch import exit_with_parent

SKIPPED_CSV = "repack-skipped.csv"
"""The patches a repack skipped because they cannot be read: columns fn,reason."""


@dataclass
class RepackSummary:
    """What a repack did: counts of files and bytes before/after (of the files re-encoded in this run)."""

    total: int = 0
    repacked: int = 0
    skipped: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0
    out_dir: Path | None = None
    interrupted: bool = False
    unreadable: dict[str, str] = field(default_factory=dict)
    """Patches skipped because they cannot be read: file name (as in the index) -> reason."""

    def lines(self) -> list[str]:
        verb = "Interrupted after re-encoding" if self.interrupted else "Re-encoded"
        lines = [f"{verb} {self.repacked:,} of {self.total:,} patches in {self.seconds:.0f} s -> {self.out_dir}"]
        if self.skipped:
            lines.append(f"{self.skipped:,} were done already (an earlier run)")
        if self.unreadable:
            name, why = next(iter(self.unreadable.items()))
            where = self.out_dir / SKIPPED_CSV if self.out_dir is not None else SKIPPED_CSV
            lines.append(
                f"Skipped {len(self.unreadable):,} unreadable patch{'es' if len(self.unreadable) > 1 else ''}, "
                f"listed in {where} and left out of its index (first: {name}: {why})"
            )
        if self.repacked:
            change = 100 * (self.bytes_after / self.bytes_before - 1) if self.bytes_before else 0.0
            lines.append(
                f"Size of the re-encoded patches: {self.bytes_before / 1e6:,.1f} MB -> "
                f"{self.bytes_after / 1e6:,.1f} MB ({change:+.0f} %)"
            )
        if self.interrupted:
            lines.append("Run the same command again to finish; done files are kept.")
        return lines


class UnreadablePatchError(InputError):
    """A source patch cannot be read (truncated or corrupt); a repack skips it and counts it."""


def repack_patch(source: str, target: str) -> tuple[int, int]:
    """Re-encode the patch ``source`` as ``target`` (may be the same path), checked; returns (bytes before, after).

    Raises :class:`UnreadablePatchError` when ``source`` cannot be read, and :class:`InputError` (one
    line) when the copy cannot be written or does not read back identically; ``target`` is then untouched.
    """
    import rasterio
    from rasterio.errors import RasterioError

    before = os.path.getsize(source)
    try:
        with rasterio.Env(**GDAL_READ_OPTIONS), rasterio.open(source) as src:
            pixels = src.read()
            crs = src.crs.to_wkt() if src.crs else None
            transform = tuple(src.transform)[:6]
            tags = src.tags()
            descriptions = src.descriptions
            nodata = src.nodata
    except RasterioError as error:
        raise UnreadablePatchError(f"cannot read patch {source}: {read_error_reason(error, source)}") from None
    try:
        with rasterio.Env(**GDAL_READ_OPTIONS):
            write_patch(
                Path(target),
                pixels,
                crs,
                transform,  # type: ignore[arg-type]
                tags,
                band_names=descriptions,
                dtype=str(pixels.dtype),
                nodata=nodata,
                verify=True,
            )
    except RasterioError as error:
        raise InputError(f"cannot re-encode patch {source}: {one_line(error)}") from None
    except PatchVerificationError as error:
        raise InputError(f"{error}; {source} is untouched") from None
    return before, os.path.getsize(target)


def _repack_pair(pair: tuple[str, str]) -> tuple[int, int, str | None]:
    """``repack_patch`` for a worker: (bytes before, after, None), or (0, 0, reason) for an unreadable source."""
    try:
        return (*repack_patch(*pair), None)
    except UnreadablePatchError as error:
        return 0, 0, _reason(str(error), pair[0])


def _reason(message: str, source: str) -> str:
    """The part of an :class:`UnreadablePatchError` message after its ``cannot read patch PATH:`` prefix."""
    prefix = f"cannot read patch {source}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


class DatasetRepack:
    """Re-encode the patches of the dataset folder ``source`` into ``out`` (a new folder), or in place.

    ``workers`` processes re-encode in parallel (1: in this process). Call :meth:`prepare` (checks,
    raises :class:`InputError`), then :meth:`run`.
    """

    def __init__(self, source: str | os.PathLike, out: str | os.PathLike | None, workers: int = 1) -> None:
        if workers < 1:
            raise InputError(f"{setting('workers')} must be at least 1, got {workers}")
        self.source = Path(source)
        self.out = Path(out) if out is not None else self.source
        self.in_place = out is None
        self.workers = workers
        self.filenames: list[str] = []
        self.summary = RepackSummary(out_dir=self.out)

    def prepare(self) -> None:
        """Check the source dataset and the target folder; raises InputError with one line."""
        self.filenames, _ = read_index(self.source)
        check_images_present(self.source / IMAGES_DIR, self.filenames, self.source / INDEX_CSV)
        if not self.in_place:
            if self.out.exists() and self.out.resolve() == self.source.resolve():
                raise InputError(
                    f"the output {self.out} is the dataset itself; use {setting('in_place')} to re-encode it there"
                )
            if self.out.resolve().is_relative_to(self.source.resolve()):
                raise InputError(f"the output {self.out} is inside the dataset {self.source}; choose another folder")
            if self.out.exists() and not self.out.is_dir():
                raise InputError(f"the output {self.out} is a file; give a folder")
            index = self.out / INDEX_CSV
            earlier_skips = (self.out / SKIPPED_CSV).is_file()  # its index leaves out the unreadable patches
            if index.is_file() and not earlier_skips and index.read_bytes() != (self.source / INDEX_CSV).read_bytes():
                raise InputError(f"{self.out} holds another dataset (its index.csv differs from the source's)")
            make_output_folder(self.out, "output folder")
            make_output_folder(self.out / IMAGES_DIR, "output folder")
        else:
            make_output_folder(self.source / IMAGES_DIR, "dataset images folder")  # writable, in place
        self.summary.total = len(self.filenames)

    def pending(self) -> list[str]:
        """File names (as in the index) still to re-encode. In place, this opens every patch once."""
        if self.in_place:
            return [name for name in self.filenames if not _has_our_encoding(self.source / IMAGES_DIR / name)]
        return [name for name in self.filenames if not (self.out / IMAGES_DIR / name).is_file()]

    def run(self, pending: list[str] | None = None, on_progress: Callable[[int], None] | None = None) -> RepackSummary:
        """Re-encode ``pending`` (default :meth:`pending`); into a new folder, once no patch is left to do,
        copy the other dataset files."""
        start = time.perf_counter()
        pending = self.pending() if pending is None else pending
        self.summary.skipped = self.summary.total - len(pending)
        self._clean_leftovers()
        try:
            for name, (before, after, unreadable) in zip(pending, self._repack_all(pending), strict=True):
                if unreadable is not None:
                    self.summary.unreadable[name] = unreadable
                else:
                    self.summary.repacked += 1
                    self.summary.bytes_before += before
                    self.summary.bytes_after += after
                if on_progress is not None:
                    on_progress(1)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            raise
        finally:
            self.summary.seconds = time.perf_counter() - start
        if self.summary.unreadable or (self.out / SKIPPED_CSV).is_file():
            self._write_skipped_list()
        if not self.in_place and set(self.pending()) <= set(self.summary.unreadable):
            self._copy_dataset_files()
        return self.summary

    def _pairs(self, pending: list[str]) -> Iterator[tuple[str, str]]:
        for name in pending:
            target = self.out / IMAGES_DIR / name
            target.parent.mkdir(parents=True, exist_ok=True)
            yield str(self.source / IMAGES_DIR / name), str(target)

    def _repack_all(self, pending: list[str]) -> Iterator[tuple[int, int, str | None]]:
        if self.workers == 1 or len(pending) < 2:
            yield from map(_repack_pair, self._pairs(pending))
            return
        # Workers end with this process, also when it is killed with SIGKILL (no orphans at PPID 1).
        executor = ProcessPoolExecutor(self.workers, initializer=exit_with_parent, initargs=(os.getpid(),))
        try:
            yield from executor.map(_repack_pair, self._pairs(pending), chunksize=8)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def _clean_leftovers(self) -> None:
        """Remove temporary files of an interrupted run from every folder patches are written to."""
        folders = {(self.out / IMAGES_DIR / name).parent for name in self.filenames}
        for folder in folders:
            if folder.is_dir():
                remove_partial_patches(folder)

    def _write_skipped_list(self) -> None:
        """Write ``repack-skipped.csv`` (fn,reason) in the output folder: this run's unreadable patches."""
        import pandas as pd

        frame = pd.DataFrame({"fn": list(self.summary.unreadable), "reason": list(self.summary.unreadable.values())})
        with atomic_output(self.out / SKIPPED_CSV, overwrite=True) as tmp:
            frame.to_csv(tmp, index=False)

    def _copy_dataset_files(self) -> None:
        """Copy everything of the source folder but ``images/`` (index files, sampling records) into ``out``.

        The index files leave out the patches skipped as unreadable.
        """
        skipped = set(self.summary.unreadable)
        for entry in sorted(self.source.iterdir()):
            if entry.name in (IMAGES_DIR, SKIPPED_CSV):
                continue
            target = self.out / entry.name
            if entry.is_dir():
                shutil.copytree(entry, target, dirs_exist_ok=True)
                continue
            with atomic_output(target, overwrite=True) as tmp:
                if skipped and entry.name == INDEX_CSV:
                    _copy_index_csv_without(entry, tmp, skipped)
                elif skipped and entry.name == INDEX_PARQUET:
                    _copy_index_parquet_without(entry, tmp, skipped)
                else:
                    shutil.copy2(entry, tmp)


def _copy_index_csv_without(source: Path, target: Path, skipped: set[str]) -> None:
    """Copy ``index.csv`` line by line, leaving out the rows whose ``fn`` is in ``skipped`` (all else byte-exact)."""
    import pandas as pd

    names = pd.read_csv(source, dtype={"fn": str})["fn"].tolist()
    with open(source, encoding="utf-8", newline="") as lines_in, open(target, "w", encoding="utf-8", newline="") as out:
        out.write(lines_in.readline())  # the header
        for name, line in zip(names, lines_in, strict=False):
            if name not in skipped:
                out.write(line)


def _copy_index_parquet_without(source: Path, target: Path, skipped: set[str]) -> None:
    """Copy ``index.parquet`` without the rows whose ``fn`` is in ``skipped`` (schema and GeoParquet metadata kept)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(source)
    if "fn" in table.column_names:
        table = table.filter(pc.invert(pc.is_in(table["fn"], value_set=pa.array(sorted(skipped)))))
    pq.write_table(table, target)


def _has_our_encoding(path: Path) -> bool:
    from rasterio.errors import RasterioError

    try:
        return PatchEncodingInfo.read(path).is_ours()
    except RasterioError:
        return False  # re-encoding it will report the error
