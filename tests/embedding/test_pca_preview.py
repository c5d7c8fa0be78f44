"""PCA preview PNG of an embedding raster: size, channels, content, transparency, determinism, errors."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import rasterio
from affine import Affine

from satclip_cli.embedding.pca_preview import preview_shape, write_pca_preview
from satclip_cli.errors import InputError, OutputExistsError


def write_raster(path: Path, data: np.ndarray) -> None:
    """Write ``[bands, h, w]`` float32 as a tiled GTiff with NaN nodata (and overviews for big ones)."""
    bands, h, w = data.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=bands,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(360 / w, 0.0, -180.0, 0.0, -180 / h, 90.0),
        nodata=float("nan"),
        tiled=True,
        blockxsize=64,
        blockysize=64,
    ) as dst:
        dst.write(data.astype(np.float32))
        if max(h, w) > 256:
            dst.build_overviews([2, 4], rasterio.enums.Resampling.average)


def latent_raster(h: int, w: int, bands: int = 12, seed: int = 1) -> np.ndarray:
    """Bands that are random linear mixtures of three spatial fields: rank 3 plus a constant."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    fields = np.stack([np.sin(6 * x), np.cos(4 * y), x * y])
    mix = np.random.default_rng(seed).normal(size=(bands, 3))
    return np.einsum("bk,khw->bhw", mix, fields) + 5.0


def test_preview_size_channels_and_content(tmp_path: Path) -> None:
    data = latent_raster(300, 600)
    data[:, 100:150, 200:260] = np.nan  # a nodata hole
    write_raster(tmp_path / "emb.tif", data)
    result = write_pca_preview(tmp_path / "emb.tif", tmp_path / "emb.png", max_size=200)
    image = matplotlib.image.imread(tmp_path / "emb.png")
    assert image.shape == (100, 200, 4)  # aspect 2:1 kept, longer side = max_size
    assert (result.width, result.height) == (200, 100)
    rgb, alpha = image[..., :3], image[..., 3]
    assert alpha[40, 80] == 0 and (rgb[40, 80] == 0).all()  # inside the hole (rows 33-50, cols 67-87)
    assert alpha[5, 5] == 1
    assert result.valid_pixels == int((alpha > 0).sum()) < 200 * 100
    for c in range(3):  # every channel varies, and the stretch uses the full range
        channel = rgb[..., c][alpha > 0]
        assert channel.std() > 0.1
        assert channel.min() == 0 and channel.max() == 1
    ratio = result.explained_variance_ratio
    assert len(ratio) == 3 and ratio[0] >= ratio[1] >= ratio[2] > 0
    assert sum(ratio) == pytest.approx(1.0, abs=1e-6)  # the bands are rank 3: three components explain all


def test_preview_is_deterministic_and_not_enlarged(tmp_path: Path) -> None:
    write_raster(tmp_path / "small.tif", latent_raster(40, 30, bands=5))
    a = write_pca_preview(tmp_path / "small.tif", tmp_path / "a.png", sample=500, seed=3)
    b = write_pca_preview(tmp_path / "small.tif", tmp_path / "b.png", sample=500, seed=3)
    assert (a.width, a.height) == (30, 40)
    assert a.fit_pixels < 40 * 30  # subsampled
    assert b.explained_variance_ratio == a.explained_variance_ratio
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_few_bands_still_give_an_image(tmp_path: Path) -> None:
    write_raster(tmp_path / "one.tif", latent_raster(20, 20, bands=1))
    write_pca_preview(tmp_path / "one.tif", tmp_path / "one.png")
    image = matplotlib.image.imread(tmp_path / "one.png")
    assert image.shape == (20, 20, 4)
    np.testing.assert_array_equal(image[..., 0], image[..., 1])  # grey
    assert image[..., 0].std() > 0.1


def test_preview_shape() -> None:
    assert preview_shape(3600, 1800, 1024) == (512, 1024)
    assert preview_shape(100, 50, 1024) == (50, 100)
    assert preview_shape(5000, 3, 1000) == (1, 1000)


def test_preview_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_pca_preview(tmp_path / "missing.tif", tmp_path / "p.png")
    write_raster(tmp_path / "empty.tif", np.full((4, 10, 10), np.nan))
    with pytest.raises(InputError, match="no valid"):
        write_pca_preview(tmp_path / "empty.tif", tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()
    write_raster(tmp_path / "ok.tif", latent_raster(10, 10))
    (tmp_path / "p.png").write_bytes(b"old")
    with pytest.raises(OutputExistsError):
        write_pca_preview(tmp_path / "ok.tif", tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes() == b"old"
    write_pca_preview(tmp_path / "ok.tif", tmp_path / "p.png", overwrite=True)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(os.listdir(tmp_path)) == ["empty.tif", "ok.tif", "p.png"]


def test_rank_two_bands_give_a_black_third_channel_not_noise(tmp_path: Path) -> None:
    y, x = np.mgrid[0:50, 0:100] / 100.0
    mix = np.random.default_rng(2).normal(size=(8, 2))
    data = np.einsum("bk,khw->bhw", mix, np.stack([x, y])).astype(np.float32)  # float32 rounding noise only
    write_raster(tmp_path / "r2.tif", data)
    result = write_pca_preview(tmp_path / "r2.tif", tmp_path / "r2.png")
    image = matplotlib.image.imread(tmp_path / "r2.png")
    assert (image[..., 2] == 0).all()
    assert image[..., 0].std() > 0.1 and image[..., 1].std() > 0.1
    assert result.explained_variance_ratio[2] < 1e-6
