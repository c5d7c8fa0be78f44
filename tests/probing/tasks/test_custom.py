"""Custom tasks (satclip_cli.probing.tasks.custom) from any vector file or table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import InputError
from satclip_cli.probing.tasks import load_custom_task
from tests.probing.tasks.helpers import write_csv


def test_custom_csv_regression_and_classification(tmp_path: Path) -> None:
    rows = ["Longitude,Latitude,temp,zone,code"]
    rng = np.random.default_rng(0)
    for i in range(60):
        temp = "" if i in (3, 7) else f"{rng.normal(15, 5):.2f}"
        zone = ["north", "south", "east"][i % 3] if i != 59 else "island"
        rows.append(f"{-10 + i * 0.3:.2f},{40 + (i % 7):.1f},{temp},{zone},{i % 4}")
    path = write_csv(tmp_path / "obs.csv", rows)

    temp = load_custom_task(path, "temp")
    assert temp.type == "regression" and temp.name == "obs:temp"
    assert temp.n == 58 and temp.dropped_nan == 2 and temp.target.dtype == np.float64
    assert temp.lonlat[0].tolist() == [-10.0, 40.0]

    zone = load_custom_task(path, "ZONE")  # case-insensitive column match
    assert zone.type == "classification" and zone.classes == ["east", "north", "south"]
    assert zone.dropped_classes == {"island": 1} and zone.n == 59
    assert "'island' (1)" in zone.warnings()[0]

    code = load_custom_task(path, "code")  # few integer values: classes
    assert code.type == "classification" and code.classes == ["0", "1", "2", "3"]
    assert load_custom_task(path, "code", type="regression").type == "regression"


def test_custom_task_errors(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["lon,lat,value,label", "1,2,3.5,a", "2,3,x,b", "3,4,4.5,a"])
    no_column = r"no column 'income' to use as target \(columns: lon, lat, value, label\)"
    with pytest.raises(InputError, match=no_column) as info:
        load_custom_task(path, "income")
    assert "no column 'income' to use as --target (columns" in info.value.message_for(flag_name)
    with pytest.raises(InputError, match=r"row 1 has a non-numeric value 'x' in the regression target 'value'") as info:
        load_custom_task(path, "value", type="regression")
    assert str(info.value).endswith("; pass type classification to treat it as classes")
    assert info.value.message_for(flag_name).endswith("; pass --type classification to treat it as classes")
    with pytest.raises(InputError, match="unknown task type"):
        load_custom_task(path, "value", type="ordinal")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not exist"):
        load_custom_task(tmp_path / "missing.csv", "value")
    nolonlat = write_csv(tmp_path / "n.csv", ["a,b,value", "1,2,3"])
    with pytest.raises(InputError, match="no geometry and no longitude/latitude columns"):
        load_custom_task(nolonlat, "value")


def test_custom_classification_needs_two_classes(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["lon,lat,label", "1,2,a", "2,3,b", "3,4,a"])
    with pytest.raises(InputError, match="fewer than 2 classes"):
        load_custom_task(path, "label")


def test_custom_vector_file_with_polygons(tmp_path: Path) -> None:
    def square(x: float, y: float) -> list:
        return [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]

    features = [
        {
            "type": "Feature",
            "properties": {"kind": "forest" if i % 2 else "field", "yield": 1.5 + i * 0.37 if i != 4 else None},
            "geometry": {"type": "Polygon", "coordinates": square(10 + 2 * i, 50)},
        }
        for i in range(30)
    ]
    path = tmp_path / "parcels.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    kind = load_custom_task(path, "kind")
    assert kind.type == "classification" and kind.classes == ["field", "forest"] and kind.n == 30
    # one representative point inside each polygon
    x0 = 10 + 2 * np.arange(30)
    assert ((kind.lonlat[:, 0] > x0) & (kind.lonlat[:, 0] < x0 + 1)).all()
    assert ((kind.lonlat[:, 1] > 50) & (kind.lonlat[:, 1] < 51)).all()
    crop = load_custom_task(path, "yield")
    assert crop.type == "regression" and crop.n == 29 and crop.dropped_nan == 1
