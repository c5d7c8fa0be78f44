import json

import pytest
import rustac

from satclip_cli.errors import InputError
from satclip_cli.sampling.sources.scene_list import load_scene_list

FOUR_ITEMS = "pc_items_sentinel-2-l2a_4items_2024-04-19.json"


@pytest.fixture
def pc_items(data_dir):
    return json.loads((data_dir / "stac" / FOUR_ITEMS).read_text())


def test_reads_stac_geoparquet_and_filters_dates_and_clouds(pc_items, tmp_path):
    path = tmp_path / "scenes.parquet"
    rustac.write_sync(str(path), pc_items)
    clouds = sorted(item["properties"]["eo:cloud_cover"] for item in pc_items)
    day = pc_items[0]["properties"]["datetime"][:10]
    scenes = load_scene_list(path, start=day, end=day, max_cloud=100.0)
    assert [s.id for s in scenes] == sorted(i["id"] for i in pc_items if i["properties"]["datetime"][:10] == day)
    assert all(s.crs.startswith("EPSG:") and s.shape == (10980, 10980) for s in scenes)
    fewer = load_scene_list(path, start="2000-01-01", end="2100-01-01", max_cloud=clouds[1])
    assert len(fewer) == 2


def test_reads_a_json_feature_collection(pc_items, tmp_path):
    path = tmp_path / "scenes.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": pc_items}))
    assert len(load_scene_list(path, start="2000-01-01", end="2100-01-01", max_cloud=100.0)) == 4


def test_missing_unreadable_or_empty_lists_are_clear_errors(pc_items, tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_scene_list(tmp_path / "nope.parquet", start="2021-01-01", end="2021-12-31", max_cloud=10)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot read scene list"):
        load_scene_list(bad, start="2021-01-01", end="2021-12-31", max_cloud=10)
    path = tmp_path / "scenes.parquet"
    rustac.write_sync(str(path), pc_items)
    with pytest.raises(InputError, match="no Sentinel-2 L2A item from 1990-01-01"):
        load_scene_list(path, start="1990-01-01", end="1990-12-31", max_cloud=100)
