import numpy as np
import pytest

from satclip_cli.errors import InputError
from satclip_cli.probing.encoders import baseline_encoder, geoclip_available, resolve_encoders

POINTS = np.array([[12.5, 41.9], [-73.9, 40.7], [151.2, -33.9], [0.0, 90.0]])


def test_baselines_have_the_documented_shapes():
    assert baseline_encoder("coords").encode(POINTS).tolist() == POINTS.astype(np.float32).tolist()
    assert baseline_encoder("sh10").encode(POINTS).shape == (4, 100)
    sh40 = baseline_encoder("sh40").encode(POINTS)
    assert sh40.shape == (4, 1600) and sh40.dtype == np.float32 and np.isfinite(sh40).all()


def test_model_encoder_from_a_checkpoint(fixtures_dir):
    encoders = resolve_encoders([str(fixtures_dir / "satclip_resnet18_l10.ckpt")], ["coords"], device="cpu")
    assert [e.name for e in encoders] == ["satclip_resnet18_l10", "coords"]
    reference = np.load(fixtures_dir / "emb_resnet18_l10.npy")
    points = np.load(fixtures_dir / "points.npy")
    np.testing.assert_allclose(encoders[0].encode(points[:50]), reference[:50], rtol=1e-4, atol=1e-5)


def test_unknown_or_unavailable_encoders_are_clear_errors():
    with pytest.raises(InputError, match="unknown baseline"):
        baseline_encoder("sh7")
    with pytest.raises(InputError, match="given twice"):
        resolve_encoders([], ["coords", "coords"])
    with pytest.raises(InputError, match="no encoders"):
        resolve_encoders([], [])
    if not geoclip_available():
        with pytest.raises(InputError, match="geoclip"):
            baseline_encoder("geoclip")
