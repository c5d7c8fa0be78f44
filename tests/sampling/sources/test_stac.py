"""Unit tests of the search helpers; searches against a real STAC server are in tests/sampling/test_job.py."""

import numpy as np
import pytest
from pystac_client.exceptions import APIError

from satclip_cli.sampling.scene_item import SceneItem
from satclip_cli.sampling.sources.stac import SearchOptions, is_transient_stac_error, order_items


def scene(item_id: str, cloud: float, when: str) -> SceneItem:
    return SceneItem(
        id=item_id, crs="EPSG:32633", transform=(10, 0, 0, 0, -10, 0), shape=(10, 10), hrefs={},
        properties={"eo:cloud_cover": cloud, "datetime": when},
    )  # fmt: skip


ITEMS = [
    scene("c", 5.0, "2022-01-01T00:00:00Z"),
    scene("a", 1.0, "2021-06-01T00:00:00Z"),
    scene("b", 1.0, "2022-06-01T00:00:00Z"),
    scene("d", 0.5, "2021-01-01T00:00:00Z"),
]


def test_least_cloudy_then_newest_whatever_the_server_order():
    expected = ["d", "b", "a", "c"]
    assert [item.id for item in order_items(ITEMS, "least-cloudy")] == expected
    assert [item.id for item in order_items(ITEMS[::-1], "least-cloudy")] == expected


def test_random_order_depends_only_on_the_rng():
    first = [item.id for item in order_items(ITEMS, "random", np.random.default_rng(1))]
    again = [item.id for item in order_items(ITEMS[::-1], "random", np.random.default_rng(1))]
    assert first == again
    orders = {tuple(i.id for i in order_items(ITEMS, "random", np.random.default_rng(s))) for s in range(30)}
    assert len(orders) > 5


def test_unknown_order_is_rejected():
    with pytest.raises(ValueError, match="order"):
        order_items(ITEMS, "sunniest")


def api_error(status: int | None) -> APIError:
    error = APIError("boom")
    if status is not None:
        error.status_code = status
    return error


@pytest.mark.parametrize(("status", "transient"), [(None, True), (503, True), (429, True), (404, False), (400, False)])
def test_transient_stac_errors(status, transient):
    assert is_transient_stac_error(api_error(status)) is transient


def test_datetime_range_covers_whole_days():
    assert SearchOptions(start="2021-01-01", end="2023-05-17").datetime_range == (
        "2021-01-01T00:00:00Z/2023-05-17T23:59:59Z"
    )
