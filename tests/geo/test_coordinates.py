"""Coordinate validation and longitude wrapping."""

import numpy as np
import pytest

from satclip_cli.errors import InputError
from satclip_cli.geo.coordinates import validate_lonlat, wrap_longitude


def test_wrap_longitude_keeps_valid_and_wraps_the_rest():
    np.testing.assert_allclose(wrap_longitude(np.array([-180, 180, 0, 190, -190, 540, 359.5])),
                               [-180, 180, 0, -170, 170, -180, -0.5])  # fmt: skip


def test_validate_lonlat_reports_the_first_bad_row():
    good = validate_lonlat(np.array([[10.0, 20.0], [370.0, -90.0]]))
    np.testing.assert_allclose(good, [[10.0, 20.0], [10.0, -90.0]])
    with pytest.raises(InputError, match="row 1"):
        validate_lonlat(np.array([[10.0, 20.0], [np.nan, 0.0]]))
    with pytest.raises(InputError, match="latitude 91"):
        validate_lonlat(np.array([[10.0, 91.0]]))
    with pytest.raises(InputError, match="shape"):
        validate_lonlat(np.zeros((3, 3)))


# ------------------------------------------------------------------------------------------ edges (mutation survivors)


def test_wrap_longitude_keeps_both_edges_and_wraps_just_beyond_them() -> None:
    wrapped = wrap_longitude(np.array([-180.0, 180.0, -180.5, 180.5, 540.0, -10.0]))
    np.testing.assert_array_equal(wrapped, [-180.0, 180.0, 179.5, -179.5, -180.0, -10.0])
    ints = wrap_longitude([190, -10])
    assert ints.dtype == np.float64 and ints.tolist() == [-170.0, -10.0]


def test_validate_lonlat_edges_rows_and_messages() -> None:
    out = validate_lonlat([[1, 90], [2, -90]])
    assert out.dtype == np.float64 and out.tolist() == [[1.0, 90.0], [2.0, -90.0]]  # the poles are in range
    with pytest.raises(InputError) as info:
        validate_lonlat([[0.0, 0.0], [0.0, -90.5]])
    assert str(info.value) == (
        "input: row 1 has latitude -90.5 outside [-90, 90] "
        "(are longitude and latitude swapped, or is the CRS projected?)"
    )
    # four points per input row: point 5 belongs to row first_row + 1
    points = [[0.0, 0.0]] * 5 + [[0.0, 91.0]]
    with pytest.raises(InputError, match=r"^f\.csv: row 11 has latitude 91 outside"):
        validate_lonlat(points, what="f.csv", first_row=10, points_per_row=4)
    points = [[0.0, 0.0]] * 4 + [[np.nan, 0.0]]
    with pytest.raises(InputError, match=r"^f\.csv: row 8 could not be reprojected$"):
        validate_lonlat(
            points, what="f.csv", first_row=7, points_per_row=3, non_finite_reason="could not be reprojected"
        )
