"""The Dask client front: address checks, a real local cluster, an unreachable scheduler."""

import socket

import pytest

from satclip_cli.utils.dask_cluster import ClusterError, dask_client, local_worker_count, run_tasks


@pytest.mark.parametrize("address", ["local:0", "local:x", "localhost:8786", "http://h:1", "tcp://"])
def test_bad_addresses_are_refused_with_the_setting_named(address):
    with pytest.raises(ClusterError, match="scheduler"):
        local_worker_count(address)


def test_local_and_remote_addresses():
    assert local_worker_count("local:3") == 3
    assert local_worker_count("tcp://127.0.0.1:8786") is None


def _square(x: int, offset: int = 0) -> int:
    return x * x + offset


def test_a_local_cluster_runs_every_task_once():
    results = []
    with dask_client("local:2") as client:
        assert len(client.scheduler_info()["workers"]) == 2
        count = run_tasks(client, _square, range(10), on_result=results.append, offset=1)
    assert count == 10
    assert sorted(results) == [x * x + 1 for x in range(10)]


def test_an_unreachable_scheduler_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    with (
        pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"),
        dask_client(f"tcp://127.0.0.1:{port}", timeout_s=2),
    ):
        pass


def test_a_bounded_number_of_tasks_in_flight_consumes_items_lazily():
    consumed = []
    results = []

    def items():
        for i in range(12):
            consumed.append(i)
            # never more than 3 items taken ahead of the results received
            assert len(consumed) - len(results) <= 3
            yield i

    with dask_client("local:1") as client:
        count = run_tasks(client, _square, items(), on_result=results.append, max_in_flight=3)
    assert count == 12 and sorted(results) == [x * x for x in range(12)]


def test_only_distributeds_interrupt_race_traceback_is_dropped(caplog):
    """distributed's sync() logs a NameError about 'future' when Ctrl-C comes early; other loop errors still show."""
    import logging

    loop_logger = logging.getLogger("tornado.application")
    race = NameError("cannot access free variable 'future' where it is not associated with a value in enclosing scope")
    with dask_client("local:1"), caplog.at_level(logging.ERROR, logger="tornado.application"):
        loop_logger.error("Exception in callback", exc_info=(NameError, race, None))
        loop_logger.error("Exception in callback", exc_info=(ValueError, ValueError("real"), None))
    ours = [record for record in caplog.records if record.name == "tornado.application"]
    assert [record.exc_info[1].args[0] for record in ours] == ["real"]
    with caplog.at_level(logging.ERROR, logger="tornado.application"):
        loop_logger.error("after the client", exc_info=(NameError, race, None))
    assert caplog.records[-1].getMessage() == "after the client"  # the filter is gone with the client
