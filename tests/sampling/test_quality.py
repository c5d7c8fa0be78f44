import numpy as np
import pytest

from satclip_cli.sampling.quality import QualityLimits, cloud_fraction, judge_patch, nodata_fraction


def patch(nodata_columns: int = 0) -> np.ndarray:
    bands = np.full((12, 10, 10), 500, dtype=np.uint16)
    bands[:, :, :nodata_columns] = 0
    return bands


def test_nodata_means_zero_in_every_band():
    bands = patch(3)
    assert nodata_fraction(bands) == pytest.approx(0.3)
    bands[5, :, :] = 0  # one band zero everywhere is not nodata
    assert nodata_fraction(bands) == pytest.approx(0.3)


def test_cloud_fraction_counts_cloud_cirrus_and_shadow_classes():
    scl = np.full((10, 10), 4, dtype=np.uint8)
    scl[0, :] = 3  # shadow
    scl[1, :] = 8
    scl[2, :] = 9
    scl[3, :] = 10  # cirrus
    scl[4, :] = 11  # snow is not cloud
    assert cloud_fraction(scl) == pytest.approx(0.4)


def test_judge_rejects_nodata_first_then_cloud():
    scl = np.full((10, 10), 9, dtype=np.uint8)
    limits = QualityLimits(max_nodata_fraction=0.1, max_cloud_fraction=0.5)
    assert judge_patch(patch(2), scl, limits).rejected_for == "nodata"
    assert judge_patch(patch(1), scl, limits).rejected_for == "cloud"
    assert judge_patch(patch(1), None, limits).rejected_for is None
    verdict = judge_patch(patch(0), np.full((10, 10), 4, dtype=np.uint8), limits)
    assert verdict.rejected_for is None and verdict.cloud_fraction == 0.0 and verdict.nodata_fraction == 0.0
