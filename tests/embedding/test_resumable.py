"""Folder outputs: refused when complete, resumed when unfinished with the same settings, replaced atomically."""

import pytest

from satclip_cli.embedding.resumable import finish_output_folder, open_output_folder, read_run
from satclip_cli.errors import InputError, OutputExistsError


def test_new_unfinished_complete_and_replaced(tmp_path):
    out = tmp_path / "o.parquet"
    folder, resumed = open_output_folder(out, {"a": 1}, overwrite=False)
    assert folder == out and not resumed and read_run(out) == {"settings": {"a": 1}, "complete": False}
    (out / "part-00000.parquet").write_text("x")
    assert open_output_folder(out, {"a": 1}, overwrite=False) == (out, True)
    with pytest.raises(InputError, match="unfinished run with other settings"):
        open_output_folder(out, {"a": 2}, overwrite=False)
    finish_output_folder(out, out)
    with pytest.raises(OutputExistsError, match="overwrite"):
        open_output_folder(out, {"a": 1}, overwrite=False)
    folder, resumed = open_output_folder(out, {"a": 2}, overwrite=True)
    assert folder != out and not resumed and (out / "part-00000.parquet").exists()  # the old one stays until done
    (folder / "part-00000.parquet").write_text("new")
    finish_output_folder(folder, out)
    assert (out / "part-00000.parquet").read_text() == "new" and not folder.exists()
    assert read_run(out)["complete"] is True and [p.name for p in tmp_path.iterdir()] == ["o.parquet"]


def test_unfinished_other_settings_with_overwrite_restart_and_files_are_refused(tmp_path):
    out = tmp_path / "o.zarr"
    open_output_folder(out, {"a": 1}, overwrite=False)
    (out / "junk").write_text("x")
    folder, resumed = open_output_folder(out, {"a": 2}, overwrite=True)
    assert folder == out and not resumed and not (out / "junk").exists()
    file = tmp_path / "f.zarr"
    file.write_text("x")
    with pytest.raises(OutputExistsError):
        open_output_folder(file, {}, overwrite=False)
    with pytest.raises(InputError, match="does not exist"):
        open_output_folder(tmp_path / "missing" / "o.zarr", {}, overwrite=False)


def test_write_errors_become_one_clear_error(tmp_path):
    import errno

    from satclip_cli.embedding.resumable import writing
    from satclip_cli.errors import DiskFullError

    expected = r"no space left on the device for .*o\.zarr \(.* free\); finished parts are kept"
    with (
        pytest.raises(DiskFullError, match=expected),
        writing(tmp_path / "o.zarr"),
    ):
        raise OSError(errno.ENOSPC, "No space left on device")
