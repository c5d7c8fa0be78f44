"""Output folders are created, or refused with one line naming the path and the reason."""

from __future__ import annotations

import pytest

from satclip_cli.errors import InputError
from satclip_cli.utils.output_folder import check_file_folder, make_output_folder
from tests.support.permissions import read_only_folder, unprivileged, world_readable_dir


def test_creates_missing_folders_and_accepts_an_existing_one(tmp_path):
    assert make_output_folder(tmp_path / "a" / "b").is_dir()
    assert make_output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"  # an existing folder is fine
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == []  # the write test leaves nothing


def test_a_file_or_a_file_on_the_way_is_refused(tmp_path):
    (tmp_path / "f").write_text("keep")
    with pytest.raises(InputError, match=r"run folder .*f is a file; give a folder"):
        make_output_folder(tmp_path / "f", "run folder")
    with pytest.raises(InputError, match="a part of the path is a file, not a folder"):
        make_output_folder(tmp_path / "f" / "sub")
    with pytest.raises(InputError, match=r"f is a file, not a folder"):
        check_file_folder(tmp_path / "f" / "model.safetensors")
    with pytest.raises(InputError, match="does not exist"):
        check_file_folder(tmp_path / "missing" / "model.safetensors")
    assert (tmp_path / "f").read_text() == "keep"


def test_an_unwritable_folder_is_refused():
    with world_readable_dir() as root:
        locked = read_only_folder(root)
        with unprivileged():
            with pytest.raises(InputError, match=r"cannot create output folder .*read-only/run: permission denied"):
                make_output_folder(locked / "run")
            with pytest.raises(InputError, match=r"cannot write in output folder .*read-only: permission denied"):
                make_output_folder(locked)
            with pytest.raises(InputError, match=r"cannot write output .*m\.json: permission denied"):
                check_file_folder(locked / "m.json")
