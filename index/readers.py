"""Readers for search exports: RIS, CSV/TSV, PubMed MEDLINE and XML, BibTeX.

``read_records(path)`` turns one file into ``Record`` objects and nothing else: readers never touch
the store. The format comes from the extension; a ``.txt`` is sniffed (RIS, MEDLINE or a table) and
a table's delimiter is sniffed from its header. Every problem is an ``ImportFormatError`` (or one of
its subclasses) whose message starts with the file name and the line, and names the column or tag.

Records without a title or an abstract are returned as read (``Record.has_text`` is false); what to
do with them is the importer's decision.
"""

from __future__ import annotations

import codecs
import csv
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from collections.abc import Callable, Iterator
from dataclasses import fields as dataclass_fields
from pathlib import Path

import bibtexparser
import rispy
from bibtexparser.middlewares import (
    LatexDecodingMiddleware,
    NormalizeFieldKeys,
    SeparateCoAuthors,
)
from bibtexparser.model import ImplicitComment

from index.errors import (
    EmptyImportError,
    FieldTooLargeError,
    ImportFormatError,
    UnsupportedFormatError,
)
from index.records import Label, Record

__all__ = [
    "EXPORT_MARKER",
    "MAX_FIELD_CHARS",
    "SUPPORTED_EXTENSIONS",
    "detect_format",
    "read_records",
]

SUPPORTED_EXTENSIONS = (".ris", ".txt", ".csv", ".tsv", ".tab", ".nbib", ".xml", ".bib")
# The last column of screenwise's CSV export (webapi/writers.py), with the export's version in
# every row: such a file had ``'`` put before cells a spreadsheet would read as formulas, which
# the reader takes off again, and carries decisions with their reason and note.
EXPORT_MARKER = "screenwise_export"
EXPORT_VERSION = "1"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The longest field a record may have (characters). The longest abstract in the shared data
# sets has about 6,000; a multi-megabyte one is a broken export, and would take the embedder
# gigabytes of memory.
MAX_FIELD_CHARS = 100_000

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

Reader = Callable[[str, str, bool], list[Record]]


def read_records(
    path: str | Path, *, ignore_labels: bool = False, max_field_chars: int | None = None
) -> list[Record]:
    """Read every record of one export file.

    Labels found in the file (a label column, ASReview notes in RIS) become ``Record.label``
    unless ``ignore_labels``, in which case every label is ``None`` and label values are not
    checked. Raises ``UnsupportedFormatError`` for a file type screenwise does not read,
    ``EmptyImportError`` for a file without records, ``FieldTooLargeError`` for a field longer
    than ``max_field_chars`` (default ``MAX_FIELD_CHARS``) and ``ImportFormatError`` for
    anything else. A record is never skipped: what cannot be read as a record refuses the
    whole file, naming the line.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormatError(
            f"{path.name}: unsupported file type {suffix or '(no extension)'!r}; "
            f"screenwise reads {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    text = _decode(path)
    if not text or text.isspace():
        raise EmptyImportError(f"{path.name}: the file is empty")
    reader = _READERS[suffix] if suffix != ".txt" else _sniff_txt(path.name, text)
    records = reader(text, path.name, ignore_labels)
    if not records:
        raise EmptyImportError(f"{path.name}: no records found")
    for record in records:
        _check_sizes(record, path.name, max_field_chars or MAX_FIELD_CHARS)
    return records


_TEXT_FIELDS = tuple(
    f.name for f in dataclass_fields(Record) if f.name not in ("year", "label", "line")
)


def _check_sizes(record: Record, name: str, limit: int) -> None:
    """``FieldTooLargeError`` naming the first field of ``record`` longer than ``limit``."""
    for field in _TEXT_FIELDS:
        value = getattr(record, field)
        if isinstance(value, dict):
            size = sum(len(k) + len(v) for k, v in value.items())
        elif isinstance(value, list):
            size = sum(len(item) for item in value)
        elif isinstance(value, str):
            size = len(value)
        else:
            continue
        if size > limit:
            where = name if record.line is None else f"{name}, line {record.line}"
            raise FieldTooLargeError(
                f"{where}, field {field!r}: {size:,} characters, more than the "
                f"{limit:,} screenwise stores; is the file broken?"
            )


def detect_format(path: str | Path) -> str:
    """The format ``read_records`` reads ``path`` as: ris, table, medline, pubmed-xml or bibtex."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormatError(f"{path.name}: unsupported file type {suffix!r}")
    reader = _READERS[suffix] if suffix != ".txt" else _sniff_txt(path.name, _decode(path))
    return _FORMAT_NAMES[reader]


