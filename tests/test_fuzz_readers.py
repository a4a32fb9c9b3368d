"""Reader fuzzing: fixture files of every format, mutated byte by byte and line by line.

Each mutated file is either read with every record accounted for, or refused with an
``ImportFormatError`` whose message starts with the file's name; never another exception.
Through the service, a refused file leaves the store as it was. Bounded to a few seconds;
``FUZZ_EXAMPLES`` (``make fuzz``) runs more."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import read_records
from index.errors import ImportFormatError
from index.readers import _decode
from tests.conftest import DATA

IMPORT = DATA / "import"
FIXTURES = {
    "ris": IMPORT / "asreview_demo_data" / "baseline_tag-notes_labels.ris",
    "ris-zotero": IMPORT / "asreview_demo_data" / "pubmed_zotero.ris",
    "csv": IMPORT / "asreview_demo_data" / "generic_labels.csv",
    "tsv": IMPORT / "asreview_demo_data" / "generic_tab.tsv",
    "medline": IMPORT / "rendered" / "pubmed_xml_sample.nbib",
    "xml": IMPORT / "asreview_demo_data_historic" / "pubmed.xml",
    "bibtex": IMPORT / "rendered" / "cohen_adhd_sample.bib",
}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))


def source(fmt: str) -> bytes:
    """The fixture's bytes; BibTeX cut to its first three entries (bibtexparser is slow)."""
    data = FIXTURES[fmt].read_bytes()
    if fmt == "bibtex":
        starts = [m.start() for m in re.finditer(rb"(?m)^@", data)]
        data = data[: starts[3]]
    return data


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize="FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Bytes that break formats: delimiters, quotes, markers, line ends, a BOM, a NUL, non-UTF-8.
NASTY = [
    b"\n", b"\r", b"\r\n", b",", b";", b"\t", b'"', b"'", b"[", b"]", b"{", b"}", b"@", b"%",
    b"<", b">", b"&", b"<!--", b"-->", b"TY  - JOUR\n", b"ER  - \n", b" ", b"PMID- 1\n",
    b"\xef\xbb\xbf", b"\x00", b"\xff\xfe", b"\xe9", b"$\\x$", b"=cmd()",
]  # fmt: skip


@st.composite
def mutated(draw, source: bytes) -> bytes:
    """``source`` with one to three mutations: bytes deleted, inserted, a line duplicated,
    dropped, indented or prefixed with a BOM, or the file cut short."""
    data = source
    for _ in range(draw(st.integers(1, 3))):
        lines = data.split(b"\n")
        kind = draw(st.sampled_from(["delete", "insert", "dup", "drop", "indent", "bom", "cut"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        line = draw(st.integers(0, max(len(lines) - 1, 0)))
        if kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 64)) :]
        elif kind == "insert":
            piece = draw(st.one_of(st.sampled_from(NASTY), st.binary(min_size=1, max_size=8)))
            data = data[:at] + piece + data[at:]
        elif kind == "dup":
            data = b"\n".join([*lines[: line + 1], lines[line], *lines[line + 1 :]])
        elif kind == "drop":
            data = b"\n".join(lines[:line] + lines[line + 1 :])
        elif kind == "indent":
            data = b"\n".join([*lines[:line], b" " + lines[line], *lines[line + 1 :]])
        elif kind == "bom":
            data = b"\n".join([*lines[:line], b"\xef\xbb\xbf" + lines[line], *lines[line + 1 :]])
        else:
            data = data[:at]
    return data


def expected_records(fmt: str, path: Path) -> int | None:
    """How many records the file holds by a rule independent of the reader, where there is
    a simple one; ``None`` otherwise."""
    text = _decode(path)  # the reader's decoding (UTF-8, else cp1252), BOMs and CRs gone
    if fmt == "medline":
        return len(re.findall(r"^PMID- ", text, re.MULTILINE))
    if fmt.startswith("ris"):
        # Records start at a TY line outside a record (indented or not) and end at ER.
        count, inside = 0, False
        for line in text.split("\n"):
            if not inside and line.lstrip().startswith("TY"):
                count, inside = count + 1, True
            elif inside and line.startswith("ER  -"):
                inside = False
        return count
    if fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        rows = csv.reader(text.split("\n"), delimiter=delimiter)
        filled = [row for row in rows if any(cell.strip() for cell in row)]
        return len(filled) - 1  # the header
    if fmt == "bibtex":
        return _bibtex_entries(text)
    return None


def _bibtex_entries(text: str) -> int:
    """Entries: '@type{' outside entries (braces count only inside one), comments, strings
    and preambles left out."""
    count, depth, at = 0, 0, 0
    entry = re.compile(r"@\s*(\w+)\s*\{")
    while at < len(text):
        if depth == 0:
            match = entry.search(text, at)
            if match is None:
                break
            count += match[1].lower() not in ("comment", "string", "preamble")
            depth, at = 1, match.end()
            continue
        char = text[at]
        if char in "{}" and text[at - 1] != "\\":
            depth += 1 if char == "{" else -1
        at += 1
    return count


def check_read(fmt: str, path: Path) -> None:
    try:
        records = read_records(path)
    except ImportFormatError as e:
        assert str(e).startswith(path.name), str(e)
        return
    assert records
    expected = expected_records(fmt, path)
    if expected is not None:
        assert len(records) == expected, (fmt, len(records), expected)
    for record in records:
        assert record.line is None or record.line >= 1


@pytest.mark.parametrize("fmt", sorted(FIXTURES))
def test_mutated_files_are_read_whole_or_refused_by_name(fmt, tmp_path):
    path = tmp_path / f"mutant{FIXTURES[fmt].suffix}"

    @FUZZ
    @given(data=mutated(source(fmt)))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        check_read(fmt, path)

    run()


@settings(
    max_examples=max(EXAMPLES // 4, 10),
    deadline=None,
    database=None,
    derandomize="FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fmt=st.sampled_from(sorted(FIXTURES)), data=st.data())
def test_a_refused_file_leaves_the_store_as_it_was(service, tmp_path, fmt, data):
    name = "fz"
    if not any(p.name == name for p in service.projects()):
        service.create_project(name)
    pid = service.project(name).project_id
    before = service.store.stats(pid)
    path = tmp_path / f"mutant{FIXTURES[fmt].suffix}"
    path.write_bytes(data.draw(mutated(source(fmt))))
    try:
        service.import_files(name, [path], ignore_labels=True)
    except ImportFormatError as e:
        assert str(e).startswith(path.name), str(e)
        assert service.store.stats(pid) == before
