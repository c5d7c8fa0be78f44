"""Flag names of settings, the one place that knows them."""

from satclip_cli.cli.options import FLAGS_NOT_NAMED_AFTER_THEIR_SETTING, flag_name


def test_flags_are_the_setting_names_with_dashes_unless_listed():
    assert flag_name("max_cloud_fraction") == "--max-cloud-fraction"
    assert flag_name("n") == "--n"
    for setting, flag in FLAGS_NOT_NAMED_AFTER_THEIR_SETTING.items():
        assert flag_name(setting) == flag
