"""The frozen-backbone feature cache: dihedral views, cached features of the real tiles, the file, the training path."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from satclip_cli.dataset.torch_dataset import S2PatchDataset, collate_patches
from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.freezing import apply_head, backbone_features
from satclip_cli.training.augmentations import EARTH_RADIUS_KM, AugmentationParams, BatchAugmentation
from satclip_cli.training.config import TrainConfig
from satclip_cli.training.feature_cache import (
    DIHEDRAL_VIEWS,
    CachedFeatureDataset,
    FeatureCache,
    cache_key,
    compute_feature_cache,
    dihedral_view,
)
from satclip_cli.training.lightning_module import SatCLIPLightningModule

VISION = "moco-resnet18"
CROP = 64
"""Crop fed to the backbone: small, so 8 views of the 23 tiles take ~1 s of CPU."""
FEATURE_TOLERANCE = {"rtol": 4e-3, "atol": 2e-4}
"""float16 storage (relative step 2^-11) plus batch-size-dependent float32 rounding of the convolutions."""
TINY_MODULE = {
    "vision": VISION,
    "vision_weights": "none",
    "image_size": CROP,
    "legendre_polys": 4,
    "capacity": 32,
    "embed_dim": 16,
    "batch_size": 8,
    "num_workers": 0,
    "accelerator": "cpu",
    "precision": "32-true",
    "jitter_km": 1.0,
}

# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread: on 2 shared cores, 2 spinning OpenMP threads can make the convolutions ~10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_dataset_folder(root: Path, tiles: Path, points: pd.DataFrame | None = None) -> Path:
    """``root`` in the S2-100K layout: images/ links to the test tiles, index.csv fn,lon,lat (``points`` if given)."""
    index = pd.read_csv(tiles / "index.csv").rename(columns={"file": "fn"})[["fn", "lon", "lat"]]
    if points is not None:
        index = index.iloc[: len(points)].assign(lon=points["lon"].to_numpy(), lat=points["lat"].to_numpy())
    (root / "images").mkdir(parents=True)
    for name in index["fn"]:
        (root / "images" / name).symlink_to(tiles / name)
    index.to_csv(root / "index.csv", index=False)
    return root


@pytest.fixture(scope="module")
def tiles_dir(data_dir: Path) -> Path:
    """``tests/data/s2_tiles``: 23 real S2-100K patches, 12 x 64 x 64 uint16, and their index.csv."""
    return data_dir / "s2_tiles"


@pytest.fixture(scope="module")
def dataset(tiles_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> S2PatchDataset:
    """The 23 real patches as a training dataset."""
    return S2PatchDataset(make_dataset_folder(tmp_path_factory.mktemp("cache") / "ds", tiles_dir))


@pytest.fixture(scope="module")
def visual() -> nn.Module:
    """A frozen MoCo ResNet-18 with (seeded) random weights (no download), features F = 512."""
    torch.manual_seed(0)
    return build_vision_encoder(VISION, weights="none", embed_dim=16, image_resolution=CROP)


@pytest.fixture(scope="module")
def augment() -> BatchAugmentation:
    return BatchAugmentation(crop_size=CROP, insert_b10=True)


def prepare_with(
    augment: BatchAugmentation,
) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The validation transform as ``compute_feature_cache`` takes it: scale, B10, centre crop."""
    return lambda images, points: augment(images, points, train=False)


@pytest.fixture(scope="module")
def cache(dataset: S2PatchDataset, visual: nn.Module, augment: BatchAugmentation) -> tuple[FeatureCache, list[int]]:
    """8 views of the 23 tiles in batches of 10 (10 + 10 + 3), the backbone left in training mode; progress calls."""
    visual.train()  # a Lightning run leaves the model in training mode: backbone_features must not use batch stats
    progress: list[int] = []
    result = compute_feature_cache(
        dataset,
        prepare_with(augment),
        lambda images: backbone_features(visual, VISION, images),
        views=8,
        key="the-key",
        device=torch.device("cpu"),
        batch_size=10,
        on_progress=progress.append,
    )
    return result, progress


@pytest.fixture(scope="module")
def reference_input(dataset: S2PatchDataset, augment: BatchAugmentation) -> torch.Tensor:
    """All 23 tiles through the validation transform in one batch: [23, 13, CROP, CROP] float32."""
    images = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    return augment(images, torch.from_numpy(dataset.points), train=False)[0]


