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


@pytest.mark.filterwarnings("ignore::FutureWarning")  # geoclip's own code uses the deprecated torch.jit.script
def test_geoclip_runs_from_the_weights_in_its_wheel_on_cpu_with_lat_lon_order(monkeypatch):
    """The geoclip extra is part of the test install: our loader of its wheel's weights gives what the package's
    own ``LocationEncoder`` gives for (lat, lon), offline, on CPU."""
    import importlib.util
    from pathlib import Path

    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing may come from the Hub
    assert geoclip_available()
    weights = Path(importlib.util.find_spec("geoclip").origin).parent / "model" / "weights"
    assert (weights / "location_encoder_weights.pth").stat().st_size > 10_000_000
    encoder = baseline_encoder("geoclip")
    features = encoder.encode(POINTS)
    assert features.shape == (4, 512) and features.dtype == np.float32 and np.isfinite(features).all()

    from geoclip import LocationEncoder

    reference = LocationEncoder().eval()
    assert next(reference.parameters()).device.type == "cpu"
    with torch.no_grad():
        as_lat_lon = reference(torch.tensor(POINTS[:, ::-1].copy(), dtype=torch.float32)).numpy()
        as_lon_lat = reference(torch.tensor(POINTS, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(features, as_lat_lon, rtol=1e-5, atol=1e-5)
    assert not np.allclose(features, as_lon_lat, atol=1e-3)  # the swap matters: GeoCLIP takes (lat, lon)
    # nearby places embed closer than far ones (Rome vs New York vs Sydney)
    near = encoder.encode(np.array([[12.5, 41.9], [12.6, 42.0]]))
    assert np.linalg.norm(near[0] - near[1]) < np.linalg.norm(features[0] - features[2])


def test_geoclip_baseline_does_not_import_the_geoclip_package(tmp_path):
    """Our loader reads the wheel's weights without running geoclip's code (which imports transformers)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from satclip_cli.probing.encoders import baseline_encoder\n"
        "print(baseline_encoder('geoclip').encode(np.zeros((2, 2))).shape)\n"
        "print('geoclip' in sys.modules, 'transformers' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["(2, 512)", "False False"], result.stdout + result.stderr


def test_weights_that_are_not_geoclips_are_a_clear_error(tmp_path):
    import torch

    from satclip_cli.probing.geoclip_encoder import GeoclipLocationEncoder

    torch.save({"something": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(InputError, match="is not GeoCLIP's location encoder"):
        GeoclipLocationEncoder(tmp_path / "other.pth")
