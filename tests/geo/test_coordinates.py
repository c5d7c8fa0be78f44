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
