"""Render real records into the formats no real export in tests/data covers.

Writes, next to this script:

- ``cohen_adhd_sample.nbib`` and ``cohen_adhd_sample.bib``: 20 records of
  ``tests/data/screening/Cohen_2006_ADHD.csv`` (17 with an abstract, 3 without) in PubMed's
  MEDLINE display format and in BibTeX;
- ``pubmed_xml_sample.nbib``: the 10 articles of
  ``tests/data/import/asreview_demo_data_historic/pubmed.xml`` in MEDLINE format, which gives
  the MEDLINE reader real DOIs, journals, publication types and structured abstracts.

Only values present in the source are written; nothing is made up. The script checks that every
wrapped value joins back to the source text. Run it from anywhere:
``python tests/data/import/rendered/render.py``.
"""

from __future__ import annotations

import csv
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent
COHEN_CSV = DATA / "screening" / "Cohen_2006_ADHD.csv"
PUBMED_XML = DATA / "import" / "asreview_demo_data_historic" / "pubmed.xml"
WITH_ABSTRACT, WITHOUT_ABSTRACT = 17, 3
WIDTH = 80  # PubMed wraps its MEDLINE display at about 80 columns.

BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def medline_field(tag: str, value: str) -> list[str]:
    """One MEDLINE field: the tag padded to 4 characters, '- ', continuation lines indented 6."""
    lines = textwrap.wrap(
        value,
        width=WIDTH,
        initial_indent=f"{tag:<4}- ",
        subsequent_indent=" " * 6,
        break_long_words=False,
        break_on_hyphens=False,
    )
    if " ".join(line[6:] for line in lines) != value:
        raise SystemExit(f"{tag} value does not survive wrapping: {value[:60]!r}")
    return lines


def short_author(full: str) -> str:
    """MEDLINE's AU form of an FAU name: 'Reimer, E J' -> 'Reimer EJ'."""
    last, _, first = full.partition(", ")
    initials = "".join(part[0] for part in first.replace("-", " ").split())
    return f"{last} {initials}".strip()


def cohen_rows() -> list[dict[str, str]]:
    """The first 17 rows with and the first 3 without an abstract, in file order."""
    with COHEN_CSV.open(encoding="utf-8", newline="") as f:
        rows = [
            r for r in csv.DictReader(f) if all(r[k] for k in ("pmid", "title", "authors", "year"))
        ]
    clean = [r for r in rows if all(r[k] == " ".join(r[k].split()) for k in ("title", "abstract"))]
    chosen = [r for r in clean if r["abstract"]][:WITH_ABSTRACT]
    chosen += [r for r in clean if not r["abstract"]][:WITHOUT_ABSTRACT]
    return sorted(chosen, key=lambda r: int(r["record_id"]))


def cohen_medline(row: dict[str, str]) -> list[str]:
    authors = row["authors"].split("; ")
    lines = [f"PMID- {row['pmid']}", f"DP  - {row['year']}", *medline_field("TI", row["title"])]
    if row["abstract"]:
        lines += medline_field("AB", row["abstract"])
    for author in authors:
        lines += [f"FAU - {author}", f"AU  - {short_author(author)}"]
    for heading in filter(None, row["keywords"].split("; ")):
        lines += medline_field("MH", heading)
    return lines


def bibtex_escape(text: str) -> str:
    text = "".join(BIBTEX_SPECIAL.get(ch, ch) for ch in text)
    # Keep TeX ligatures ('--' en dash, quotes) literal.
    return text.replace("--", "-{}-").replace("``", "`{}`").replace("''", "'{}'")


def cohen_bibtex(row: dict[str, str]) -> str:
    fields = [
        ("title", row["title"]),
        ("author", " and ".join(row["authors"].split("; "))),
        ("year", row["year"]),
        ("pmid", row["pmid"]),
        ("keywords", row["keywords"]),
        ("abstract", row["abstract"]),
    ]
    body = ",\n".join(f"  {key} = {{{bibtex_escape(value)}}}" for key, value in fields if value)
    return f"@article{{pmid{row['pmid']},\n{body}\n}}\n"


def text_of(element: ET.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def xml_medline(article: ET.Element) -> list[str]:
    citation = article.find("MedlineCitation")
    body = citation.find("Article")
    date = body.find("Journal/JournalIssue/PubDate")
    dp = date.findtext("MedlineDate") or " ".join(
        filter(None, (date.findtext("Year"), date.findtext("Month"), date.findtext("Day")))
    )
    lines = [f"PMID- {citation.findtext('PMID')}", f"DP  - {dp}"]
    lines += medline_field("TI", text_of(body.find("ArticleTitle")))
    for location in body.findall("ELocationID"):
        lines.append(f"LID - {location.text} [{location.get('EIdType')}]")
    sections = [
        f"{s.get('Label')}: {text_of(s)}" if s.get("Label") else text_of(s)
        for s in body.findall("Abstract/AbstractText")
    ]
    if sections:
        lines += medline_field("AB", " ".join(sections))
    for author in body.findall("AuthorList/Author"):
        last = author.findtext("LastName")
        lines += [f"FAU - {last}, {author.findtext('ForeName')}"]
        lines += [f"AU  - {last} {author.findtext('Initials')}"]
    lines += [f"LA  - {language.text}" for language in body.findall("Language")]
    lines += [f"PT  - {t.text}" for t in body.findall("PublicationTypeList/PublicationType")]
    lines += [f"TA  - {citation.findtext('MedlineJournalInfo/MedlineTA')}"]
    lines += medline_field("JT", text_of(body.find("Journal/Title")))
    for heading in citation.findall("MeshHeadingList/MeshHeading/DescriptorName"):
        star = "*" if heading.get("MajorTopicYN") == "Y" else ""
        lines += medline_field("MH", f"{star}{text_of(heading)}")
    lines += [f"OT  - {text_of(k)}" for k in citation.findall("KeywordList/Keyword")]
    for article_id in article.findall("PubmedData/ArticleIdList/ArticleId"):
        if article_id.get("IdType") in ("doi", "pii"):
            lines.append(f"AID - {article_id.text} [{article_id.get('IdType')}]")
    return lines


def write(path: Path, records: list[list[str]]) -> None:
    """Records as PubMed saves them: a blank line before each record."""
    path.write_text("".join("\n" + "\n".join(lines) + "\n" for lines in records), encoding="utf-8")


def main() -> None:
    rows = cohen_rows()
    write(HERE / "cohen_adhd_sample.nbib", [cohen_medline(row) for row in rows])
    (HERE / "cohen_adhd_sample.bib").write_text(
        "\n".join(cohen_bibtex(row) for row in rows), encoding="utf-8"
    )
    articles = ET.parse(PUBMED_XML).getroot().findall("PubmedArticle")
    write(HERE / "pubmed_xml_sample.nbib", [xml_medline(article) for article in articles])
    print(f"rendered {len(rows)} Cohen ADHD records and {len(articles)} PubMed XML articles")


if __name__ == "__main__":
    main()
