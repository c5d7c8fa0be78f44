import pytest

from satclip_cli.errors import InputError
from satclip_cli.sampling.config import SampleConfig, SampleSettings, Shard, load_or_store_settings


def test_settings_are_stored_then_checked_on_resume(tmp_path):
    settings = SampleSettings(n=10, seed=3, bbox="1,2,3,4")
    assert load_or_store_settings(tmp_path, settings) is False
    assert load_or_store_settings(tmp_path, settings) is True
    assert load_or_store_settings(tmp_path, SampleSettings(n=20, seed=3, bbox="1,2,3,4")) is True  # n may grow
    with pytest.raises(InputError, match=r"seed: 3 -> 4"):
        load_or_store_settings(tmp_path, SampleSettings(n=20, seed=4, bbox="1,2,3,4"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n": 0}, "^n must be at least 1"),
        ({"start": "2023-01-01", "end": "2022-01-01"}, "after"),
        ({"start": "yesterday"}, "dates"),
        ({"max_cloud": 120.0}, "percentage"),
        ({"max_cloud_fraction": 2.0}, "fraction"),
        ({"strategy": "scenes"}, "needs items"),
        ({"size": 8}, "^size must be"),
        ({"resampling": "lanczos"}, "^resampling must be one of"),
    ],
)
def test_bad_settings_are_one_clear_error(changes, message):
    with pytest.raises(InputError, match=message):
        SampleSettings(**{"n": 5, **changes}).validate()


def test_shards_partition_the_indices():
    shards = [Shard.parse(f"{k}/3") for k in (1, 2, 3)]
    parts = [list(shard.indices(10)) for shard in shards]
    assert sorted(sum(parts, [])) == list(range(10))
    assert parts[1] == [1, 4, 7]
    for text in ("0/3", "4/3", "x", "1/2/3"):
        with pytest.raises(InputError, match="shard"):
            Shard.parse(text)


def test_a_config_takes_its_folder_as_a_path_and_checks_its_settings(tmp_path):
    config = SampleConfig(str(tmp_path / "ds"), SampleSettings(n=3))
    assert config.out == tmp_path / "ds" and config.options.shard == Shard(1, 1)
    with pytest.raises(InputError, match="at least 1"):
        SampleConfig(tmp_path, SampleSettings(n=0)).validate()
