"""Train/validation/test splits of a probe's points: random, continent hold-out and few-shot.

A :class:`Split` holds three disjoint, non-empty, sorted int64 index arrays into the task's points. The
probes fit on ``train``, choose their hyperparameters (C, k, the early-stopping epoch) on ``val`` and are
scored on ``test``; the linear ridge probe chooses its penalty by leave-one-out on ``train`` instead.

* :func:`random_split`: a seeded permutation cut at the given fractions (default 60/20/20).
* :func:`continent_holdout`: the paper's geographic generalisation test: ``test`` is every point on one
  continent (Africa or Asia in the paper; continent names as in Natural Earth), ``train``/``val`` a seeded
  random split of all other points (including points with no continent, e.g. at sea).
* :func:`few_shot`: a continent hold-out where a seeded fraction of the held-out continent is moved into
  ``train``; the rest of that continent stays the test set.
* :func:`random_kfold`, :func:`spatial_block_kfold`: K-fold cross-validation, every point tested exactly
  once per seed. The random folds deal a seeded permutation of the points round-robin; the spatial-block
  folds deal a seeded permutation of the occupied equal-area blocks (:mod:`~satclip_cli.probing.spatial_blocks`)
  round-robin, so a block's points are never on both sides of a fold. For fold ``k``, ``test`` is fold
  ``k``; the other folds are the training folds, and a seeded quarter of *their* groups (points, or whole
  blocks) is the ``val`` part the probes choose their hyper-parameters on: nothing of the test fold is
  ever seen before scoring. With 5 folds, train/val/test are 60/20/20 % of the points, as the random split.

Classification: :func:`drop_rare_classes` removes, from all three parts, the classes with fewer than 2
*training* samples (a class the probe sees once or never cannot be learned, and a class with a single
sample in the whole data set can never be on both sides of a split) and returns a one-line warning
for the runner to print. It is applied after the split, so a class that is rare only in ``train`` (e.g.
a class of the held-out continent) is dropped from ``test`` too: the test metrics are over the classes
the probe could learn, and the warning says how many test points that removed.

A part that ends up empty raises :class:`~satclip_cli.errors.InputError` naming the part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satclip_cli.errors import InputError, setting

PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Three disjoint index arrays (sorted int64) into the task's points, and the split's name.

    Attributes:
        name: e.g. ``"random"``, ``"holdout-africa"``, ``"fewshot-africa-0.05"``.
        train, val, test: int64 [n_train], [n_val], [n_test] indices; none may be empty.
    """

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __post_init__(self) -> None:
        for part in PARTS:
            indices = np.sort(np.asarray(getattr(self, part), dtype=np.int64).ravel())
            if indices.size == 0:
                raise InputError(f"the {self.name} split leaves the {part} part empty ({self.describe_sizes()})")
            object.__setattr__(self, part, indices)
        union = np.concatenate([self.train, self.val, self.test])
        if np.unique(union).size != union.size:
            raise ValueError(f"split {self.name!r}: train, val and test overlap")

    def describe_sizes(self) -> str:
        """``"train 600, val 200, test 200"`` (usable before validation, for error messages)."""
        return ", ".join(f"{part} {np.asarray(getattr(self, part)).size}" for part in PARTS)

    @property
    def sizes(self) -> dict[str, int]:
        """``{"train": n_train, "val": n_val, "test": n_test}``."""
        return {part: int(getattr(self, part).size) for part in PARTS}


def random_split(n: int, seed: int, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> Split:
    """A seeded random split of ``n`` points into train/val/test of about ``fractions`` of ``n``.

    ``n_train = round(f_train * n)``, ``n_val = round(f_val * n)``, the rest is the test part. The
    fractions must be non-negative and sum to 1; a part that gets no point raises ``InputError``.
    """
    fractions_array = np.asarray(fractions, dtype=np.float64)
    if fractions_array.shape != (3,) or (fractions_array < 0).any() or abs(fractions_array.sum() - 1.0) > 1e-9:
        raise InputError(f"split fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}")
    n_train = round(fractions[0] * n)
    n_val = min(round(fractions[1] * n), n - n_train)
    order = np.random.default_rng(seed).permutation(n)
    return Split("random", order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])


def _normalise_names(names: np.ndarray) -> np.ndarray:
    return np.char.lower(np.char.strip(np.asarray(names).astype(str)))


