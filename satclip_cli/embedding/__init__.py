"""The ``satclip embed`` stage: location embeddings of vector files, or rasters of embeddings.

``config`` (:class:`~satclip_cli.embedding.config.EmbedConfig`, frozen) and ``job``
(:func:`~satclip_cli.embedding.job.run` -> :class:`~satclip_cli.embedding.job.EmbedSummary`) are the front;
``model`` (the encoder loaded once, cached per worker process), ``vector`` (points/polygons of a file -> rows with
embeddings), ``writers`` (GeoParquet, CSV, .npy), ``raster`` (every pixel centre of a grid -> a Cloud-Optimized
GeoTIFF), ``pca_preview`` (its RGB picture), ``zarr_writer``/``zarr_run`` (a grid -> a resumable Zarr store, chunk
by chunk), ``quantize`` (float16 / int8 outputs), ``partitions`` + ``resumable`` (GeoParquet dataset folders that a
re-run resumes), ``cluster`` (the Dask worker tasks) and ``cluster_run`` (``--scheduler``: the client side) do the
parts. Coordinates are (lon, lat) in degrees (EPSG:4326), in that order.
"""
