"""The index files: written for exactly the patches present, read back with every row checked."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from satclip_cli.dataset.index import read_index, write_index
from satclip_cli.dataset.layout import existing_patches
from satclip_cli.errors import InputError


def write_csv(root: Path, rows: list[tuple]) -> None:
    pd.DataFrame(rows, columns=["fn", "lon", "lat"]).to_csv(root / "index.csv", index=False)


def test_index_lists_exactly_the_patches_present(make_dataset, tmp_path):
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


def test_empty_dataset_gets_empty_index_files(tmp_path):
    assert write_index(tmp_path) == 0
    assert (tmp_path / "index.csv").read_text().strip() == "fn,lon,lat"
    assert existing_patches(tmp_path / "images") == {}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: root.rename(root.with_name("gone")), "does not exist"),
        (lambda root: (root / "index.csv").unlink(), "index.csv is missing"),
        (lambda root: write_csv(root, []), "lists no patches"),
        (lambda root: (root / "index.csv").write_text("file,lon,lat\na.tif,1,2\n"), "lacks column(s) fn; it needs"),
        (lambda root: (root / "index.csv").write_text("fn,x,y\na.tif,1,2\n"), "lacks column(s) lon, lat"),
        (lambda root: write_csv(root, [("patch_445.tif", 1.0, 2.0), (None, 1.0, 2.0)]), "1 rows have no fn"),
        (
            lambda root: write_csv(root, [("patch_445.tif", 1.0, 2.0), ("patch_8845.tif", float("nan"), 2.0)]),
            "1 rows have a missing or non-numeric lon/lat (first: line 3, patch_8845.tif",
        ),
        (
            lambda root: write_csv(root, [("patch_445.tif", "east", 2.0)]),
            "non-numeric lon/lat (first: line 2, patch_445.tif: lon='east'",
        ),
        (
            lambda root: write_csv(root, [("patch_445.tif", 10.0, 95.0), ("patch_8845.tif", 10.0, -91.0)]),
            "2 rows have coordinates outside lon [-180, 180], lat [-90, 90] (first: line 2, patch_445.tif",
        ),
        (lambda root: write_csv(root, [("patch_445.tif", 45.0, 120.0)]), "are lon and lat swapped?"),
    ],
)
def test_unusable_folders_are_one_line_input_errors(dataset_dir, setup, message):
    setup(dataset_dir)
    with pytest.raises(InputError) as error:
        read_index(dataset_dir)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_coordinate_is_shown_as_nan_not_as_a_numpy_repr(tmp_path) -> None:
    (tmp_path / "index.csv").write_text("fn,lon,lat\na.tif,1.5,2\nb.tif,,62.175018\n")
    with pytest.raises(InputError, match=r"line 3, b\.tif: lon=nan, lat=62\.175") as info:
        read_index(tmp_path)
    assert "np." not in str(info.value)