def continent_holdout(continents: np.ndarray, held_out: str, seed: int, val_fraction: float = 0.25) -> Split:
    """Test on one continent, train/validate on the others (the paper holds out Africa and Asia).

    Args:
        continents: str [n], each point's continent (Natural Earth names: ``"Africa"``, ``"Asia"``,
            ``"Europe"``, ``"North America"``, ``"South America"``, ``"Oceania"``, ``"Antarctica"``);
            empty or any other value for points on no continent, which go to train/val.
        held_out: the continent to hold out, matched case-insensitively.
        seed: seed of the train/val permutation of the other points.
        val_fraction: share of the other points in ``val`` (default 0.25, the train:val ratio 3:1 of
            the 60/20/20 random split).

    Returns:
        ``Split("holdout-<continent>", ...)`` whose ``test`` is exactly the points on ``held_out``.
    """
    if not 0.0 < val_fraction < 1.0:
        raise InputError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    names = _normalise_names(continents)
    target = held_out.strip().lower()
    on_continent = names == target
    if not on_continent.any():
        present = sorted({str(name) for name in np.unique(np.asarray(continents).astype(str)) if name.strip()})
        raise InputError(
            f"no point is on the held-out continent {held_out!r}, so the test part would be empty "
            f"(continents present: {', '.join(present) or 'none'})"
        )
    rest = np.flatnonzero(~on_continent)
    rest = rest[np.random.default_rng(seed).permutation(rest.size)]
    n_val = round(val_fraction * rest.size)
    slug = target.replace(" ", "-")
    return Split(f"holdout-{slug}", rest[n_val:], rest[:n_val], np.flatnonzero(on_continent))


def few_shot(split: Split, fraction: float, seed: int) -> Split:
    """Move a seeded ``fraction`` of a hold-out split's test points into its training part.

    ``round(fraction * n_test)`` points (at least one) drawn without replacement from ``split.test`` join
    ``split.train``; ``val`` is unchanged and the remaining held-out points are the new test part.
    ``fraction`` must be in (0, 1); a test part left empty raises ``InputError``.
    """
    if not 0.0 < fraction < 1.0:
        raise InputError(f"the few-shot fraction must be between 0 and 1 (exclusive), got {fraction}")
    n_moved = max(1, round(fraction * split.test.size))
    if n_moved >= split.test.size:
        raise InputError(
            f"a few-shot fraction of {fraction:g} of the {split.test.size} held-out points leaves the test part empty"
        )
    chosen = np.random.default_rng(seed).permutation(split.test.size)[:n_moved]
    moved = split.test[chosen]
    name = split.name.replace("holdout-", "fewshot-", 1) if split.name.startswith("holdout-") else split.name
    return Split(
        f"{name}-{fraction:g}",
        np.concatenate([split.train, moved]),
        split.val,
        np.setdiff1d(split.test, moved, assume_unique=True),
    )