def _decode(path: Path) -> str:
    """File text with BOMs removed and every line ending turned into ``\\n``."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImportFormatError(f"{path.name}: cannot read the file ({e.strerror})") from e
    if data.startswith(_UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise _error(path.name, None, f"broken UTF-16 text at byte {e.start}") from e
    else:
        nul = data.find(b"\x00")
        if nul != -1:
            line = data.count(b"\n", 0, nul) + 1
            raise _error(
                path.name, line, f"binary content (NUL byte at offset {nul}), not a text export"
            )
        text = _decode_text(data)
    # A byte-order mark inside the text (files joined by a tool) is no character of it.
    return text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")


def _decode_text(data: bytes) -> str:
    """UTF-8 with or without a BOM, else cp1252 (what Windows tools such as EndNote and Excel
    write), else latin-1, which decodes any byte."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _sniff_txt(name: str, text: str) -> Reader:
    """The reader for a ``.txt`` export: PubMed MEDLINE, RIS, or else a delimited table."""
    head = text[:8192].lstrip()[:4096]
    if head.startswith("PMID-"):
        return _read_medline
    if re.search(r"^TY  -", text, re.MULTILINE):
        return _read_ris
    if head.startswith("FN ") and "\nPT " in head:
        raise UnsupportedFormatError(
            f"{name}, line 1: Web of Science plain-text format is not supported; "
            "export the records as RIS or tab-delimited instead"
        )
    return _read_table


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _error(
    name: str, line: int | None, problem: str, column: str | None = None
) -> ImportFormatError:
    """The one shape of every reader error: ``file, line N, column 'c': problem``."""
    where = name if line is None else f"{name}, line {line}"
    if column is not None:
        where += f", column {column!r}"
    return ImportFormatError(f"{where}: {problem}")


# Shared value parsing --------------------------------------------------------------------------

_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")

LABEL_VALUES: dict[str, Label | None] = {
    "1": 1, "1.0": 1, "yes": 1, "y": 1, "true": 1, "include": 1, "included": 1, "relevant": 1,
    "0": 0, "0.0": 0, "no": 0, "n": 0, "false": 0, "exclude": 0, "excluded": 0, "irrelevant": 0,
    "": None, "-1": None, "nan": None,
}  # fmt: skip


def _parse_year(value: str) -> int | None:
    """Year of a date-like value ('2011///', '2011 Jan', '2014.0' give 2011, 2011, 2014).

    ``None`` when the value has no digits at all ('', 'n.d.', 'nan'). A value with digits but no
    four-digit year ('10 15') raises ``ValueError``: guessing would be wrong, and ASReview's tests
    expect such a file to fail (``test_load_faulty_year_dataset``).
    """
    if not any(ch.isdigit() for ch in value):
        return None
    match = _YEAR.search(value)
    if match is None:
        raise ValueError(f"{value.strip()!r} is not a year")
    # '0000' is what reference managers write when the year is unknown.
    return int(match.group(1)) or None


def _parse_label(value: str) -> Label | None:
    try:
        return LABEL_VALUES[value.strip().lower()]
    except KeyError:
        raise ValueError(f"label {value.strip()!r} is not one of 1/0, yes/no or empty") from None


# One quoted item of a list of strings as Python prints it, and the comma after it.
_LIST_ITEM = re.compile(r"""\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*(?:,|$)""", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


def _python_list(value: str) -> list[str] | None:
    """Items of a list of strings as pandas writes it ("['a', 'b']"), else ``None``.

    Parsed by a regular expression, never evaluated: a cell is data, and ``ast.literal_eval``
    on a hostile cell can exhaust memory."""
    if not (value.startswith("[") and value.endswith("]")):
        return None
    inner, items, position = value[1:-1].strip(), [], 0
    while position < len(inner):
        match = _LIST_ITEM.match(inner, position)
        if match is None or match.end() == position:
            return None
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        items.append(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), quoted, flags=re.DOTALL))
        position = match.end()
    return [item.strip() for item in items if item.strip()]


# How one cell splits when it is neither a list literal nor ';'-separated. Authors end in an
# initial ('Liu R., Adler D.G.', 'Achenbach, T. M., Rescorla, L. A.'); keywords may hold commas
# inside parentheses ('cyst (diagnosis, surgery), colonoscopy').
_AUTHOR_SEPARATOR = r"(?<=\.),\s+"
_KEYWORD_SEPARATOR = r",(?![^()]*\))"


def _split_cell(value: str, separator: str) -> list[str]:
    """Items of one cell: a Python list literal, else ';'-separated, else split on ``separator``."""
    value = value.strip()
    items = _python_list(value)
    if items is not None:
        return items
    return [
        part.strip() for part in re.split(";" if ";" in value else separator, value) if part.strip()
    ]


