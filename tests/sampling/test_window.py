import json

import numpy as np
import pytest
from pyproj import Transformer

from satclip_cli.sampling.scene_item import SceneItem
from satclip_cli.sampling.window import random_window, window_around

PC_ITEM = "pc_item_S2B_MSIL2A_20220612T182919_R027_T24XWR_20220613T123251.json"


@pytest.fixture
def scene(data_dir):
    return SceneItem.from_stac(json.loads((data_dir / "stac" / PC_ITEM).read_text()))


def test_window_is_centred_on_the_point_within_half_a_pixel(scene):
    to_utm = Transformer.from_crs("EPSG:4326", scene.crs, always_xy=True)
    lon, lat = to_utm.transform(555_003.0, 9_045_007.0, direction="INVERSE")
    window = window_around(scene, lon, lat, 256)
    assert window.inside_item
    left, bottom, right, top = window.bounds
    assert right - left == pytest.approx(2560.0)
    assert top - bottom == pytest.approx(2560.0)
    centre_x, centre_y = (left + right) / 2, (bottom + top) / 2
    assert abs(centre_x - 555_003.0) <= 5.0 and abs(centre_y - 9_045_007.0) <= 5.0
    # the window is on the item's 10 m grid
    assert (left - 499_980.0) % 10 == pytest.approx(0.0)
    assert window.col_off == round((left - 499_980.0) / 10)
    c_lon, c_lat = window.centre_lonlat()
    assert to_utm.transform(c_lon, c_lat) == pytest.approx((centre_x, centre_y), abs=1e-3)


def test_window_past_the_scene_edge_is_flagged(scene):
    to_lonlat = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(499_980.0 + 500.0, 9_045_000.0)  # 50 px from the left edge
    window = window_around(scene, lon, lat, 256)
    assert window.col_off < 0
    assert not window.inside_item


def test_random_windows_stay_inside_and_follow_the_rng(scene):
    windows = [random_window(scene, 256, np.random.default_rng(seed)) for seed in range(50)]
    assert all(window.inside_item for window in windows)
    assert len({(w.col_off, w.row_off) for w in windows}) == 50
    again = random_window(scene, 256, np.random.default_rng(7))
    assert (again.col_off, again.row_off) == (windows[7].col_off, windows[7].row_off)
