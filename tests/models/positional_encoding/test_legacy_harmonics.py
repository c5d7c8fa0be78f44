"""The legacy evaluation reproduces the official analytic features, noise included."""

import numpy as np
import pytest
import torch

from satclip_cli.models.networks import SirenNet
from satclip_cli.models.positional_encoding.legacy_harmonics import legacy_coefficient_table, legacy_spherical_harmonics
from satclip_cli.models.positional_encoding.spherical_harmonics import spherical_harmonics


@pytest.fixture(scope="module")
def official_l40(fixtures_dir):
    features = np.load(fixtures_dir / "sh_l40.npy")
    points = np.load(fixtures_dir / "points.npy")[: features.shape[0]]
    return points, features


def test_printed_coefficients_match_the_original_generator():
    # Values printed by the original generator for (l=12, m=0), (12, 1) and (39, 0).
    polynomials, prefactors = legacy_coefficient_table(40)
    assert polynomials[12 * 13 // 2][-1] == 2925.40998269608
    assert polynomials[12 * 13 // 2][0] == 0.999601659080015
    assert prefactors[12 * 13 // 2 + 1] == 0.159704727088682
    assert polynomials[12 * 13 // 2 + 1][-1] == 7922.33203125
    # This one needs the double rounding (53-bit binary, then 15 digits) to come out right.
    assert polynomials[39 * 40 // 2][23] == 52607578109899.4


def test_legacy_equals_exact_at_low_degree(official_l40):
    points, _ = official_l40
    lonlat = torch.from_numpy(points)
    np.testing.assert_allclose(
        legacy_spherical_harmonics(lonlat, 10).numpy(), spherical_harmonics(lonlat, 10).numpy(), atol=1e-7
    )


def test_legacy_reproduces_official_l40_features(official_l40):
    points, official = official_l40
    legacy = legacy_spherical_harmonics(torch.from_numpy(points), 40).numpy()
    exact = spherical_harmonics(torch.from_numpy(points), 40).numpy()
    # The official arithmetic disagrees with itself by ~2e-2 at l = 39; exact SH is 0.64 away.
    assert np.abs(legacy - official).max() < 2e-2
    assert np.abs(exact - official).max() > 0.5


def test_legacy_embeddings_stay_close_to_official(official_l40):
    """Through an L=40 SIREN like the released ones: legacy moves embeddings far less than exact."""
    points, official = official_l40
    torch.manual_seed(0)
    net = SirenNet(1600, 512, 256).double().eval()
    with torch.no_grad():
        reference = net(torch.from_numpy(official))
        legacy = net(legacy_spherical_harmonics(torch.from_numpy(points), 40))
        exact = net(spherical_harmonics(torch.from_numpy(points), 40))
    assert (legacy - reference).abs().max().item() <= 5e-3
    low = torch.from_numpy(np.abs(points[:, 1]) < 30)
    assert (exact - reference)[low].abs().max().item() <= 1e-5
    assert (exact - reference).abs().max().item() > 1e-2
