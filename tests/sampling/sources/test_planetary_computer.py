import warnings

from satclip_cli.sampling.sources.planetary_computer import is_planetary_computer, planetary_computer


def test_planetary_computer_urls_are_recognised():
    assert is_planetary_computer("https://planetarycomputer.microsoft.com/api/stac/v1")
    assert is_planetary_computer("https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/x/B02_10m.tif")
    assert not is_planetary_computer("https://earth-search.aws.element84.com/v1")
    assert not is_planetary_computer("http://127.0.0.1:8080/items")


def test_other_hosts_are_left_unsigned_without_network():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module = planetary_computer()
    assert module.sign_url("http://127.0.0.1:8080/a/B02.tif") == "http://127.0.0.1:8080/a/B02.tif"