@pytest.fixture(scope="module")
def module() -> SatCLIPLightningModule:
    """The LightningModule ``satclip train`` builds for a tiny frozen-ResNet-18 config (jitter 1 km)."""
    from satclip_cli.training.build import build_module

    torch.manual_seed(1)
    return build_module(TrainConfig().override(**TINY_MODULE))


# ------------------------------------------------------------------------------------------------ dihedral views


def distinct_pixels(size: int = 5, channels: int = 3, batch: int = 2) -> torch.Tensor:
    """[batch, channels, size, size] with every value different (no symmetry maps it to itself)."""
    return torch.arange(batch * channels * size * size, dtype=torch.float32).reshape(batch, channels, size, size)


def view_index(views: list[torch.Tensor], image: torch.Tensor) -> int:
    """Which of ``views`` equals ``image`` (exactly one must)."""
    matches = [v for v, candidate in enumerate(views) if torch.equal(candidate, image)]
    assert len(matches) == 1, matches
    return matches[0]


def test_the_8_views_are_distinct_pixel_permutations_identity_first():
    image = distinct_pixels()
    views = [dihedral_view(image, v) for v in range(len(DIHEDRAL_VIEWS))]
    assert len(DIHEDRAL_VIEWS) == 8 and DIHEDRAL_VIEWS[0] == "identity"
    assert torch.equal(views[0], image)
    for a, b in itertools.combinations(range(8), 2):
        assert not torch.equal(views[a], views[b]), (DIHEDRAL_VIEWS[a], DIHEDRAL_VIEWS[b])
    for view in views:
        assert view.shape == image.shape and view.dtype == image.dtype
        for b, c in itertools.product(range(image.shape[0]), range(image.shape[1])):  # pixels move within a plane
            assert torch.equal(view[b, c].flatten().sort().values, image[b, c].flatten())
        # the same spatial permutation for every band and sample
        assert torch.equal(view - view[:1, :1], image - image[:1, :1])


def test_view_names_say_what_they_do():
    image = distinct_pixels(size=4)
    n = image.shape[-1]
    by_name = {name: dihedral_view(image, v) for v, name in enumerate(DIHEDRAL_VIEWS)}
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    expected = {
        "identity": image,
        "flip-x": image[..., i, n - 1 - j],  # columns mirrored (a horizontal flip)
        "flip-y": image[..., n - 1 - i, j],  # rows mirrored
        "rot180": image[..., n - 1 - i, n - 1 - j],
        "transpose": image[..., j, i],
        "rot90": torch.rot90(image, 1, dims=(-2, -1)),
        "rot270": torch.rot90(image, -1, dims=(-2, -1)),
        "anti": image[..., n - 1 - j, n - 1 - i],  # the anti-diagonal reflection
    }
    for name, want in expected.items():
        assert torch.equal(by_name[name], want), name


def test_the_views_form_the_dihedral_group_and_each_prefix_is_a_subgroup():
    image = distinct_pixels()
    views = [dihedral_view(image, v) for v in range(8)]
    # Cayley table: table[a][b] = the view equal to "view b, then view a"
    table = [[view_index(views, dihedral_view(dihedral_view(image, b), a)) for b in range(8)] for a in range(8)]
    for a in range(8):
        assert table[0][a] == table[a][0] == a  # identity
        assert sorted(table[a]) == list(range(8))  # a group's rows are permutations (closure, cancellation)
        assert 0 in table[a]  # every view's inverse is among the views
    assert any(table[a][b] != table[b][a] for a in range(8) for b in range(8))  # not abelian: D4, not Z8 / Z2^3
    rot90, rot270 = DIHEDRAL_VIEWS.index("rot90"), DIHEDRAL_VIEWS.index("rot270")
    four_times = image
    for _ in range(4):
        four_times = dihedral_view(four_times, rot90)
    assert torch.equal(four_times, image)
    assert table[rot90][rot90] == DIHEDRAL_VIEWS.index("rot180")
    assert table[rot90][rot270] == table[rot270][rot90] == 0
    orders = sorted(next(k for k in range(1, 9) if _power(table, a, k) == 0) for a in range(8))
    assert orders == [1, 2, 2, 2, 2, 2, 4, 4]  # D4: the identity, 5 reflections / half-turns, 2 quarter turns
    for count in (1, 2, 4, 8):  # cache_views 1, 2, 4, 8: each a group, so views drawn uniformly are a symmetry
        assert all(table[a][b] < count for a in range(count) for b in range(count)), count


def _power(table: list[list[int]], a: int, k: int) -> int:
    result = 0
    for _ in range(k):
        result = table[a][result]
    return result


