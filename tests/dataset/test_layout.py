"""The dataset folder's names: patch files by dataset index, and the per-shard state files."""

from satclip_cli.dataset.layout import existing_patches, failures_path, patch_filename, records_path


def test_only_complete_patches_count_and_are_keyed_by_their_index(tmp_path):
    assert existing_patches(tmp_path / "images") == {}  # no folder yet
    (tmp_path / "images").mkdir()
    for name in (patch_filename(0), patch_filename(12), ".patch_3.tif.partial", "patch_x.tif", "notes.txt"):
        (tmp_path / "images" / name).write_bytes(b"")
    assert existing_patches(tmp_path / "images") == {
        0: tmp_path / "images" / "patch_0.tif",
        12: tmp_path / "images" / "patch_12.tif",
    }


def test_state_files_are_named_after_the_shard(tmp_path):
    assert records_path(tmp_path, "2-of-4") == tmp_path / "records-2-of-4.jsonl"
    assert failures_path(tmp_path, "1-of-1") == tmp_path / "failures-1-of-1.jsonl"