def _language_extra(languages: list[str]) -> dict[str, str]:
    """A record's languages as read (``index.limits`` normalises them), kept in ``extra``."""
    joined = "; ".join(_unique([language.strip() for language in languages if language.strip()]))
    return {"language": joined} if joined else {}


def _first(*values: str | None) -> str:
    return next((value.strip() for value in values if value and value.strip()), "")


def _as_list(value: str | list[str] | None) -> list[str]:
    return value if isinstance(value, list) else [value] if value else []


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in items if item and item.strip()))


# RIS ------------------------------------------------------------------------------------------

# ASReview writes its labels as RIS notes (asreview/data/ris.py); older versions used an LI tag.
RIS_NOTE_LABELS: dict[str, Label | None] = {
    "ASReview_relevant": 1,
    "ASReview_irrelevant": 0,
    "ASReview_not_seen": None,
}
_RIS_MAPPING = {**rispy.TAG_KEY_MAPPING, "LI": "label_li", "PM": "pubmed_id"}
# An accession number is a PMID only when the database says the record came from PubMed.
_PUBMED_DATABASE = re.compile(r"\b(nlm|pubmed|medline)\b", re.IGNORECASE)
_ZOTERO_P_TAGS = re.compile(r"^<p>|</p>$")
_RIS_IGNORED_OUTSIDE = frozenset({"ER", "UK"})
_SCREENWISE_NOTE = re.compile(
    r"^screenwise (?P<key>decision|reason|note|themes|selected for): (?P<value>.*)$"
)


def _ris_tag(line: str) -> str | None:
    """The tag of a RIS line ('TY  - JOUR' -> 'TY'), by the rule rispy parses with."""
    if line[2:5] == "  -" and line[:2].isupper() and line[:1].isalpha():
        return line[:2]
    return None


def _ris_record_lines(lines: list[str], name: str) -> list[int]:
    """The TY line of every record, the way rispy walks the file; unclosed records fail.

    rispy drops a record that has no ER line and merges a record into the next one when an ER
    is missing between them, so both are caught here with the line where the record starts.
    """
    starts: list[int] = []
    inside = False
    for number, line in enumerate(lines, 1):
        tag = _ris_tag(line)
        if not inside:
            if line.startswith("TY"):
                starts.append(number)
                inside = True
        elif tag == "ER":
            inside = False
        elif tag == "TY":
            raise _error(
                name, number, f"new record (TY) before the record of line {starts[-1]} has its ER"
            )
    if inside:
        raise _error(name, starts[-1], "record has no ER line; the file looks cut off")
    return starts


def _ris_tag_line(lines: list[str], start: int, wanted: str) -> int:
    """Line of the ``wanted`` tag in the record that starts on line ``start``."""
    for number in range(start, len(lines) + 1):
        tag = _ris_tag(lines[number - 1])
        if tag == wanted:
            return number
        if tag == "ER":
            break
    return start


def _ris_outside_records(lines: list[str], name: str) -> list[str]:
    """The lines with what lies between records made plain: a ``TY`` line indented by a tool
    starts its record like any other, and a field of a record (title, authors...) there
    refuses the file: it belongs to no record, and rispy would drop it with its record
    unsaid. Stray ``ER`` lines and unknown tags are left to be ignored, as rispy does."""
    inside = False
    out = []
    for number, line in enumerate(lines, 1):
        if not inside:
            stripped = line.lstrip()
            tag = _ris_tag(stripped)
            if tag == "TY" or (stripped.startswith("TY") and line.startswith("TY")):
                line, inside = stripped, True
            elif tag in _RIS_MAPPING and tag not in _RIS_IGNORED_OUTSIDE:
                raise _error(
                    name, number, f"RIS tag {tag!r} outside a record (no 'TY  -' line before it)"
                )
        elif _ris_tag(line) == "ER":
            inside = False
        out.append(line)
    return out


def _read_ris(text: str, name: str, ignore_labels: bool) -> list[Record]:
    lines = _ris_outside_records(text.split("\n"), name)
    starts = _ris_record_lines(lines, name)
    entries = rispy.loads("\n".join(lines), mapping=_RIS_MAPPING, skip_unknown_tags=True)
    if len(entries) != len(starts):
        raise _error(
            name, None, f"{len(starts)} records start (TY) but {len(entries)} could be read"
        )
    return [
        _ris_record(entry, start, lines, name, ignore_labels)
        for entry, start in zip(entries, starts, strict=True)
    ]