def test_the_first_4_views_are_the_flips_of_the_uncached_augmentation():
    """Views 0-3 = (no flip, horizontal, vertical, both) of ``BatchAugmentation``; views 4-7 are not among its flips."""
    images = torch.randint(0, 10_000, (2, 12, 8, 8), generator=torch.Generator().manual_seed(0)).to(torch.uint16)
    points = torch.zeros(2, 2, dtype=torch.float64)
    augment = BatchAugmentation(crop_size=8, insert_b10=True, jitter_km=0.0, blur_sigma=None)
    plain = augment(images, points, train=False)[0]
    zeros = torch.zeros(2, dtype=torch.int64)
    flipped = []
    for horizontal, vertical in ((False, False), (True, False), (False, True), (True, True)):
        params = AugmentationParams(zeros, zeros, torch.full((2,), horizontal), torch.full((2,), vertical))
        flipped.append(augment.apply(images, points, params)[0])
    for v in range(8):
        matches = [k for k, out in enumerate(flipped) if torch.equal(dihedral_view(plain, v), out)]
        assert matches == ([v] if v < 4 else []), (DIHEDRAL_VIEWS[v], matches)


# ------------------------------------------------------------------------------------------------ computing


def test_cached_view_v_is_the_backbone_features_of_view_v(cache, dataset, visual, reference_input):
    result, progress = cache
    assert result.features.shape == (23, 8, 512) and result.features.dtype == torch.float16
    assert result.key == "the-key"
    assert progress == [10, 10, 3]  # one call per loader batch, with its size
    assert result.points.dtype == torch.float64
    assert torch.equal(result.points, torch.from_numpy(dataset.points))  # same tiles, same order
    assert not visual.bn1.training and visual.fc.training  # the frozen backbone was switched to eval, not the head
    reference = copy.deepcopy(visual).eval()
    with torch.no_grad():
        for v in range(8):
            want = backbone_features(reference, VISION, dihedral_view(reference_input, v))
            torch.testing.assert_close(result.features[:, v].float(), want, **FEATURE_TOLERANCE)
    # the views are not all the same features (so the comparison above can tell them apart)
    for v in range(1, 8):
        difference = (result.features[:, v].float() - result.features[:, 0].float()).abs().max()
        assert difference > 10 * FEATURE_TOLERANCE["atol"], DIHEDRAL_VIEWS[v]


def test_fewer_views_are_the_first_views_and_the_head_maps_them_to_the_embeddings(cache, dataset, visual, augment):
    result, _ = cache
    subset = torch.utils.data.Subset(dataset, [3, 17, 5])
    two = compute_feature_cache(
        subset,
        prepare_with(augment),
        lambda images: backbone_features(visual, VISION, images),
        views=2,
        key="k2",
        device=torch.device("cpu"),
        batch_size=2,
    )
    assert two.features.shape == (3, 2, 512)
    torch.testing.assert_close(two.features.float(), result.features[[3, 17, 5], :2].float(), **FEATURE_TOLERANCE)
    assert torch.equal(two.points, result.points[[3, 17, 5]])
    with torch.no_grad():  # apply_head(cached features) = the whole encoder on that view
        images = augment(torch.stack([subset[i]["image"] for i in range(3)]), two.points, train=False)[0]
        whole = copy.deepcopy(visual).eval()(dihedral_view(images, 1))
        torch.testing.assert_close(apply_head(visual, VISION, two.features[:, 1].float()), whole, rtol=1e-2, atol=1e-3)


# ------------------------------------------------------------------------------------------------ the file


def test_save_and_load_round_trip(cache, tmp_path):
    result, _ = cache
    path = tmp_path / "feature_cache" / "k.safetensors"  # the folder does not exist yet
    result.save(path)
    loaded = FeatureCache.load(path, "the-key")
    assert loaded is not None and loaded.key == "the-key"
    assert torch.equal(loaded.features, result.features) and loaded.features.dtype == torch.float16
    assert torch.equal(loaded.points, result.points) and loaded.points.dtype == torch.float64
    # a non-contiguous cache saves too, and overwrites
    strided = FeatureCache(result.features[:, ::2], result.points, "other")
    assert not strided.features.is_contiguous()
    strided.save(path)
    again = FeatureCache.load(path, "other")
    assert again is not None and torch.equal(again.features, result.features[:, ::2])
    assert [p.name for p in path.parent.iterdir()] == ["k.safetensors"]  # no temporary file left behind


