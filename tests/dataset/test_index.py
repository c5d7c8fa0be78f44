import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from satclip_cli.dataset.index import JsonLines, collect_records, existing_patches, write_index
from satclip_cli.dataset.patch_encoding import write_patch

TRANSFORM = (10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)


def make_dataset(root, indices, record_indices):
    images = root / "images"
    images.mkdir(parents=True)
    records = JsonLines(root / "sampling" / "records-1-of-1.jsonl")
    for index in indices:
        record = {
            "index": index, "fn": f"patch_{index}.tif", "lon": 10.0 + index, "lat": -5.0 - index,
            "item_id": f"S2B_{index}", "cloud_cover": 2.5, "col_off": 7, "row_off": 9,
        }  # fmt: skip
        write_patch(images / record["fn"], np.ones((12, 16, 16), np.uint16), "EPSG:32633", TRANSFORM, record)
        if index in record_indices:
            records.append(record)
    return records


def test_index_lists_exactly_the_patches_present(tmp_path):
    records = make_dataset(tmp_path, [0, 2, 5], record_indices={0, 2, 5})
    records.append({"index": 9, "fn": "patch_9.tif", "lon": 0, "lat": 0})  # record of a patch that is not there
    assert write_index(tmp_path) == 3
    csv = pd.read_csv(tmp_path / "index.csv")
    assert list(csv.columns) == ["fn", "lon", "lat"]
    assert list(csv["fn"]) == ["patch_0.tif", "patch_2.tif", "patch_5.tif"]
    np.testing.assert_allclose(csv["lon"], [10, 12, 15])
    geo = gpd.read_parquet(tmp_path / "index.parquet")
    assert geo.crs.to_epsg() == 4326
    np.testing.assert_allclose(geo.geometry.x, [10, 12, 15])
    np.testing.assert_allclose(geo.geometry.y, [-5, -7, -10])
    assert list(geo["item_id"]) == ["S2B_0", "S2B_2", "S2B_5"]
    assert json.loads(geo.to_json())["features"][0]["properties"]["cloud_cover"] == 2.5


def test_lost_records_are_rebuilt_from_patch_tags(tmp_path):
    make_dataset(tmp_path, [0, 1], record_indices={0})
    records = collect_records(tmp_path)
    assert [r["index"] for r in records] == [0, 1]
    rebuilt = records[1]
    assert rebuilt["item_id"] == "S2B_1" and rebuilt["lon"] == pytest.approx(11.0) and rebuilt["col_off"] == 7


def test_truncated_last_record_line_is_ignored(tmp_path):
    make_dataset(tmp_path, [0], record_indices={0})
    with (tmp_path / "sampling" / "records-1-of-1.jsonl").open("a") as file:
        file.write('{"index": 1, "fn": "pat')
    assert [r["index"] for r in collect_records(tmp_path)] == [0]


def test_empty_dataset_gets_empty_index_files(tmp_path):
    assert write_index(tmp_path) == 0
    assert (tmp_path / "index.csv").read_text().strip() == "fn,lon,lat"
    assert existing_patches(tmp_path / "images") == {}
