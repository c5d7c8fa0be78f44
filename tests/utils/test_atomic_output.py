"""Atomic outputs: renamed only on success; existing files are never damaged."""

import pytest

from satclip_cli.errors import InputError, OutputExistsError
from satclip_cli.utils.atomic_output import atomic_output


def test_success_renames_and_failure_leaves_nothing(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_output(target) as tmp:
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"

    with pytest.raises(RuntimeError), atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_existing_output_and_missing_folder(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("keep")
    with pytest.raises(OutputExistsError), atomic_output(target):
        pass
    with pytest.raises(InputError, match="folder"), atomic_output(tmp_path / "missing" / "x.csv"):
        pass
    assert target.read_text() == "keep"


def test_output_follows_the_umask(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "out.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644


def test_the_umask_is_restored_and_the_temporary_file_is_beside_its_target(tmp_path):
    import os

    before = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "out.txt") as tmp:
            assert os.umask(0o027) == 0o027  # unchanged inside the block
            assert tmp.parent == tmp_path and tmp.name.startswith(".out.txt.")  # same folder: rename is atomic
            tmp.write_text("x")
        assert os.umask(0o027) == 0o027  # and after it
    finally:
        os.umask(before)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o640


def test_an_existing_directory_is_never_an_output_target(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="is a directory"), atomic_output(tmp_path / "taken", overwrite=True):
        pass
    assert (tmp_path / "taken").is_dir()


def test_an_output_another_run_wrote_meanwhile_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(OutputExistsError, match="appeared while"), atomic_output(target) as tmp:
        tmp.write_text("ours")
        target.write_text("theirs")  # another run finished first
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # our temporary file is gone

    with atomic_output(tmp_path / "other.csv", overwrite=True) as tmp:
        tmp.write_text("ours")
        (tmp_path / "other.csv").write_text("theirs")
    assert (tmp_path / "other.csv").read_text() == "ours"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.csv", "out.csv"]
