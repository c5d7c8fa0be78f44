"""Splits: random, continent hold-out, few-shot and dropping rare classes partition the points as documented."""

import numpy as np
import pytest

from satclip_cli.errors import InputError
from satclip_cli.probing.splits import (
    Split,
    continent_holdout,
    drop_rare_classes,
    few_shot,
    random_kfold,
    random_split,
    spatial_block_kfold,
    uneven_folds_warning,
)


def assert_partition(split: Split, n: int) -> None:
    union = np.concatenate([split.train, split.val, split.test])
    assert np.array_equal(np.sort(union), np.arange(n))
    for part in (split.train, split.val, split.test):
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)


def test_random_split_partitions_with_the_given_fractions() -> None:
    split = random_split(1000, seed=3)
    assert_partition(split, 1000)
    assert split.sizes == {"train": 600, "val": 200, "test": 200}
    assert split.name == "random"
    custom = random_split(10, seed=0, fractions=(0.5, 0.3, 0.2))
    assert custom.sizes == {"train": 5, "val": 3, "test": 2}


def test_random_split_is_seeded() -> None:
    a, b, c = random_split(500, seed=1), random_split(500, seed=1), random_split(500, seed=2)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


@pytest.mark.parametrize(
    ("n", "fractions", "part"),
    [(2, (0.6, 0.2, 0.2), "val"), (10, (0.9, 0.1, 0.0), "test"), (3, (0.0, 0.5, 0.5), "train")],
)
def test_random_split_names_the_empty_part(n: int, fractions: tuple[float, float, float], part: str) -> None:
    with pytest.raises(InputError, match=f"random split leaves the {part} part empty"):
        random_split(n, seed=0, fractions=fractions)


def test_random_split_rejects_fractions_not_summing_to_one() -> None:
    with pytest.raises(InputError, match="summing to 1"):
        random_split(100, seed=0, fractions=(0.6, 0.3, 0.3))


def continents_fixture(n: int = 400, seed: int = 0) -> np.ndarray:
    names = np.array(["Africa", "Asia", "Europe", "North America", "", "Oceania"])
    return names[np.random.default_rng(seed).integers(0, names.size, n)]


def test_continent_holdout_tests_on_exactly_that_continent() -> None:
    continents = continents_fixture()
    split = continent_holdout(continents, "africa", seed=0)
    assert_partition(split, continents.size)
    assert np.array_equal(split.test, np.flatnonzero(continents == "Africa"))
    rest = continents.size - split.test.size
    assert split.val.size == round(0.25 * rest)
    assert not np.isin(continents[np.concatenate([split.train, split.val])], ["Africa"]).any()
    assert split.name == "holdout-africa"
    assert continent_holdout(continents, "North America", seed=0).name == "holdout-north-america"


def test_continent_holdout_is_seeded_and_keeps_the_test_part_fixed() -> None:
    continents = continents_fixture()
    a, b = continent_holdout(continents, "Asia", seed=0), continent_holdout(continents, "Asia", seed=1)
    assert np.array_equal(a.test, b.test)
    assert not np.array_equal(a.val, b.val)
    assert np.array_equal(a.val, continent_holdout(continents, "Asia", seed=0).val)


def test_continent_holdout_errors() -> None:
    continents = continents_fixture()
    with pytest.raises(InputError, match="'Antarctica'.*continents present: Africa, Asia, Europe"):
        continent_holdout(continents, "Antarctica", seed=0)
    with pytest.raises(InputError, match="holdout-africa split leaves the train part empty"):
        continent_holdout(np.array(["Africa"] * 5), "Africa", seed=0)


def test_few_shot_moves_a_fraction_of_the_held_out_continent_into_training() -> None:
    continents = continents_fixture(1000)
    holdout = continent_holdout(continents, "Africa", seed=0)
    split = few_shot(holdout, 0.1, seed=5)
    assert_partition(split, continents.size)
    moved = np.setdiff1d(split.train, holdout.train)
    assert moved.size == round(0.1 * holdout.test.size)
    assert np.isin(moved, holdout.test).all()
    assert np.array_equal(np.sort(np.concatenate([moved, split.test])), holdout.test)
    assert np.array_equal(split.val, holdout.val)
    assert split.name == "fewshot-africa-0.1"
    assert np.array_equal(few_shot(holdout, 0.1, seed=5).train, split.train)
    assert not np.array_equal(few_shot(holdout, 0.1, seed=6).train, split.train)


def test_few_shot_errors() -> None:
    holdout = Split("holdout-asia", np.arange(10), np.arange(10, 15), np.arange(15, 17))
    assert few_shot(holdout, 0.01, seed=0).test.size == 1  # at least one point moves
    with pytest.raises(InputError, match="leaves the test part empty"):
        few_shot(holdout, 0.9, seed=0)
    with pytest.raises(InputError, match="between 0 and 1"):
        few_shot(holdout, 0.0, seed=0)


def test_split_validation() -> None:
    with pytest.raises(InputError, match="the x split leaves the val part empty \\(train 2, val 0, test 1\\)"):
        Split("x", np.array([0, 1]), np.array([], dtype=int), np.array([2]))
    with pytest.raises(ValueError, match="overlap"):
        Split("x", np.array([0, 1]), np.array([1]), np.array([2]))


