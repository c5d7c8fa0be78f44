"""Labelled polygons (satclip_cli.geo.polygons): reading them with an attribute, and point-in-polygon lookups."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from satclip_cli.errors import InputError
from satclip_cli.geo.polygons import polygon_index, read_polygons, valid_polygons


def test_rome_is_italy_whatever_the_seed(data_dir: Path) -> None:
    path = data_dir / "natural_earth" / "ne_110m_admin_0_countries.geojson"
    geoms, codes = read_polygons(path, "ADM0_A3")
    index = polygon_index(np.array([[12.4964, 41.9028], [2.35, 48.86], [-160.0, 0.0]]), geoms)
    assert codes[index[0]] == "ITA" and codes[index[1]] == "FRA" and index[2] == -1


def test_first_polygon_wins_boundaries_count_and_missing_labels_are_empty(tmp_path: Path) -> None:
    def square(x: float, label: str | None) -> dict:
        ring = [[x, 0], [x + 2, 0], [x + 2, 2], [x, 2], [x, 0]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
        return {"type": "Feature", "properties": {"name": label}, "geometry": geometry}

    path = tmp_path / "squares.geojson"
    features = [square(0, "a"), square(1, "b"), square(10, None)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    geoms, labels = read_polygons(path, "name")
    assert labels.tolist() == ["a", "b", ""]
    index = polygon_index(np.array([[1.5, 1.0], [2.0, 1.0], [3.0, 2.0], [11.0, 1.0], [5.0, 5.0]]), geoms)
    assert index.tolist() == [0, 0, 1, 2, -1]  # overlap: the first; boundary points are inside


def test_invalid_and_missing_geometries_are_repaired() -> None:
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])  # self-intersecting
    geoms = valid_polygons(np.array([bowtie, None], dtype=object))
    assert shapely.is_valid(geoms).all() and geoms[1].is_empty
    assert polygon_index(np.array([[0.5, 1.0], [1.5, 1.0]]), geoms).tolist() == [0, 0]


def test_unreadable_file_or_missing_column(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read"):
        read_polygons(garbage, "name")
    path = tmp_path / "one.geojson"
    feature = {"type": "Feature", "properties": {"a": 1}, "geometry": {"type": "Point", "coordinates": [0, 0]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    with pytest.raises(InputError, match="no column 'name'"):
        read_polygons(path, "name")
