"""What the two Sentinel-2 L2A sources share: 12-band uint16 patches at 10 m, read window by window from the
scenes' per-band COGs (:func:`~satclip_cli.sampling.reader.read_patch`), transient failures retried.

The sources differ only in how they find windows: :class:`~satclip_cli.sampling.sources.stac.StacSource`
searches a STAC API around area-uniform points; :class:`~satclip_cli.sampling.sources.scene_list.SceneListSource`
draws random windows of the scenes of a list.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING

from satclip_cli.dataset.sentinel2 import S2_BANDS
from satclip_cli.sampling.reader import AssetReadError, PatchPixels, is_transient_read_error, read_patch
from satclip_cli.sampling.retry import call_with_retries
from satclip_cli.sampling.sources.base import Point, SourceContext
from satclip_cli.sampling.window import PatchWindow

if TYPE_CHECKING:
    from satclip_cli.sampling.config import RunOptions, SampleSettings


class Sentinel2SceneSource:
    """Reads patches of Sentinel-2 L2A scenes (the :data:`S2_BANDS`, uint16 reflectance x 10,000, 10 m pixels).

    Args:
        settings: ``resampling`` of the 20/60 m bands; the SCL layer is read when ``max_cloud_fraction`` is set.
        options: ``retry``, the policy for transient read failures.
        context: the run's counters, failure log and stop signal.
        sign_url: signs each asset href before it is read (Planetary Computer's SAS tokens); None: hrefs as
            they are (already signed, or public).
    """

    band_names: tuple[str, ...] = S2_BANDS
    dtype = "uint16"

    def __init__(
        self,
        settings: SampleSettings,
        options: RunOptions,
        context: SourceContext,
        sign_url: Callable[[str], str] | None = None,
    ) -> None:
        self.settings = settings
        self.retry = options.retry
        self.context = context
        self.sign_url = sign_url

    def pixel_summary(self) -> str:
        return f"10 m, bands {' '.join(S2_BANDS)}"

    def quality(self) -> str:
        """The dry-run line of the quality check: nodata, SCL cloud fraction, resampling."""
        settings = self.settings
        cloud = f"{settings.max_cloud_fraction:.0%} (SCL)" if settings.max_cloud_fraction is not None else "not checked"
        return (
            f"Quality: nodata <= {settings.max_nodata_fraction:.0%} of the window; cloudy pixels {cloud}; "
            f"20/60 m bands resampled with {settings.resampling}"
        )

    def read(self, index: int, window: PatchWindow, point: Point | None, executor: Executor) -> PatchPixels | None:
        """The window's bands (and SCL layer) from the scene's COGs; None after a failed read (counted, logged)."""
        window = self._signed(window)
        tries = itertools.count()

        def read() -> PatchPixels:
            # A retry must bypass GDAL's cache, which remembers failed opens per URL.
            return read_patch(
                window,
                executor,
                resampling=self.settings.resampling,
                with_scl=self.settings.max_cloud_fraction is not None,
                uncached=next(tries) > 0,
            )

        try:
            return call_with_retries(
                read,
                self.retry,
                lambda error: isinstance(error, AssetReadError) and is_transient_read_error(error.cause),
                on_retry=self.context.count_retry,
                stop=self.context.stop,
            )
        except AssetReadError as error:
            self.context.count("read_errors")
            self.context.log_failure(index, "read", str(error), item_id=window.item.id, point=point)
            return None

    def _signed(self, window: PatchWindow) -> PatchWindow:
        if self.sign_url is None:
            return window
        item = window.item
        signed = dataclasses.replace(item, hrefs={key: self.sign_url(href) for key, href in item.hrefs.items()})
        return dataclasses.replace(window, item=signed)