def _ris_record(
    entry: dict, start: int, lines: list[str], name: str, ignore_labels: bool
) -> Record:
    notes = [_ZOTERO_P_TAGS.sub("", note) for note in entry.get("notes", [])]
    # screenwise's own notes (webapi/writers.py): the decision, its reason and note, themes.
    own = {
        match["key"]: match["value"].strip()
        for note in notes
        if (match := _SCREENWISE_NOTE.match(note.strip()))
    }
    notes = [note for note in notes if not _SCREENWISE_NOTE.match(note.strip())]
    label: Label | None = None
    if not ignore_labels:
        label = _ris_notes_label(notes)
        if label is None and entry.get("label_li"):
            try:
                label = _parse_label(entry["label_li"])
            except ValueError as e:
                raise _error(name, _ris_tag_line(lines, start, "LI"), f"LI {e}") from e
    year_tag = "PY" if entry.get("year") else "Y1"
    try:
        year = _parse_year(entry.get("year") or entry.get("publication_year") or "")
    except ValueError as e:
        raise _error(name, _ris_tag_line(lines, start, year_tag), f"{year_tag} {e}") from e

    database = _first(entry.get("name_of_database"), entry.get("database_provider"))
    accession = _first(entry.get("accession_number"))
    pmid = _first(entry.get("pubmed_id"))
    if not pmid and accession.isdigit() and _PUBMED_DATABASE.search(database):
        pmid = accession
    # M3, the type of work (a database's document type), may name the study type.
    type_of_work = "; ".join(_unique(_as_list(entry.get("type_of_work"))))
    extra = {
        key: value
        for key, value in (
            ("accession_number", accession),
            ("database", database),
            ("language", _first(entry.get("language"))),
            ("type_of_work", type_of_work),
        )
        if value
    }
    return Record(
        title=_first(entry.get("title"), entry.get("primary_title")),
        abstract=_first(entry.get("abstract"), entry.get("notes_abstract")),
        # ASReview reads AU and A1 both as authors (asreview/data/ris.py, clean_data).
        authors=_unique(entry.get("authors", []) + entry.get("first_authors", [])),
        year=year,
        journal=_first(
            entry.get("alternate_title3"),  # JF, the full journal name
            entry.get("journal_name"),  # JO
            entry.get("secondary_title"),  # T2
            entry.get("alternate_title1"),  # J2
            entry.get("alternate_title2"),  # JA
        ),
        doi=_first(entry.get("doi")),
        pmid=pmid,
        url=_first(*entry.get("urls", [])),
        keywords=_unique(entry.get("keywords", [])),
        ref_type=_first(entry.get("type_of_reference")),
        source_id=_first(entry.get("id"), pmid),
        label=label,
        themes=[t.strip() for t in own.get("themes", "").split(";") if t.strip()],
        notes="\n".join(note for note in notes if note.strip() not in RIS_NOTE_LABELS),
        maybe=not ignore_labels and own.get("decision", "").startswith("maybe "),
        decision_reason="" if ignore_labels or "decision" not in own else own.get("reason", ""),
        decision_note="" if ignore_labels or "decision" not in own else own.get("note", ""),
        line=start,
        extra=extra,
    )


def _ris_notes_label(notes: list[str]) -> Label | None:
    """The first ASReview label mentioned in a record's notes, as ASReview parses it."""
    for note in notes:
        for marker, label in RIS_NOTE_LABELS.items():
            if marker in note:
                return label
    return None


# Tables: CSV, TSV, semicolon ------------------------------------------------------------------

# Field -> accepted column names in order of preference; matched without case, spaces or
# punctuation ("Article Title" == "article_title"). Embase, Scopus and Web of Science
# (tab-delimited) export names are included.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "primary_title", "Article Title", "Document Title", "TI", "T1"),
    "abstract": ("abstract", "notes_abstract", "AB", "N2"),
    "label": (
        "label_included",
        "final_included",
        "included_final",
        "included",
        "label",
        "included_label",
        "included_flag",
        "include",
        "label_abstract_screening",
    ),
    "doi": ("doi", "DI", "DO"),
    "pmid": ("pmid", "PubMed ID", "Medline PMID", "pubmed_id", "PM"),
    "year": ("year", "publication_year", "Publication Year", "PY", "Y1"),
    "authors": (
        "authors",
        "Author(s)",
        "Author Names",
        "first_authors",
        "Author full names",
        "AU",
        "AF",
    ),
    "keywords": ("keywords", "Author Keywords", "MeSH", "MeSH Terms", "Index Keywords", "DE", "KW"),
    "journal": (
        "journal",
        "Source title",
        "secondary_title",
        "Journal Title",
        "SO",
        "JF",
        "JO",
        "T2",
    ),
    "url": ("url", "Link", "UR"),
    "source_id": ("record_id",),
    "themes": ("themes", "theme"),
    "ref_type": ("type_of_reference", "Document Type", "TY"),
}
# Embase's "Source" column holds the citation: "Cancer (2004) 102:4 (253-258). Date of ...".
_EMBASE_SOURCE = re.compile(r"^(?P<journal>.+?) \((?P<year>\d{4})\)")
_DELIMITERS = (",", ";", "\t")


