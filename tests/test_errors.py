"""The error hierarchy's one-line messages and setting references."""

import pytest

from satclip_cli.errors import InputError, SatclipError, one_line, render_settings, setting


def test_a_setting_reads_as_its_name_in_the_library_and_as_anything_the_caller_shows():
    error = InputError(f"{setting('max_cloud')} is a percentage, not {setting('max_cloud')}=300")
    assert str(error) == "max_cloud is a percentage, not max_cloud=300"
    assert error.message_for(lambda name: "--" + name.replace("_", "-")) == (
        "--max-cloud is a percentage, not --max-cloud=300"
    )
    assert render_settings("no references {here}") == "no references {here}"


def test_one_line_folds_white_space_cuts_and_names_the_type():
    assert one_line(ValueError("a\n  b\tc ")) == "a b c"
    assert one_line(ValueError("")) == "ValueError"
    assert one_line(ValueError("abcdef"), limit=4) == "abc…"
    assert one_line(ValueError("abcd"), limit=4) == "abcd"
    assert one_line(OSError("disk full"), with_type=True) == "OSError: disk full"
    assert one_line("  plain\ntext ") == "plain text"


def test_message_for_is_one_line():
    error = SatclipError(f"line one\nline two of {setting('data')}")
    assert error.message_for(str.upper) == "line one line two of DATA"
    assert error.exit_code == 2


@pytest.mark.parametrize("name", ["a", "data_dir", "x2"])
def test_setting_references_round_trip(name):
    assert render_settings(setting(name)) == name


def test_shown_prints_numpy_scalars_as_plain_numbers() -> None:
    import numpy as np

    from satclip_cli.errors import shown

    assert [shown(np.float64("nan")), shown(np.float32(2.5)), shown(np.int64(3)), shown(np.bool_(True))] == [
        "nan",
        "2.5",
        "3",
        "True",
    ]
    assert (shown("abc"), shown(np.str_("abc")), shown(None), shown([1])) == ("'abc'", "'abc'", "None", "[1]")