def test_drop_rare_classes_removes_classes_with_fewer_than_two_training_samples() -> None:
    labels = np.array(["a", "a", "b", "b", "c", "d", "a", "b", "c", "d", "a", "e"])
    split = Split("random", np.arange(6), np.array([6, 7, 8]), np.array([9, 10, 11]))
    # training counts: a 2, b 2, c 1, d 1; e only in test.
    filtered, warning = drop_rare_classes(labels, split)
    assert np.array_equal(filtered.train, [0, 1, 2, 3])
    assert np.array_equal(filtered.val, [6, 7])
    assert np.array_equal(filtered.test, [10])
    assert filtered.name == "random"
    assert warning == (
        "random split: dropped 3 class(es) with fewer than 2 training samples (5 points: 2 train, 1 val, 2 test)"
    )
    kept, none = drop_rare_classes(labels[[0, 1, 2, 3, 6, 7]], Split("s", [0, 1, 2, 3], [4], [5]))
    assert none is None and kept.sizes == {"train": 4, "val": 1, "test": 1}


def test_drop_rare_classes_errors() -> None:
    labels = np.array([0, 0, 1, 2, 0, 1])
    with pytest.raises(InputError, match="1 class\\(es\\) with at least 2 training samples"):
        drop_rare_classes(labels, Split("s", [0, 1, 2, 3], [4], [5]))
    labels = np.array([0, 0, 1, 1, 0, 2])
    with pytest.raises(InputError, match="s split leaves the test part empty: dropped 1 class"):
        drop_rare_classes(labels, Split("s", [0, 1, 2, 3], [4], [5]))


def _check_kfold(kfold, n: int, folds: int) -> None:
    """Every point tested exactly once; train, val and test of each fold disjoint and non-empty."""
    tested = np.concatenate([split.test for split in kfold.splits])
    assert np.array_equal(np.sort(tested), np.arange(n))
    assert len(kfold.splits) == folds
    for fold, split in enumerate(kfold.splits):
        assert np.array_equal(split.test, np.flatnonzero(kfold.fold_of_point == fold))
        assert split.sizes["train"] > split.sizes["val"] > 0


def test_random_kfold_tests_every_point_once_and_is_seeded() -> None:
    kfold = random_kfold(1000, 5, seed=3)
    _check_kfold(kfold, 1000, 5)
    sizes = [split.sizes for split in kfold.splits]
    assert all(s["test"] == 200 and s["train"] == 600 and s["val"] == 200 for s in sizes)  # 60/20/20
    again, other = random_kfold(1000, 5, seed=3), random_kfold(1000, 5, seed=4)
    assert np.array_equal(again.fold_of_point, kfold.fold_of_point)
    assert not np.array_equal(other.fold_of_point, kfold.fold_of_point)


def test_spatial_block_folds_never_split_a_block() -> None:
    from satclip_cli.probing.spatial_blocks import block_grid

    rng = np.random.default_rng(0)
    lonlat = np.c_[rng.uniform(-20, 50, 3000), rng.uniform(-35, 35, 3000)]  # Africa-sized
    kfold = spatial_block_kfold(lonlat, 4, 500.0, seed=1)
    _check_kfold(kfold, 3000, 4)
    blocks = block_grid(500.0).block_of(lonlat)
    assert kfold.n_groups == np.unique(blocks).size
    for split in kfold.splits:
        test_blocks, val_blocks = set(blocks[split.test]), set(blocks[split.val])
        assert not test_blocks & set(blocks[split.train]) and not test_blocks & val_blocks
        assert not val_blocks & set(blocks[split.train])  # validation blocks are whole too
    # the block -> fold deal is seeded
    assert np.array_equal(spatial_block_kfold(lonlat, 4, 500.0, seed=1).fold_of_point, kfold.fold_of_point)
    assert not np.array_equal(spatial_block_kfold(lonlat, 4, 500.0, seed=2).fold_of_point, kfold.fold_of_point)


def test_blocks_larger_than_the_data_or_too_few_folds_are_input_errors() -> None:
    lonlat = np.c_[np.linspace(5, 6, 50), np.linspace(45, 46, 50)]  # 100 km of data
    with pytest.raises(InputError, match=r"block_size_km 500 km puts the 50 points into 1 block\(s\), but 5 folds"):
        spatial_block_kfold(lonlat, 5, 500.0, seed=0)
    with pytest.raises(InputError, match="folds must be at least 2"):
        spatial_block_kfold(lonlat, 1, 10.0, seed=0)
    with pytest.raises(InputError, match="folds must be at least 2"):
        random_kfold(50, 1, seed=0)


def test_uneven_spatial_folds_are_counted_in_a_warning() -> None:
    rng = np.random.default_rng(3)
    # seven clusters 10 degrees apart on the equator (one 500 km block each): two of 400 points, five of 3
    sizes = [400, 400, 3, 3, 3, 3, 3]
    lonlat = np.concatenate(
        [np.c_[10.0 * i + rng.uniform(0, 0.5, n), rng.uniform(0, 0.5, n)] for i, n in enumerate(sizes)]
    )
    kfold = spatial_block_kfold(lonlat, 5, 500.0, seed=0)
    warning = uneven_folds_warning(kfold, 500.0)
    assert warning is not None and warning.startswith("spatial-block folds are uneven (seed 0): ")
    assert "only 7 blocks of 500 km hold points, fewer than 2 per fold" in warning
    small = np.sort(np.bincount(kfold.fold_of_point))[:3]  # 7 blocks dealt to 5 folds: 3 folds of small blocks only
    assert "3 of 5 folds test fewer than half an even share of the 815 points" in warning
    assert all(f"{size}" in warning for size in small) and "r2 is pooled over folds" in warning
    # many blocks of about equal density: no warning
    spread = np.c_[rng.uniform(-20, 50, 3000), rng.uniform(-35, 35, 3000)]
    assert uneven_folds_warning(spatial_block_kfold(spread, 5, 500.0, seed=0), 500.0) is None