def _column_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


# In screenwise's own export, ``record_id`` is the exporting screenwise's id: the record's id
# in its first file is ``source_id``; the decision's columns are read too.
_EXPORT_ALIASES: dict[str, tuple[str, ...]] = {
    "source_id": ("source_id",),
    "decision": ("decision",),
    "decision_reason": ("reason",),
    "decision_note": ("note",),
    "marker": (EXPORT_MARKER,),
}


def _match_columns(header: list[str], *, exported: bool = False) -> dict[str, int]:
    """Field -> column index, taking each field's most preferred alias that is present."""
    positions: dict[str, int] = {}
    for index, column in enumerate(header):
        positions.setdefault(_column_key(column), index)
    columns = {}
    aliases_of = COLUMN_ALIASES | _EXPORT_ALIASES if exported else COLUMN_ALIASES
    for field, aliases in aliases_of.items():
        index = next((positions[k] for k in map(_column_key, aliases) if k in positions), None)
        if index is not None:
            columns[field] = index
    if "journal" not in columns and "source" in positions:
        columns["embase_source"] = positions["source"]
    return columns


# A header line longer than this is no header (the csv module's own limit is 128 KiB).
MAX_HEADER_CHARS = 64 * 1024


def _sniff_delimiter(header_line: str, name: str) -> str:
    """The delimiter that splits the header line into the most columns (tab on a tie for .tsv)."""
    if len(header_line) > MAX_HEADER_CHARS:
        raise _error(
            name,
            1,
            f"the header line has {len(header_line):,} characters (at most "
            f"{MAX_HEADER_CHARS:,}); is this a table export?",
        )
    preferred = "\t" if name.lower().endswith((".tsv", ".tab")) else ","
    try:
        counts = {d: len(next(csv.reader([header_line], delimiter=d))) for d in _DELIMITERS}
    except csv.Error as e:
        raise _error(name, 1, f"malformed header line ({e})") from e
    best = max(counts.values())
    return preferred if counts[preferred] == best else max(counts, key=counts.__getitem__)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ``\n``, one small copy at a time (a ``StringIO``
    would copy a 200 MB export whole, at up to four bytes a character)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end + 1
        yield text[start:end]
        start = end


def _table_rows(text: str, delimiter: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) of every non-blank row after the header."""
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as e:
        if "field larger than field limit" in str(e):
            raise FieldTooLargeError(
                f"{name}, line {start}: a cell is longer than {csv.field_size_limit():,} "
                "characters; is the file broken?"
            ) from e
        problem = (
            "unterminated quoted field (the file ends inside quotes)"
            if "unexpected end of data" in str(e)
            else f"malformed row ({e})"
        )
        raise _error(name, start, problem) from e


def _read_table(text: str, name: str, ignore_labels: bool) -> list[Record]:
    # The header is the first line with text (rows that are blank are skipped alike).
    start = len(text) - len(text.lstrip("\n"))
    end = text.find("\n", start)
    delimiter = _sniff_delimiter(text[start : end if end != -1 else len(text)], name)
    rows = _table_rows(text, delimiter, name)
    _, header = next(rows, (1, []))
    exported = EXPORT_MARKER in header
    if exported:
        header = [_unquote_formula(cell) for cell in header]
    columns = _match_columns(header, exported=exported)
    if "title" not in columns and "abstract" not in columns:
        found = ", ".join(repr(column) for column in header) or "none"
        raise _error(name, 1, f"no title or abstract column; columns found: {found}")
    mapped = set(columns.values())
    if ignore_labels:
        columns.pop("label", None)
    seen_ids: dict[str, int] = {}
    records = []
    for line, cells in rows:
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            raise _error(name, line, f"row has {len(cells)} fields, the header has {len(header)}")
        cells = cells + [""] * (len(header) - len(cells))
        if exported:
            cells = [_unquote_formula(cell) for cell in cells]
        record = _table_record(cells, columns, header, name, line)
        if exported and not ignore_labels:
            _exported_decision(record, cells, columns, header, name, line)
        if "source_id" in columns and not exported:
            column = columns["source_id"]
            _check_record_id(cells[column].strip(), seen_ids, name, line, header[column])
        record.extra = {
            header[i]: cell.strip()
            for i, cell in enumerate(cells)
            if i not in mapped and cell.strip()
        }
        records.append(record)
    return records


def _table_record(
    cells: list[str], columns: dict[str, int], header: list[str], name: str, line: int
) -> Record:
    def cell(field: str) -> str:
        return cells[columns[field]].strip() if field in columns else ""

    def parsed(field: str, parse: Callable[[str], object]):
        try:
            return parse(cell(field))
        except ValueError as e:
            raise _error(name, line, str(e), column=header[columns[field]]) from e

    journal, year = cell("journal"), parsed("year", _parse_year)
    source = _EMBASE_SOURCE.match(cell("embase_source"))
    if source:
        journal = source["journal"]
        year = year if year is not None else int(source["year"])
    pmid = cell("pmid")
    return Record(
        title=cell("title"),
        abstract=cell("abstract"),
        authors=_split_cell(cell("authors"), _AUTHOR_SEPARATOR),
        year=year,
        journal=journal,
        doi=cell("doi"),
        pmid=pmid,
        url=cell("url"),
        keywords=_split_cell(cell("keywords"), _KEYWORD_SEPARATOR),
        ref_type=cell("ref_type"),
        source_id=cell("source_id") or pmid,
        label=parsed("label", _parse_label),
        themes=[theme.strip() for theme in cell("themes").split(";") if theme.strip()],
        line=line,
    )


def _unquote_formula(cell: str) -> str:
    """A cell of screenwise's export without the ``'`` the writer put before a formula."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_STARTS) else cell


