"""S2PatchDataset on 23 real S2-100K patches (centre 64 px crops): exact pixels, points, one-line errors, the split."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import torch
from affine import Affine

from satclip_cli.dataset.torch_dataset import S2PatchDataset, collate_patches, split_indices
from satclip_cli.errors import InputError


def write_index(root: Path, rows: list[tuple]) -> None:
    pd.DataFrame(rows, columns=["fn", "lon", "lat"]).to_csv(root / "index.csv", index=False)


def test_samples_are_the_stored_pixels_and_points(dataset_dir):
    index = pd.read_csv(dataset_dir / "index.csv")
    dataset = S2PatchDataset(dataset_dir)
    assert len(dataset) == len(index) == 23
    assert dataset.patch_shape == (12, 64, 64)
    for i in range(len(dataset)):
        sample = dataset[i]
        assert list(sample) == ["image", "point"]
        assert sample["image"].dtype == torch.uint16 and sample["image"].shape == (12, 64, 64)
        with rasterio.open(dataset_dir / "images" / index["fn"][i]) as src:
            expected = src.read()
        assert expected.dtype == np.uint16
        np.testing.assert_array_equal(sample["image"].numpy(), expected)
        assert sample["point"].dtype == torch.float64
        np.testing.assert_array_equal(sample["point"].numpy(), [index["lon"][i], index["lat"][i]])  # (lon, lat)


def test_points_mode_reads_no_images(dataset_dir):
    for path in (dataset_dir / "images").iterdir():
        path.unlink()
    (dataset_dir / "images").rmdir()
    dataset = S2PatchDataset(dataset_dir, mode="points")
    sample = dataset[3]
    assert list(sample) == ["point"] and sample["point"].dtype == torch.float64
    batch = collate_patches([dataset[i] for i in range(5)])
    assert list(batch) == ["point"] and batch["point"].shape == (5, 2)


@pytest.mark.parametrize("workers", [0, 2])
def test_batched_reads_decode_into_one_buffer_and_match_per_sample_reads(dataset_dir, workers):
    from torch.utils.data import DataLoader, Subset

    dataset = S2PatchDataset(dataset_dir)
    subset = Subset(dataset, [3, 17, 0, 22, 9, 4, 11])  # the training split wraps the dataset like this
    loader = DataLoader(subset, batch_size=3, num_workers=workers, collate_fn=collate_patches)
    batches = list(loader)
    assert [len(batch["image"]) for batch in batches] == [3, 3, 1]
    images = torch.cat([batch["image"] for batch in batches])
    points = torch.cat([batch["point"] for batch in batches])
    expected = collate_patches([dataset[i] for i in subset.indices])  # one sample at a time, then stacked
    assert images.dtype == torch.uint16 and torch.equal(images, expected["image"])
    assert points.dtype == torch.float64 and torch.equal(points, expected["point"])

    batch = dataset.__getitems__([5, 6])
    stacked = collate_patches(batch)
    assert stacked["image"].shape == (2, 12, 64, 64)
    assert batch[1]["image"].data_ptr() == stacked["image"][1].data_ptr()  # samples are views, nothing copied
    assert torch.equal(batch[0]["image"], dataset[5]["image"]) and torch.equal(batch[1]["point"], dataset[6]["point"])


def test_collate_stacks_uint16_without_losing_high_values():
    images = [torch.full((12, 4, 4), value, dtype=torch.uint16) for value in (0, 32768, 65535)]
    batch = collate_patches([{"image": image, "point": torch.zeros(2, dtype=torch.float64)} for image in images])
    assert batch["image"].dtype == torch.uint16 and batch["image"].shape == (3, 12, 4, 4)
    assert batch["image"].float()[:, 0, 0, 0].tolist() == [0.0, 32768.0, 65535.0]
    if torch.cuda.is_available():  # the trip to the accelerator: pinned memory, copy, float conversion there
        on_device = batch["image"].pin_memory().to("cuda", non_blocking=True).float()
        assert on_device[:, 0, 0, 0].tolist() == [0.0, 32768.0, 65535.0]


def test_missing_files_are_counted_and_the_first_named(dataset_dir):
    index = pd.read_csv(dataset_dir / "index.csv")
    for name in (index["fn"][4], index["fn"][7]):
        (dataset_dir / "images" / name).unlink()
    with pytest.raises(
        InputError, match=rf"^2 of 23 patches listed in .* are missing from .* \(first: {index['fn'][4]}\)$"
    ):
        S2PatchDataset(dataset_dir)
    assert len(S2PatchDataset(dataset_dir, mode="points")) == 23  # points need no images


def test_images_folder_missing(dataset_dir):
    (dataset_dir / "images").rename(dataset_dir / "img")
    with pytest.raises(InputError, match="images is missing"):
        S2PatchDataset(dataset_dir)


def test_patches_of_the_wrong_kind_fail_when_read(dataset_dir):
    index = pd.read_csv(dataset_dir / "index.csv")
    profile = {
        "driver": "GTiff", "width": 16, "height": 16, "dtype": "uint16",
        "crs": "EPSG:32633", "transform": Affine(10, 0, 500_000, 0, -10, 4_000_000),
    }  # fmt: skip
    wrong_size = dataset_dir / "images" / index["fn"][5]
    wrong_size.unlink()
    with rasterio.open(wrong_size, "w", count=12, **profile) as dst:
        dst.write(np.ones((12, 16, 16), np.uint16))
    wrong_bands = dataset_dir / "images" / index["fn"][6]
    wrong_bands.unlink()
    with rasterio.open(wrong_bands, "w", count=3, **profile) as dst:
        dst.write(np.ones((3, 16, 16), np.uint16))
    dataset = S2PatchDataset(dataset_dir)
    with pytest.raises(InputError, match=r"is 16 x 16 px but patch_445.tif is 64 x 64; all patches"):
        dataset[5]
    with pytest.raises(InputError, match=r"has 3 bands but patch_445.tif has 12; all patches of a dataset"):
        dataset[6]
    with pytest.raises(InputError, match=r"is 16 x 16 px but"):
        dataset.__getitems__([4, 5])  # batched reads check before decoding into the batch buffer
    wrong_type = dataset_dir / "images" / index["fn"][7]
    wrong_type.unlink()
    with rasterio.open(wrong_type, "w", count=12, **{**profile, "dtype": "float32"}) as dst:
        dst.write(np.ones((12, 16, 16), np.float32))
    with pytest.raises(InputError, match=r"bands of float32; expected uint16 .* or uint8"):
        dataset[7]
    (dataset_dir / "images" / index["fn"][8]).unlink()
    (dataset_dir / "images" / index["fn"][8]).write_bytes(b"not a tiff")
    with pytest.raises(InputError, match="cannot read patch"):
        dataset[8]


def test_split_is_disjoint_complete_seeded_and_ten_percent():
    train, val = split_indices(1000, 0.1, seed=0)
    assert len(val) == 100 and len(train) == 900
    assert np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(1000))
    again = split_indices(1000, 0.1, seed=0)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], val)
    other = split_indices(1000, 0.1, seed=1)
    assert not np.array_equal(other[1], val)
    assert val.min() < 100 and val.max() > 900  # random, not the tail
    assert train.dtype == val.dtype == np.int64


def test_split_edge_cases():
    assert [len(part) for part in split_indices(23)] == [21, 2]
    assert [len(part) for part in split_indices(5, 0.1)] == [4, 1]  # at least one validation sample
    assert [len(part) for part in split_indices(1, 0.1)] == [1, 0]  # never everything
    assert [len(part) for part in split_indices(10, 0.0)] == [10, 0]
    with pytest.raises(InputError):
        split_indices(0)
    with pytest.raises(InputError, match=r"validation fraction must be in \[0, 1\)"):
        split_indices(10, 1.0)


@pytest.mark.parametrize(
    ("n", "fraction", "n_val"),
    [(29, 0.1, 3), (7, 0.5, 4), (9, 0.5, 4), (21, 0.1, 2), (3, 0.34, 1), (10, 0.04, 1), (2, 0.9, 1)],
)
def test_split_sizes_when_fraction_times_n_is_not_whole(n, fraction, n_val):
    # round(n x fraction) (half to even: 3.5 -> 4, 4.5 -> 4), at least 1 and at most n - 1
    train, val = split_indices(n, fraction, seed=3)
    assert (len(train), len(val)) == (n - n_val, n_val)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