def test_load_returns_none_for_another_key_a_missing_or_a_corrupt_file(cache, tmp_path):
    from safetensors.torch import save_file

    result, _ = cache
    path = tmp_path / "c.safetensors"
    assert FeatureCache.load(path, "the-key") is None  # missing
    result.save(path)
    assert FeatureCache.load(path, "another-key") is None
    whole = path.read_bytes()
    cases = {
        "truncated": whole[: len(whole) // 2],
        "garbage": b"\x00\x01not a safetensors file" * 10,
        "empty": b"",
    }
    for name, data in cases.items():
        path.write_bytes(data)
        assert FeatureCache.load(path, "the-key") is None, name
    save_file({"features": result.features}, str(path), metadata={"key": "the-key"})  # no points
    assert FeatureCache.load(path, "the-key") is None
    save_file({"features": result.features, "points": result.points}, str(path))  # no key at all
    assert FeatureCache.load(path, "the-key") is None
    assert FeatureCache.load(tmp_path, "the-key") is None  # a folder


def test_cache_key_changes_with_each_input():
    base = {
        "dataset_files": ["patch_0.tif", "patch_1.tif"],
        "vision": "moco-resnet18",
        "vision_weights": "default",
        "crop_size": 256,
        "views": 8,
    }
    key = cache_key(**base)
    assert len(key) == 32 and all(c in "0123456789abcdef" for c in key)
    assert cache_key(**base) == key  # deterministic
    changes = {
        "dataset_files": [["patch_1.tif", "patch_0.tif"], ["patch_0.tif"], ["patch_0.tif", "patch_2.tif"]],
        "vision": ["moco-resnet50"],
        "vision_weights": ["none", "/some/weights.pth"],
        "crop_size": [224],
        "views": [4],
    }
    keys = {key}
    for name, values in changes.items():
        for value in values:
            keys.add(cache_key(**{**base, name: value}))
    assert len(keys) == 1 + sum(len(values) for values in changes.values())
    # no ambiguity from joining: ["a,b"] is not ["a", "b"]
    assert cache_key(**{**base, "dataset_files": ["a,b"]}) != cache_key(**{**base, "dataset_files": ["a", "b"]})


def test_cached_feature_dataset_items_and_batches(cache):
    result, _ = cache
    cached = CachedFeatureDataset(result)
    assert len(cached) == 23
    item = cached[7]
    assert set(item) == {"features", "point"}
    assert item["features"].shape == (8, 512) and item["features"].dtype == torch.float16
    assert item["point"].shape == (2,) and item["point"].dtype == torch.float64
    assert torch.equal(item["features"], result.features[7]) and torch.equal(item["point"], result.points[7])
    loader = torch.utils.data.DataLoader(cached, batch_size=5, collate_fn=collate_patches)  # as S2DataModule does
    batch = next(iter(loader))
    assert batch["features"].shape == (5, 8, 512) and batch["point"].shape == (5, 2)
    assert torch.equal(batch["features"], result.features[:5])


def test_a_dataset_with_the_same_file_names_but_other_points_is_not_served_a_stale_cache(module, tiles_dir, tmp_path):
    from satclip_cli.training.feature_cache import feature_cache_dataset

    first_points = pd.read_csv(tiles_dir / "index.csv")[["lon", "lat"]].iloc[:3]
    moved = first_points.assign(lat=first_points["lat"] / 2)  # e.g. a corrected index.csv, or another folder
    first = make_dataset_folder(tmp_path / "first", tiles_dir, first_points)
    second = make_dataset_folder(tmp_path / "second", tiles_dir, moved)
    config = TrainConfig().override(**TINY_MODULE, out=str(tmp_path / "run"), cache_features=True, cache_views=1)
    for data in (first, second):  # e.g. a run stopped before its first checkpoint, rerun with corrected points
        served = feature_cache_dataset(
            config.override(data=str(data)), copy.deepcopy(module), S2PatchDataset(data), progress=False
        )
    assert torch.equal(served.cache.points, torch.tensor(moved.to_numpy(), dtype=torch.float64))


# ------------------------------------------------------------------------------------------------ the training path


def haversine_km(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    lon1, lat1, lon2, lat2 = (torch.deg2rad(v) for v in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    h = torch.sin((lat2 - lat1) / 2) ** 2 + torch.cos(lat1) * torch.cos(lat2) * torch.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * torch.asin(h.clamp(max=1).sqrt())


def labelled_batch(batch: int = 256, views: int = 8) -> dict[str, torch.Tensor]:
    """``features[b, v] = (v, b, -b)`` in float16 (exact), so the chosen rows tell which view of which sample."""
    b = torch.arange(batch, dtype=torch.float16)[:, None].expand(batch, views)
    v = torch.arange(views, dtype=torch.float16)[None, :].expand(batch, views)
    features = torch.stack([v, b, -b], dim=-1)
    generator = torch.Generator().manual_seed(3)
    lon = torch.rand(batch, generator=generator, dtype=torch.float64) * 360 - 180
    lat = torch.rand(batch, generator=generator, dtype=torch.float64) * 160 - 80
    return {"features": features, "point": torch.stack([lon, lat], dim=1)}


def chosen_views(
    module: SatCLIPLightningModule, batch: dict[str, torch.Tensor], seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(features [B, F] float32, points [B, 2] float64) of a training step whose generator is seeded ``seed``."""
    return module._inputs(batch, train=True, generator=torch.Generator().manual_seed(seed))


def test_validation_uses_view_0_and_the_points_as_they_are(module):
    batch = labelled_batch()
    features, points = module._inputs(batch, train=False)
    assert features.dtype == torch.float32 and features.shape == (256, 3)
    assert torch.equal(features, batch["features"][:, 0].float())
    assert points.dtype == torch.float64 and torch.equal(points, batch["point"])
    float32_points = {**batch, "point": batch["point"].float()}
    assert module._inputs(float32_points, train=False)[1].dtype == torch.float64


def test_training_draws_one_random_view_per_sample_reproducibly(module):
    batch = labelled_batch()
    features, _ = chosen_views(module, batch, seed=0)
    assert features.dtype == torch.float32 and features.shape == (256, 3)
    assert torch.equal(features[:, 1], torch.arange(256, dtype=torch.float32))  # each sample keeps its own row
    assert torch.equal(features[:, 2], -features[:, 1])
    view = features[:, 0].long()
    assert torch.equal(features, batch["features"][torch.arange(256), view].float())
    assert view.min() >= 0 and view.max() <= 7
    counts = torch.bincount(view, minlength=8)
    assert (counts > 10).all(), counts  # every view is drawn (256 draws, 32 expected each)
    again, _ = chosen_views(module, batch, seed=0)
    assert torch.equal(again, features)  # the same generator state: the same views
    other, _ = chosen_views(module, batch, seed=1)
    assert not torch.equal(other, features)
    single = {**batch, "features": batch["features"][:, :1]}
    assert torch.equal(chosen_views(module, single, seed=0)[0][:, 0], torch.zeros(256))  # V = 1: always view 0


def test_training_jitters_points_within_jitter_km_and_only_in_training(module):
    batch = labelled_batch()
    assert module.augment.jitter_km == 1.0
    _, points = chosen_views(module, batch, seed=0)
    assert points.dtype == torch.float64
    distance = haversine_km(batch["point"], points)
    assert distance.max() <= 1.0 + 1e-9
    assert (distance > 0).all() and distance.mean() > 0.5  # uniform in the disc: mean 2/3 km
    assert torch.equal(chosen_views(module, batch, seed=0)[1], points)  # reproducible
    assert not torch.equal(chosen_views(module, batch, seed=1)[1], points)
    no_jitter = copy.deepcopy(module)
    no_jitter.augment.jitter_km = 0.0
    assert torch.equal(chosen_views(no_jitter, batch, seed=0)[1], batch["point"])
    assert math.isclose(module.augment.jitter_km, 1.0)  # the copy did not touch the shared module


def test_cached_validation_gives_the_loss_of_the_uncached_path(module, cache, dataset, visual):
    """View 0 of the cache + the head = the whole encoder on the centre crop: same embeddings, same loss."""
    result, _ = cache
    model = copy.deepcopy(module)
    model.model.visual.load_state_dict(visual.state_dict())  # the backbone that made the cache
    model.eval()
    images = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    points = torch.from_numpy(dataset.points)
    with torch.no_grad():
        uncached = model._features(*model._inputs({"image": images, "point": points}, train=False))
        model.image_head = lambda features: apply_head(model.model.visual, VISION, features)
        cached_inputs = model._inputs({"features": result.features, "point": result.points}, train=False)
        assert cached_inputs[0].shape == (23, 512)
        cached = model._features(*cached_inputs)
        torch.testing.assert_close(cached[0], uncached[0], rtol=1e-2, atol=1e-3)
        torch.testing.assert_close(cached[1], uncached[1])  # the same points: the same location embeddings
        loss = model.loss_fn(*cached, model.model.logit_scale)
        torch.testing.assert_close(loss, model.loss_fn(*uncached, model.model.logit_scale), rtol=1e-4, atol=1e-4)