def drop_rare_classes(labels: np.ndarray, split: Split, min_train: int = 2) -> tuple[Split, str | None]:
    """Drop, from every part, the classes with fewer than ``min_train`` samples in ``split.train``.

    Args:
        labels: [n] class labels of all points (any dtype ``np.unique`` sorts); ``split`` indexes into it.
        split: the split to filter.
        min_train: minimum number of training samples a class needs to be kept.

    Returns:
        ``(split, warning)``: the filtered split (same name) and a one-line warning, or ``None`` when
        nothing was dropped. Raises ``InputError`` when fewer than 2 classes are left or a part is empty.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels[split.train], return_counts=True)
    kept_classes = classes[counts >= min_train]
    if kept_classes.size < 2:
        raise InputError(
            f"the {split.name} split has {kept_classes.size} class(es) with at least {min_train} training samples; "
            "classification needs 2 or more"
        )
    parts = {part: getattr(split, part) for part in PARTS}
    keep = {part: np.isin(labels[indices], kept_classes) for part, indices in parts.items()}
    dropped_points = {part: int((~mask).sum()) for part, mask in keep.items()}
    if not any(dropped_points.values()):
        return split, None
    n_dropped_classes = np.unique(np.concatenate([labels[parts[p]][~keep[p]] for p in PARTS])).size
    points = ", ".join(f"{dropped_points[part]} {part}" for part in PARTS)
    detail = (
        f"dropped {n_dropped_classes} class(es) with fewer than {min_train} training samples "
        f"({sum(dropped_points.values())} points: {points})"
    )
    filtered = {part: parts[part][keep[part]] for part in PARTS}
    for part in PARTS:
        if filtered[part].size == 0:
            raise InputError(f"the {split.name} split leaves the {part} part empty: {detail}")
    return Split(split.name, filtered["train"], filtered["val"], filtered["test"]), f"{split.name} split: {detail}"


@dataclass(frozen=True)
class KFold:
    """The K splits of one K-fold cross-validation and each point's fold.

    Attributes:
        splits: K :class:`Split` s, ``splits[k].test`` is fold ``k``.
        fold_of_point: int64 [N] the fold each point is tested in.
        n_groups: how many groups (points, or occupied blocks) were dealt to the folds.
    """

    splits: list[Split]
    fold_of_point: np.ndarray
    n_groups: int


def group_kfold(groups: np.ndarray, folds: int, seed: int, name: str, val_fraction: float = 0.25) -> KFold:
    """K folds of whole groups: a seeded permutation of the distinct ``groups`` [N] dealt round-robin.

    Args:
        groups: [N] a group label per point (any sortable dtype); a group is never split between parts.
        folds: K, at least 2.
        seed: seeds the deal and the choice of validation groups.
        name: the splits' name (``"random"``, ``"spatial-block"``).
        val_fraction: share of the training folds' groups that form the validation part (at least one group).

    Raises:
        InputError: fewer groups than folds, or training folds with a single group (no room for ``val``).
    """
    if folds < 2:
        raise InputError(f"{setting('folds')} must be at least 2, got {folds}")
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(inverse.max()) + 1 if inverse.size else 0
    if n_groups < folds:
        raise InputError(f"{name} cross-validation needs at least {folds} groups for {folds} folds, got {n_groups}")
    rng = np.random.default_rng(seed)
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    fold_of_group[rng.permutation(n_groups)] = np.arange(n_groups) % folds
    fold_of_point = fold_of_group[inverse]
    splits = []
    for fold in range(folds):
        training_groups = np.flatnonzero(fold_of_group != fold)
        if training_groups.size < 2:
            raise InputError(
                f"{name} fold {fold + 1} of {folds} leaves a single group to train and validate on; "
                f"{folds} folds need at least {folds + 1} groups"
            )
        n_val = min(max(1, round(val_fraction * training_groups.size)), training_groups.size - 1)
        is_val = np.zeros(n_groups, dtype=bool)
        is_val[rng.permutation(training_groups)[:n_val]] = True
        in_training = fold_of_point != fold
        splits.append(
            Split(
                name,
                np.flatnonzero(in_training & ~is_val[inverse]),
                np.flatnonzero(in_training & is_val[inverse]),
                np.flatnonzero(~in_training),
            )
        )
    return KFold(splits, fold_of_point, n_groups)


def random_kfold(n: int, folds: int, seed: int) -> KFold:
    """K-fold cross-validation of ``n`` points dealt at random (seeded): the ``random`` split with folds."""
    return group_kfold(np.arange(n), folds, seed, "random")


def spatial_block_kfold(lonlat: np.ndarray, folds: int, block_size_km: float, seed: int) -> KFold:
    """K-fold cross-validation by equal-area blocks of ``block_size_km`` (km), blocks dealt at random (seeded).

    ``lonlat`` float [N, 2] (lon, lat) degrees. Raises :class:`InputError` when the points occupy fewer
    blocks than there are folds (blocks larger than the data's extent) or ``block_size_km`` is not positive.
    """
    from satclip_cli.probing.spatial_blocks import block_grid

    if folds < 2:
        raise InputError(f"{setting('folds')} must be at least 2, got {folds}")
    blocks = block_grid(block_size_km).block_of(lonlat)
    occupied = np.unique(blocks).size
    if occupied <= folds:
        raise InputError(
            f"{setting('block_size_km')} {block_size_km:g} km puts the {len(blocks)} points into {occupied} block(s), "
            f"but {folds} folds need more than {folds}: use smaller blocks or fewer {setting('folds')}"
        )
    return group_kfold(blocks, folds, seed, "spatial-block")


def uneven_folds_warning(kfold: KFold, block_size_km: float) -> str | None:
    """A one-line warning when spatial-block folds are too few blocks or too uneven to score on their own.

    Counted: the occupied blocks when they are fewer than 2 per fold, and the folds whose test part holds
    fewer than half of an even share (``N / (2 K)`` points), with their sizes. Such folds (California's
    block groups fill 7 blocks of 500 km, 5 folds test 80, 20,082, 177, 299 and 2 points) make a per-fold
    R² meaningless, which is why ``r2`` is pooled over folds; ``None`` when the folds are even enough.
    """
    folds = len(kfold.splits)
    sizes = np.bincount(kfold.fold_of_point, minlength=folds)
    small = sizes[sizes < sizes.sum() / (2 * folds)]
    problems = []
    if kfold.n_groups < 2 * folds:
        problems.append(f"only {kfold.n_groups} blocks of {block_size_km:g} km hold points, fewer than 2 per fold")
    if small.size:
        listed = ", ".join(f"{size:,}" for size in small)
        problems.append(
            f"{small.size} of {folds} folds test fewer than half an even share of the {sizes.sum():,} points ({listed})"
        )
    if not problems:
        return None
    return (
        f"spatial-block folds are uneven (seed 0): {'; '.join(problems)}: per-fold scores are unreliable, "
        f"r2 is pooled over folds; a smaller {setting('block_size_km')} gives more even folds"
    )


def drop_rare_classes_quietly(labels: np.ndarray, split: Split, min_train: int = 2) -> tuple[Split, int, int]:
    """:func:`drop_rare_classes` without the message: ``(split, dropped classes, dropped test points)``."""
    labels = np.asarray(labels)
    filtered, note = drop_rare_classes(labels, split, min_train)
    if note is None:
        return split, 0, 0
    classes, counts = np.unique(labels[split.train], return_counts=True)
    kept = classes[counts >= min_train]
    dropped = np.setdiff1d(np.unique(labels[np.concatenate([split.train, split.val, split.test])]), kept)
    return filtered, int(dropped.size), int(split.test.size - filtered.test.size)