def _exported_decision(
    record: Record,
    cells: list[str],
    columns: dict[str, int],
    header: list[str],
    name: str,
    line: int,
) -> None:
    """The decision of a row of screenwise's export (include, exclude or maybe), with its
    reason and note, onto ``record``."""
    if "decision" not in columns:
        return
    decision = cells[columns["decision"]].strip()
    if decision not in ("", "include", "exclude", "maybe"):
        raise _error(
            name,
            line,
            f"decision {decision!r} is not include, exclude, maybe or empty",
            column=header[columns["decision"]],
        )
    if decision:
        record.label = None if decision == "maybe" else int(decision == "include")
        record.maybe = decision == "maybe"
        for field in ("decision_reason", "decision_note"):
            if field in columns:
                setattr(record, field, cells[columns[field]].strip())


def _check_record_id(
    record_id: str, seen: dict[str, int], name: str, line: int, column: str
) -> None:
    """A ``record_id`` column must hold unique whole numbers, as ASReview requires."""
    if not re.fullmatch(r"[0-9]+", record_id):
        raise _error(name, line, f"record_id {record_id!r} is not a whole number", column=column)
    if record_id in seen:
        raise _error(
            name,
            line,
            f"record_id {record_id!r} repeats the one on line {seen[record_id]}",
            column=column,
        )
    seen[record_id] = line


# PubMed MEDLINE (.nbib) -----------------------------------------------------------------------

_MEDLINE_CONTINUATION = " " * 6


def _medline_records(text: str, name: str) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """(PMID line, [(tag, value)]) per record; wrapped values are joined with one space."""
    start, fields = 0, []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            if fields:
                yield start, fields
            fields = []
        elif line.startswith(_MEDLINE_CONTINUATION) and fields:
            tag, value = fields[-1]
            fields[-1] = (tag, f"{value} {line.strip()}")
        elif line[4:6] == "- " or line[4:].rstrip() == "-":
            tag, value = line[:4].rstrip(), line[6:].strip()
            if tag == "PMID" and fields:
                yield start, fields
                fields = []
            if not fields:
                if tag != "PMID":
                    raise _error(name, number, f"record starts with {tag!r}, expected 'PMID- '")
                start = number
            fields.append((tag, value))
        else:
            raise _error(
                name, number, "not a MEDLINE line ('TAG - value' or a 6-space continuation)"
            )
    if fields:
        yield start, fields


def _read_medline(text: str, name: str, ignore_labels: bool) -> list[Record]:
    return [_medline_record(fields, start, name) for start, fields in _medline_records(text, name)]


