"""The ``satclip embed`` stage: location embeddings of vector files, or rasters of embeddings.

``config`` (:class:`~satclip_cli.embedding.config.EmbedConfig`, frozen) and ``job``
(:func:`~satclip_cli.embedding.job.run` -> :class:`~satclip_cli.embedding.job.EmbedSummary`) are the front;
``vector`` (points/polygons of a file -> rows with embeddings), ``writers`` (GeoParquet, CSV, .npy),
``raster`` (every pixel centre of a grid -> a Cloud-Optimized GeoTIFF) and ``pca_preview`` (its RGB picture)
do the parts. Coordinates are (lon, lat) in degrees (EPSG:4326), in that order.
"""
