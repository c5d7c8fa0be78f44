"""Partitions of a file or a folder of parts, in input order; finished parts are skipped."""

import numpy as np
import pandas as pd
import pytest

from satclip_cli.embedding.partitions import (
    Partition,
    finished_parts,
    input_files,
    iter_partitions,
    part_name,
    total_rows,
)
from satclip_cli.errors import InputError
from satclip_cli.geo.vector import open_point_source


def test_folder_of_parts_in_name_order_and_skipping(tmp_path):
    parts = tmp_path / "in"
    parts.mkdir()
    for i, rows in enumerate((5, 3)):
        start = 10 * i
        pd.DataFrame({"id": np.arange(start, start + rows), "lon": 1.0, "lat": 2.0}).to_csv(
            parts / f"p{i}.csv", index=False
        )
    (parts / "_ignored.csv").write_text("x\n")
    files = input_files(parts)
    assert [f.name for f in files] == ["p0.csv", "p1.csv"]
    sources = [open_point_source(f, chunk_size=2) for f in files]
    assert total_rows(sources) == 8
    items = list(iter_partitions(sources, skip={1}))
    assert items[1] == 2 and [len(i) if isinstance(i, Partition) else i for i in items] == [2, 2, 1, 2, 1]
    ids = [i.attributes["id"].tolist() for i in items if isinstance(i, Partition)]
    assert ids == [[0, 1], [4], [10, 11], [12]] and [i.index for i in items if isinstance(i, Partition)] == [0, 2, 3, 4]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no"):
        input_files(empty)


def test_finished_parts_are_the_renamed_files(tmp_path):
    for name in (part_name(0), part_name(7), ".part-00001.parquet.partial.parquet", "part-x.parquet"):
        (tmp_path / name).write_text("")
    assert part_name(7) == "part-00007.parquet" and finished_parts(tmp_path) == {0, 7}
