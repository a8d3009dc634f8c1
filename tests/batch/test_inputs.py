"""Input formats: JSONL, CSV, TSV, Parquet (with pyarrow), read one row at a time."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest

from llmplug.batch import InputRow, arun_batch, read_rows
from llmplug.batch._rows import count_rows
from llmplug.errors import ConfigError

from .conftest import read_output
from .stub import Stub


def _rows(path: Path, **options: Any) -> list[InputRow]:
    return list(read_rows(path, **options))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("in.csv", 'id,text\n1,hello\n2,"two, with a comma"\n', id="csv"),
        pytest.param("in.tsv", "id\ttext\n1\thello\n2\ttwo, with a comma\n", id="tsv"),
        pytest.param(
            "in.jsonl",
            '{"id": "1", "text": "hello"}\n\n{"id": "2", "text": "two, with a comma"}\n',
            id="jsonl",
        ),
    ],
)
def test_text_formats_give_the_same_rows(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    rows = _rows(path)
    assert rows == [
        InputRow(0, "1", {"id": "1", "text": "hello"}),
        InputRow(1, "2", {"id": "2", "text": "two, with a comma"}),
    ]
    assert count_rows(path) == 2


def test_a_csv_row_with_more_cells_than_names_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("\ufeffid,text\n1,a\n2,b,extra\n", encoding="utf-8")  # with a BOM
    rows = _rows(path)
    assert rows[0].id == "1"  # the byte-order mark is not part of the name
    assert rows[1].problem == "line 3 has more cells than the header"


def test_parquet_is_read_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "in.parquet"
    table = pyarrow.table({"id": list(range(3000)), "text": [f"t{i}" for i in range(3000)]})
    parquet.write_table(table, path, row_group_size=700)
    rows = _rows(path)
    assert [r.id for r in rows] == list(range(3000))
    assert rows[2999].fields == {"id": 2999, "text": "t2999"}
    assert count_rows(path) == 3000


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    path = tmp_path / "in.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ConfigError, match="pip install pyarrow"):
        _rows(path)


@pytest.mark.parametrize(
    ("name", "given", "message"),
    [
        pytest.param("in.txt", None, "cannot tell the format", id="unknown-extension"),
        pytest.param("in.jsonl", "xml", "unknown input format 'xml'", id="unknown-format"),
        pytest.param("missing.jsonl", None, "cannot read the input", id="missing"),
    ],
)
def test_inputs_that_cannot_be_read(
    tmp_path: Path, name: str, given: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _rows(tmp_path / name, format=given)


def test_the_format_may_be_named(tmp_path: Path) -> None:
    path = tmp_path / "rows.txt"
    path.write_text('{"id": 1}\n', encoding="utf-8")
    assert _rows(path, format="jsonl") == [InputRow(0, 1, {"id": 1})]


def test_another_id_field(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"key": "k1", "id": "ignored"}\n{"key": 3.5}\n', encoding="utf-8")
    rows = _rows(path, id_field="key")
    assert rows[0].id == "k1"
    assert rows[1].problem == "row 1: its id must be a text or an integer, not a float"


async def test_a_csv_job(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,city\nA,Paris\nB,Rome\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    await arun_batch(path, out, stub.spec(), prompt="Where is {city}?")
    answers = {r["id"]: r["answer"] for r in read_output(out)}
    assert answers == {"A": "echo: Where is Paris?", "B": "echo: Where is Rome?"}
    assert json.loads(out.read_text().splitlines()[0])["usage"]["input_tokens"] == 3