def _medline_record(fields: list[tuple[str, str]], start: int, name: str) -> Record:
    values: dict[str, list[str]] = {}
    for tag, value in fields:
        values.setdefault(tag, []).append(value)
    one = {tag: tag_values[0] for tag, tag_values in values.items()}
    try:
        year = _parse_year(one.get("DP", ""))
    except ValueError as e:
        raise _error(name, start, f"DP {e}") from e
    ids = values.get("LID", []) + values.get("AID", [])
    keywords = values.get("MH", []) + values.get("OT", [])
    return Record(
        title=_first(one.get("TI"), one.get("BTI")),
        abstract=one.get("AB", ""),
        authors=values.get("FAU") or values.get("AU", []),
        year=year,
        journal=_first(one.get("JT"), one.get("TA")),
        doi=next((i.removesuffix("[doi]").strip() for i in ids if i.endswith("[doi]")), ""),
        pmid=one["PMID"],
        # A star marks a major MeSH topic ('Analgesics/*therapeutic use').
        keywords=_unique([keyword.replace("*", "") for keyword in keywords]),
        ref_type=one.get("PT", ""),
        source_id=one["PMID"],
        line=start,
        extra=_language_extra(values.get("LA", [])) | _publication_types(values.get("PT", [])),
    )


def _publication_types(types: list[str]) -> dict[str, str]:
    """Every PubMed publication type of a record (``ref_type`` keeps the first), for the
    study type (``classifier.studytype``)."""
    kept = _unique([t.strip() for t in types if t.strip()])
    return {"publication_types": "; ".join(kept)} if kept else {}


# PubMed XML ----------------------------------------------------------------------------------


def _read_pubmed_xml(text: str, name: str, ignore_labels: bool) -> list[Record]:
    # ElementTree expands entities declared in the document; a PubMed export declares none.
    if (entity := text.find("<!ENTITY")) != -1:
        raise _error(name, _line_at(text, entity), "entity declarations are not accepted")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise _error(name, e.position[0], f"malformed XML ({e})") from e
    if root.tag != "PubmedArticleSet":
        raise _error(name, None, f"root element is <{root.tag}>, expected <PubmedArticleSet>")
    if (book := text.find("<PubmedBookArticle")) != -1:
        raise UnsupportedFormatError(
            f"{name}, line {_line_at(text, book)}: PubmedBookArticle records are not supported"
        )
    starts = _pubmed_article_lines(text, name)
    articles = root.findall("PubmedArticle")
    if len(starts) != len(articles):
        raise _error(name, None, f"{len(starts)} PubmedArticle elements, {len(articles)} read")
    return [
        _pubmed_article(article, start, name)
        for article, start in zip(articles, starts, strict=True)
    ]


def _pubmed_article_lines(text: str, name: str) -> list[int]:
    """The line of every ``<PubmedArticle>`` of the set (ElementTree keeps no line numbers;
    expat does, and skips comments and CDATA as the tree does). One nested anywhere else
    would be no record of the set: refused."""
    lines: list[int] = []
    depth = 0
    parser = xml.parsers.expat.ParserCreate()

    def start(tag: str, attributes: dict) -> None:
        nonlocal depth
        depth += 1
        if tag == "PubmedArticle":
            if depth != 2:
                raise _error(
                    name,
                    parser.CurrentLineNumber,
                    "PubmedArticle inside another element; expected it directly in "
                    "PubmedArticleSet",
                )
            lines.append(parser.CurrentLineNumber)

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(text, True)
    except xml.parsers.expat.ExpatError as e:
        raise _error(name, e.lineno, f"malformed XML ({e})") from e
    return lines


