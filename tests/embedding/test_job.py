"""``run(config)``: one loaded model reused for vector and raster runs, summaries, argument checks."""

import numpy as np
import pandas as pd
import pytest

from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.embedding.job import EmbeddingModel, run
from satclip_cli.errors import InputError


@pytest.fixture(scope="module")
def checkpoint(fixtures_dir):
    return str(fixtures_dir / "satclip_resnet18_l10.ckpt")


@pytest.fixture(scope="module")
def model(checkpoint, tmp_path_factory):
    return EmbeddingModel.load(EmbedConfig(model=checkpoint, device="cpu", output=tmp_path_factory.mktemp("o") / "x"))


def test_model_describes_itself(model):
    assert model.embed_dim == 256
    assert "L=10" in model.description and "siren" in model.description and "cpu" in model.description
    lonlat = np.array([[0.0, 0.0], [100.0, 45.0]])
    assert model.embed_fn(lonlat).shape == (2, 256)


def test_vector_job_summary(checkpoint, model, tmp_path):
    csv = tmp_path / "p.csv"
    pd.DataFrame({"lon": [1.0, 2.0], "lat": [3.0, 4.0]}).to_csv(csv, index=False)
    config = EmbedConfig(model=checkpoint, device="cpu", input=csv, output=tmp_path / "p.npy")
    summary = run(config, progress=False, model=model)
    (line,) = summary.lines()
    assert line.startswith("Embedded 2 features") and np.load(tmp_path / "p.npy").shape == (2, 256)
    assert summary.vector is not None and summary.vector.rows == 2 and summary.raster is None
    assert line.endswith(f"-> {tmp_path / 'p.npy'}") and model.description in line


def test_raster_job_argument_checks(checkpoint, model, tmp_path):
    base = {"model": checkpoint, "device": "cpu", "output": tmp_path / "a.tif"}
    with pytest.raises(InputError, match="like"):
        run(EmbedConfig(**base, like=tmp_path / "x.tif", bbox=(0, 0, 1, 1), resolution=0.5), model=model)
    with pytest.raises(InputError, match="resolution"):
        run(EmbedConfig(**base, bbox=(0, 0, 1, 1)), model=model)
    summary = run(EmbedConfig(**base, bbox=(0, 0, 2, 1), resolution=0.5), progress=False, model=model)
    assert "8 pixels" in summary.lines()[0]
    assert summary.raster is not None and summary.raster.pixels == 8 and summary.vector is None


def test_run_loads_the_model_itself(checkpoint, tmp_path):
    csv = tmp_path / "p.csv"
    pd.DataFrame({"lon": [1.0], "lat": [3.0]}).to_csv(csv, index=False)
    summary = run(EmbedConfig(model=checkpoint, device="cpu", input=csv, output=tmp_path / "p.csv.npy"), progress=False)
    assert summary.vector is not None and summary.vector.rows == 1 and "L=10" in summary.model


def test_a_model_loaded_for_other_settings_is_refused(checkpoint, model, tmp_path):
    csv = tmp_path / "p.csv"
    pd.DataFrame({"lon": [1.0], "lat": [3.0]}).to_csv(csv, index=False)
    config = EmbedConfig(model=checkpoint, device="cpu", dtype="float64", input=csv, output=tmp_path / "p.npy")
    assert not model.fits(config)
    with pytest.raises(ValueError, match="loaded for"):
        run(config, progress=False, model=model)
    assert not (tmp_path / "p.npy").exists()
