"""The ``satclip train`` stage: contrastive pretraining of a SatCLIP model on a dataset folder.

``config`` (:class:`~satclip_cli.training.config.TrainConfig`, frozen) and ``job``
(:func:`~satclip_cli.training.job.run` -> :class:`~satclip_cli.training.job.TrainSummary`) are the front;
``build`` (the model and its LightningModule), ``trainer`` (the Lightning ``Trainer``), ``datamodule``,
``lightning_module``, ``loss``, ``augmentations`` and ``feature_cache`` (frozen-backbone fast path) do the parts.
"""