def _text(element: ET.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _pubmed_article(article: ET.Element, start: int, name: str) -> Record:
    citation = article.find("MedlineCitation")
    body = citation.find("Article") if citation is not None else None
    if citation is None or body is None:
        raise _error(name, start, "PubmedArticle without MedlineCitation/Article")
    sections = []
    for section in body.findall("Abstract/AbstractText"):
        label = section.get("Label")
        sections.append(f"{label}: {_text(section)}" if label else _text(section))
    date_text = _first(
        body.findtext("Journal/JournalIssue/PubDate/Year"),
        body.findtext("Journal/JournalIssue/PubDate/MedlineDate"),
        body.findtext("ArticleDate/Year"),
    )
    try:
        year = _parse_year(date_text)
    except ValueError as e:
        raise _error(name, start, f"PubDate {e}") from e
    authors = []
    for author in body.findall("AuthorList/Author"):
        last, first = author.findtext("LastName", ""), author.findtext("ForeName", "")
        authors.append(
            f"{last}, {first}" if first else last or author.findtext("CollectiveName", "")
        )
    pmid = _first(citation.findtext("PMID"))
    doi = _first(
        article.findtext("PubmedData/ArticleIdList/ArticleId[@IdType='doi']"),
        body.findtext("ELocationID[@EIdType='doi']"),
    )
    keywords = [_text(e) for e in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")]
    keywords += [_text(e) for e in citation.findall("KeywordList/Keyword")]
    return Record(
        title=_text(body.find("ArticleTitle")),
        abstract=" ".join(sections),
        authors=_unique(authors),
        year=year,
        journal=_first(
            body.findtext("Journal/Title"), citation.findtext("MedlineJournalInfo/MedlineTA")
        ),
        doi=doi,
        pmid=pmid,
        keywords=_unique(keywords),
        ref_type=_first(body.findtext("PublicationTypeList/PublicationType")),
        source_id=pmid,
        line=start,
        extra=_language_extra([_text(e) for e in body.findall("Language")])
        | _publication_types(
            [_text(e) for e in body.findall("PublicationTypeList/PublicationType")]
        ),
    )


# BibTeX --------------------------------------------------------------------------------------


# Identifiers, not LaTeX: read verbatim (in a URL, '%20' starts no comment and '~' is no space).
_BIBTEX_VERBATIM = ("doi", "url", "pmid")
_BARE_PERCENT = re.compile(r"(?<!\\)%")
_BIBTEX_ENTRY_START = re.compile(r"^\s*@\s*[A-Za-z]", re.MULTILINE)


def _read_bibtex(text: str, name: str, ignore_labels: bool) -> list[Record]:
    library = bibtexparser.parse_string(text, append_middleware=[NormalizeFieldKeys()])
    _check_bibtex_blocks(library, name)
    verbatim = []
    for entry in library.entries:
        fields = entry.fields_dict
        verbatim.append(
            {key: str(fields[key].value).strip() for key in _BIBTEX_VERBATIM if key in fields}
        )
        for field in entry.fields:
            if isinstance(field.value, str):
                # A bare '%' would start a LaTeX comment and the decoder would drop the rest.
                field.value = _BARE_PERCENT.sub(r"\\%", field.value)
    # Decoding runs before the split on ' and ', so a braced corporate author that contains
    # ' and ' comes out as two names; the decoder cannot reach names once they are a list.
    for middleware in (LatexDecodingMiddleware(), SeparateCoAuthors()):
        library = middleware.transform(library)
    _check_bibtex_blocks(library, name)
    return [
        _bibtex_record(entry, raw, name)
        for entry, raw in zip(library.entries, verbatim, strict=True)
    ]


def _check_bibtex_blocks(library: bibtexparser.Library, name: str) -> None:
    """Fail on the first block bibtexparser could not read (syntax, duplicate key, decoding)."""
    if library.failed_blocks:
        block = library.failed_blocks[0]
        raise _error(
            name, block.start_line + 1, f"BibTeX entry could not be read ({block.error})"
        ) from block.error
    for block in library.blocks:
        # Text outside entries is a comment to bibtexparser, so a mistyped entry would vanish.
        if isinstance(block, ImplicitComment) and _BIBTEX_ENTRY_START.search(block.comment):
            raise _error(
                name,
                block.start_line + 1,
                "a line starts with '@' but no entry could be read there; check its syntax",
            )


def _bibtex_record(entry: bibtexparser.model.Entry, raw: dict[str, str], name: str) -> Record:
    def field(*keys: str) -> str:
        return _first(*(str(entry.fields_dict[k].value) for k in keys if k in entry.fields_dict))

    line = entry.start_line + 1
    try:
        year = _parse_year(field("year", "date"))
    except ValueError as e:
        raise _error(name, line, f"year {e}") from e
    authors = entry.fields_dict["author"].value if "author" in entry.fields_dict else []
    return Record(
        title=field("title"),
        abstract=field("abstract"),
        authors=_unique(authors if isinstance(authors, list) else [authors]),
        year=year,
        journal=field("journal", "journaltitle", "booktitle"),
        doi=raw.get("doi", ""),
        pmid=raw.get("pmid", ""),
        url=raw.get("url", ""),
        keywords=_unique(_split_cell(field("keywords"), ",")),
        ref_type=entry.entry_type,
        source_id=entry.key,
        line=line,
        extra=_language_extra([field("language", "langid")]),
    )


_READERS: dict[str, Reader] = {
    ".ris": _read_ris,
    ".csv": _read_table,
    ".tsv": _read_table,
    ".tab": _read_table,
    ".nbib": _read_medline,
    ".xml": _read_pubmed_xml,
    ".bib": _read_bibtex,
}

_FORMAT_NAMES: dict[Reader, str] = {
    _read_ris: "ris",
    _read_table: "table",
    _read_medline: "medline",
    _read_pubmed_xml: "pubmed-xml",
    _read_bibtex: "bibtex",
}
