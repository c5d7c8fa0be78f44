"""``EmbeddingRunner``: one loaded model, vector and raster jobs, argument checks."""

import numpy as np
import pandas as pd
import pytest

from satclip_cli.embedding.job import EmbeddingRunner
from satclip_cli.errors import InputError


@pytest.fixture(scope="module")
def runner(fixtures_dir):
    return EmbeddingRunner.create(str(fixtures_dir / "satclip_vit4w128_l10_closed.ckpt"), device="cpu")


def test_runner_describes_its_model(runner):
    assert runner.embed_dim == 256
    assert "L=10" in runner.description and "siren" in runner.description and "cpu" in runner.description
    lonlat = np.array([[0.0, 0.0], [100.0, 45.0]])
    assert runner.embed_fn(lonlat).shape == (2, 256)


def test_vector_job_summary(runner, tmp_path):
    csv = tmp_path / "p.csv"
    pd.DataFrame({"lon": [1.0, 2.0], "lat": [3.0, 4.0]}).to_csv(csv, index=False)
    summary = runner.embed_vector(csv, tmp_path / "p.npy", progress=False)
    assert summary.startswith("Embedded 2 features") and np.load(tmp_path / "p.npy").shape == (2, 256)


def test_raster_job_argument_checks(runner, tmp_path):
    with pytest.raises(InputError, match="--like"):
        runner.embed_raster(tmp_path / "a.tif", like=tmp_path / "x.tif", bbox=(0, 0, 1, 1), resolution=0.5)
    with pytest.raises(InputError, match="--resolution"):
        runner.embed_raster(tmp_path / "a.tif", bbox=(0, 0, 1, 1))
    summary = runner.embed_raster(tmp_path / "a.tif", bbox=(0, 0, 2, 1), resolution=0.5, progress=False)
    assert "8 pixels" in summary
