import json

import pytest

from satclip_cli.dataset.sentinel2 import S2_BANDS, SCL_ASSET
from satclip_cli.errors import InputError
from satclip_cli.sampling.scene_item import SceneItem

PC_ITEM = "pc_item_S2B_MSIL2A_20220612T182919_R027_T24XWR_20220613T123251.json"


@pytest.fixture
def pc_item(data_dir):
    return json.loads((data_dir / "stac" / PC_ITEM).read_text())


def test_parses_a_real_planetary_computer_item(pc_item):
    scene = SceneItem.from_stac(pc_item)
    assert scene.id == pc_item["id"]
    assert scene.crs == "EPSG:32624"
    assert scene.transform == (10.0, 0.0, 499980.0, 0.0, -10.0, 9100020.0)
    assert scene.shape == (10980, 10980)
    assert set(scene.hrefs) == {*S2_BANDS, SCL_ASSET}
    assert scene.cloud_cover == pytest.approx(30.529344)
    info = scene.provenance()
    assert info["mgrs_tile"] == "24XWR"
    assert info["platform"] == "Sentinel-2B"
    assert info["mean_solar_zenith"] == pytest.approx(63.0036756665255)
    assert info["datetime"].startswith("2022-06-12T18:29:19")


def test_projection_v1_1_proj_code_is_understood(pc_item):
    del pc_item["properties"]["proj:epsg"]
    pc_item["properties"]["proj:code"] = "EPSG:32624"
    assert SceneItem.from_stac(pc_item).crs == "EPSG:32624"


def test_items_of_the_2024_list_parse(data_dir):
    items = json.loads((data_dir / "stac" / "pc_items_sentinel-2-l2a_4items_2024-04-19.json").read_text())
    scenes = [SceneItem.from_stac(item) for item in items]
    assert all(scene.crs.startswith("EPSG:326") for scene in scenes)


def test_missing_band_is_a_clear_error(pc_item):
    del pc_item["assets"]["B8A"]
    with pytest.raises(InputError, match="B8A"):
        SceneItem.from_stac(pc_item)


def test_missing_projection_is_a_clear_error(pc_item):
    del pc_item["properties"]["proj:epsg"]
    with pytest.raises(InputError, match="projection"):
        SceneItem.from_stac(pc_item)


@pytest.mark.parametrize("transform", [[10.0, 0.0, 499980.0, 0.0, -10.0], [10.0, 0.0, 499980.0, 0.0, -10.0, 1.0, 0.0]])
def test_proj_transform_of_the_wrong_length_is_a_clear_error(pc_item, transform):
    pc_item["assets"]["B02"]["proj:transform"] = transform
    with pytest.raises(InputError, match="proj:transform"):
        SceneItem.from_stac(pc_item)


def test_nine_number_proj_transform_is_understood(pc_item):
    pc_item["assets"]["B02"]["proj:transform"] = [10.0, 0.0, 499980.0, 0.0, -10.0, 9100020.0, 0.0, 0.0, 1.0]
    assert SceneItem.from_stac(pc_item).transform == (10.0, 0.0, 499980.0, 0.0, -10.0, 9100020.0)


def test_missing_proj_shape_is_a_clear_error(pc_item):
    del pc_item["assets"]["B02"]["proj:shape"]
    pc_item["properties"].pop("proj:shape", None)
    with pytest.raises(InputError, match="proj:shape"):
        SceneItem.from_stac(pc_item)


@pytest.mark.parametrize("shape", [[10980], [0, 10980], ["a", "b"]])
def test_malformed_proj_shape_is_a_clear_error(pc_item, shape):
    pc_item["assets"]["B02"]["proj:shape"] = shape
    with pytest.raises(InputError, match="proj:shape"):
        SceneItem.from_stac(pc_item)


def test_asset_without_href_is_a_clear_error(pc_item):
    del pc_item["assets"]["B02"]["href"]
    with pytest.raises(InputError, match="B02"):
        SceneItem.from_stac(pc_item)
