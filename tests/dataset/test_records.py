"""Per-patch records: appended as JSON lines, rebuilt from a patch's tags when the line was lost."""

import pytest

from satclip_cli.dataset.records import collect_records


def test_lost_records_are_rebuilt_from_patch_tags(make_dataset, tmp_path):
    make_dataset(tmp_path, [0, 1], record_indices={0})
    records = collect_records(tmp_path)
    assert [r["index"] for r in records] == [0, 1]
    rebuilt = records[1]
    assert rebuilt["item_id"] == "S2B_1" and rebuilt["lon"] == pytest.approx(11.0) and rebuilt["col_off"] == 7


def test_truncated_last_record_line_is_ignored(make_dataset, tmp_path):
    make_dataset(tmp_path, [0], record_indices={0})
    with (tmp_path / "sampling" / "records-1-of-1.jsonl").open("a") as file:
        file.write('{"index": 1, "fn": "pat')
    assert [r["index"] for r in collect_records(tmp_path)] == [0]
