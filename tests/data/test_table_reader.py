"""The one table reader: every format (plain and .gz, local and tf.io.gfile), row numbers in every
error, and streaming (reading the first row holds a tiny fraction of the file in memory)."""

import gzip
import json
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tfssl.data.corpus import CorpusError
from tfssl.data.labeled_sources import LabeledDataError
from tfssl.data.sentence_pairs import PairFileError
from tfssl.data.sts_pairs import STSFormatError
from tfssl.data.table_reader import TableError, file_suffix, iter_lines, iter_rows

RECORDS = [{"text": "hello, world", "label": "pos"}, {"text": 'say "hi"', "label": "neg"}]


def write(path, data):
    """Writes str or bytes; a `.gz` path is gzip-compressed."""
    data = data.encode("utf-8") if isinstance(data, str) else data
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)
    return str(path)


def table_files(directory, gz):
    """The same two records in every format."""
    suffix = ".gz" if gz else ""
    files = {
        "csv": write(directory / f"t.csv{suffix}", 'text,label\n"hello, world",pos\n"say ""hi""",neg\n'),
        "tsv": write(directory / f"t.tsv{suffix}", 'text\tlabel\nhello, world\tpos\nsay "hi"\tneg\n'),
        "jsonl": write(directory / f"t.jsonl{suffix}", "".join(json.dumps(r) + "\n" for r in RECORDS)),
        "json": write(directory / f"t.json{suffix}", "".join(json.dumps(r) + "\n" for r in RECORDS)),
    }
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(RECORDS), sink)
    files["parquet"] = write(directory / f"t.parquet{suffix}", sink.getvalue().to_pybytes())
    return files


# ---- formats ----


@pytest.mark.parametrize("gz", [False, True])
def test_every_format_yields_the_same_records_with_its_row_numbers(tmp_path, gz):
    files = table_files(tmp_path, gz)
    expected_rows = {"csv": [2, 3], "tsv": [2, 3], "jsonl": [1, 2], "json": [1, 2], "parquet": [0, 1]}
    for name, path in files.items():
        rows = list(iter_rows(path))
        assert [record for _, record in rows] == RECORDS, name
        assert [row for row, _ in rows] == expected_rows[name], name
        selected = list(iter_rows(path, ["label"]))
        assert [record for _, record in selected] == [{"label": "pos"}, {"label": "neg"}], name


