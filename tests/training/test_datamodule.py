"""S2DataModule: seeded split, full shuffled train batches, ordered validation, uint16 batches through workers."""

import subprocess
import sys

import numpy as np
import pytest
import rasterio
import torch

from satclip_cli.dataset.torch_dataset import split_indices
from satclip_cli.errors import InputError
from satclip_cli.training.augmentations import BatchAugmentation
from satclip_cli.training.datamodule import S2DataModule


def test_train_batches_are_full_shuffled_and_seeded(dataset_dir):
    module = S2DataModule(dataset_dir, batch_size=4, num_workers=0)
    module.setup("fit")
    train_indices, val_indices = split_indices(23, 0.1, seed=0)
    np.testing.assert_array_equal(module.train_indices, train_indices)
    np.testing.assert_array_equal(module.val_indices, val_indices)
    loader = module.train_dataloader()
    batches = list(loader)
    assert len(batches) == len(loader) == 21 // 4  # the incomplete last batch is dropped
    for batch in batches:
        assert batch["image"].dtype == torch.uint16 and batch["image"].shape == (4, 12, 64, 64)
        assert batch["point"].dtype == torch.float64 and batch["point"].shape == (4, 2)
    seen = torch.cat([batch["point"] for batch in batches])
    all_train = torch.from_numpy(module.dataset.points[train_indices])
    assert not torch.equal(seen, all_train[: len(seen)])  # shuffled
    assert all(any(torch.equal(point, other) for other in all_train) for point in seen)  # only training points

    again = S2DataModule(dataset_dir, batch_size=4, num_workers=0)
    again.setup("fit")
    assert torch.equal(torch.cat([batch["point"] for batch in again.train_dataloader()]), seen)
    loader.sampler.set_epoch(1)  # Lightning does this at every epoch start
    second_epoch = torch.cat([batch["point"] for batch in loader])
    assert not torch.equal(second_epoch, seen)  # a new order each epoch
    resumed = again.train_dataloader()
    resumed.sampler.set_epoch(1)
    assert torch.equal(torch.cat([batch["point"] for batch in resumed]), second_epoch)  # epoch e depends on (seed, e)


def test_validation_keeps_every_sample_in_order(dataset_dir):
    module = S2DataModule(dataset_dir, batch_size=4, num_workers=0, val_fraction=0.3, seed=2)
    module.setup("validate")
    assert len(module.val_indices) == 7
    batches = list(module.val_dataloader())
    assert [len(batch["point"]) for batch in batches] == [4, 3]
    points = torch.cat([batch["point"] for batch in batches])
    assert torch.equal(points, torch.from_numpy(module.dataset.points[module.val_indices]))


def test_worker_batches_reach_the_augmentation_intact(dataset_dir):
    """uint16 batches from a worker process (shared memory), then scaled on the 'device': rasterio / 10000."""
    module = S2DataModule(dataset_dir, batch_size=3, num_workers=1, val_fraction=0.2, prefetch_factor=1)
    assert module.pin_memory == torch.cuda.is_available()
    module.setup("fit")
    loader = module.val_dataloader()
    assert loader.persistent_workers and loader.prefetch_factor == 1 and loader.num_workers == 1
    batch = next(iter(loader))
    assert batch["image"].dtype == torch.uint16 and batch["point"].dtype == torch.float64
    images, points = BatchAugmentation(64, insert_b10=False)(batch["image"], batch["point"], train=False)
    first = module.dataset.path(int(module.val_indices[0]))
    with rasterio.open(first) as src:
        expected = torch.from_numpy(src.read().astype(np.float32)) / 10000
    assert torch.equal(images[0], expected)
    assert torch.equal(points[0], torch.from_numpy(module.dataset.points[module.val_indices[0]]))


def test_no_workers_means_no_persistent_workers(dataset_dir):
    module = S2DataModule(dataset_dir, batch_size=2, num_workers=0, pin_memory=False)
    loader = module.train_dataloader()  # sets up on demand
    assert loader.num_workers == 0 and not loader.persistent_workers and not loader.pin_memory
    assert loader.drop_last and loader.collate_fn.__name__ == "collate_patches"


def test_a_batch_larger_than_the_training_split_is_an_input_error(dataset_dir):
    module = S2DataModule(dataset_dir, batch_size=64, num_workers=0)
    with pytest.raises(InputError, match=r"has 21 training patches \(of 23\), fewer than one batch of 64"):
        module.setup("fit")
    with pytest.raises(InputError, match="batch size must be at least 1"):
        S2DataModule(dataset_dir, batch_size=0, num_workers=0)
    with pytest.raises(InputError, match=r"index.csv is missing"):
        S2DataModule(dataset_dir / "images", batch_size=2, num_workers=0).setup("fit")


def test_dataset_and_augmentation_modules_do_not_import_lightning():
    code = (
        "import sys; import satclip_cli.training, satclip_cli.dataset.torch_dataset, "
        "satclip_cli.training.augmentations; print('lightning' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
