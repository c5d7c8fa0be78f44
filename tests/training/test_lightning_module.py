"""The LightningModule of ``satclip train``: which parameters get weight decay."""

from satclip_cli.training.lightning_module import no_weight_decay
from tests.models.test_satclip import tiny_model


def test_weight_decay_spares_biases_norms_and_the_logit_scale():
    model = tiny_model()
    decayed = {name for name, p in model.named_parameters() if not no_weight_decay(name, p)}
    assert "logit_scale" not in decayed
    assert not any(name.endswith(".bias") or ".ln_" in name for name in decayed)
    assert "visual.conv1.weight" in decayed and "location.nnet.layers.0.weight" in decayed