def test_tf_io_gfile_paths_are_read_through_tensorflow(tmp_path):
    import tensorflow as tf

    with tf.io.gfile.GFile("ram://tables/t.jsonl", "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in RECORDS))
    assert [record for _, record in iter_rows("ram://tables/t.jsonl")] == RECORDS


def test_row_numbers_are_the_lines_records_start_on(tmp_path):
    # Blank lines count but are skipped; a quoted cell over two lines makes the next row jump.
    path = write(tmp_path / "d.csv", '\ufefftext,label\n"one",1\n\n  \n"two\nlines",2\nthree,3\n')
    assert list(iter_rows(path)) == [(2, {"text": "one", "label": "1"}), (5, {"text": "two\nlines", "label": "2"}),
                                     (7, {"text": "three", "label": "3"})]
    path = write(tmp_path / "d.jsonl", '{"a": 1}\n\n{"a": 2}\n')
    assert [row for row, _ in iter_rows(path)] == [1, 3]


def test_tsv_has_no_quote_handling_and_headerless_rows_are_positional(tmp_path):
    path = write(tmp_path / "sts.csv", 'g\t4.0\t"A man\tA "man".\textra\n\ng\t1\ta\tb\n')
    rows = list(iter_rows(path, {1: "score_column", 2: "first_column"}, file_format="tsv", header=False))
    assert rows == [(1, {1: "4.0", 2: '"A man'}), (3, {1: "1", 2: "a"})]
    with pytest.raises(TableError, match=r"sts\.csv, row 1: 2 tab-separated fields, need at least 4 "
                                         r"\(column 3, counting from 0\)\. Set first_column="):
        list(iter_rows(write(tmp_path / "sts.csv", "g\t1\n"), {1: "score_column", 3: "first_column"},
                       file_format="tsv", header=False))


def test_long_cells_are_read_whole(tmp_path):
    text = "word " * 60_000  # 300 KB in one cell: above the csv module's default 128 KiB field limit
    path = write(tmp_path / "long.csv", f'text\n"{text}"\n')
    assert next(iter_rows(path))[1]["text"] == text


def test_suffix_looks_through_gz():
    assert file_suffix("a/b.CSV.gz") == ".csv" and file_suffix("x.parquet") == ".parquet" and file_suffix("x") == ""


# ---- errors name the file, the row and the fix ----


def test_bad_json_line_and_non_object_name_the_row(tmp_path):
    path = write(tmp_path / "bad.jsonl.gz", '{"text": "ok"}\n\n{not json}\n')
    with pytest.raises(TableError, match=r"bad\.jsonl\.gz, row 3: not valid JSON .*one JSON object"):
        list(iter_rows(path))
    path = write(tmp_path / "list.json", '[{"text": "a"}]\n')
    with pytest.raises(TableError, match=r"list\.json, row 1: expected a JSON object, got list"):
        list(iter_rows(path))


def test_missing_column_lists_the_columns_that_exist_and_the_option(tmp_path):
    files = table_files(tmp_path, gz=False)
    for name in ("csv", "tsv", "parquet"):  # checked once, against the header or the schema
        with pytest.raises(TableError, match=r"t\.\w+: no column 'body' \(columns: \['text', 'label'\]\)\. "
                                             r"Set text_column=\.\.\. to the column that holds it"):
            list(iter_rows(files[name], {"body": "text_column"}))
    path = write(tmp_path / "m.jsonl", '{"text": "a"}\n{"txt": "b"}\n')  # checked on every row
    with pytest.raises(TableError, match=r"m\.jsonl, row 2: no column 'text' \(columns: \['txt'\]\)"):
        list(iter_rows(path, ["text"]))


def test_short_and_long_rows_name_the_row(tmp_path):
    with pytest.raises(TableError, match=r"s\.csv, row 3: 1 fields but the header has 2\. Quote texts"):
        list(iter_rows(write(tmp_path / "s.csv", "text,label\na,1\nb\n")))
    with pytest.raises(TableError, match=r"l\.tsv, row 2: 3 fields but the header has 2\. Remove tabs"):
        list(iter_rows(write(tmp_path / "l.tsv", "text\tlabel\na\tb\t1\n")))


@pytest.mark.parametrize("name", ["u.csv", "u.jsonl", "u.tsv.gz"])
def test_undecodable_bytes_name_the_file_and_row(tmp_path, name):
    lines = ["text,label\n", "ok,1\n", "caf\xe9,0\n"] if ".csv" in name else [
        "text\tlabel\n", "ok\t1\n", "caf\xe9\t0\n"] if ".tsv" in name else [
        '{"text": "ok"}\n', '{"text": "fine"}\n', '{"text": "caf\xe9"}\n']
    path = write(tmp_path / name, "".join(lines).encode("latin-1"))
    rows = iter_rows(path)
    assert next(rows)[1]["text"] in ("ok", "fine")  # rows before the bad bytes are read
    with pytest.raises(TableError, match=rf"{name.replace('.', '[.]')}, row 3: not UTF-8 .*Convert the file to UTF-8"):
        list(rows)


def test_unsupported_missing_and_broken_files(tmp_path):
    with pytest.raises(TableError, match=r"d\.xml: unsupported table type '\.xml'"):
        iter_rows(write(tmp_path / "d.xml", "<a/>"))
    with pytest.raises(TableError, match=r"nope\.csv: cannot read it"):
        list(iter_rows(str(tmp_path / "nope.csv")))
    with pytest.raises(TableError, match=r"fake\.parquet: not a readable Parquet file"):
        list(iter_rows(write(tmp_path / "fake.parquet", "text\nnot parquet\n")))
    whole = gzip.compress(b"".join(b'{"text": "%d"}\n' % i for i in range(5000)))
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(TableError, match=r"cut\.jsonl\.gz: cannot read past row \d+ .*truncated \.gz"):
        list(iter_rows(str(tmp_path / "cut.jsonl.gz")))


def test_each_reader_raises_its_own_error_class_and_all_are_table_errors(tmp_path):
    for error_type in (CorpusError, LabeledDataError, PairFileError, STSFormatError):
        assert issubclass(error_type, TableError) and issubclass(error_type, ValueError)
        with pytest.raises(error_type, match=r"row 2: not valid JSON"):
            list(iter_rows(write(tmp_path / "e.jsonl", '{"a": 1}\n{\n'), error_type=error_type))


def test_iter_lines_drops_the_bom_and_keeps_line_endings(tmp_path):
    path = write(tmp_path / "t.txt", "\ufeffone\r\ntwo")
    assert list(iter_lines(path)) == [(1, "one\r\n"), (2, "two")]


# ---- streaming ----


def test_reading_the_first_row_of_a_large_jsonl_file_does_not_read_the_file(tmp_path):
    path = tmp_path / "big.jsonl"
    line = json.dumps({"text": "x" * 1000}) + "\n"
    with open(path, "w") as f:
        f.writelines(line for _ in range(40_000))  # ~40 MB
    size = path.stat().st_size
    tracemalloc.start()
    try:
        rows = iter_rows(str(path), ["text"])
        row, record = next(rows)
        _, peak = tracemalloc.get_traced_memory()
        rows.close()
    finally:
        tracemalloc.stop()
    assert row == 1 and len(record["text"]) == 1000
    assert peak < size / 100, (peak, size)  # a few lines and buffers, not 40 MB


def test_parquet_is_read_one_batch_at_a_time(tmp_path):
    path = str(tmp_path / "big.parquet")
    texts = pa.array(["y" * 500] * 40_000)  # ~20 MB of text
    pq.write_table(pa.table({"text": texts, "other": texts}), path, row_group_size=2_000, compression="none")
    before = pa.total_allocated_bytes()
    rows = iter_rows(path, ["text"], batch_size=100)
    row, record = next(rows)
    held = pa.total_allocated_bytes() - before  # Arrow's own memory pool: what tracemalloc cannot see
    assert row == 0 and record == {"text": "y" * 500}
    assert held < 20_000_000 / 100, held  # one 2,000-row group of one column at most, not the file
    assert sum(1 for _ in rows) == 39_999
