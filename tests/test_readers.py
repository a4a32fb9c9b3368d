"""index.readers against real exports: every file in tests/data/import, the screening sets, the
theme set, and broken variants generated from their bytes (licenses: tests/data/LICENSES.md)."""

from __future__ import annotations

import codecs
import csv
import gzip
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.errors import EmptyImportError, ImportFormatError, UnsupportedFormatError
from index.readers import SUPPORTED_EXTENSIONS, read_records

DATA = Path(__file__).parent / "data"
IMPORT = DATA / "import"
RENDERED = IMPORT / "rendered"
# The second record of the generic (lorem ipsum) fixtures, and the first's abstract.
TITLE_2 = "The title of the reference"
LOREM_2 = ("BACKGROUND: Lorem dammed ipsum dolor sit amet, ", "felis eu pede mollis pretium.", 511)
LOREM_1 = ("BACKGROUND: Lorem ipsum dolor sit amet, ", "felis eu pede mollis pretium.", 504)


@dataclass(frozen=True)
class Sample:
    """One record checked field by field; the abstract by its exact start, end and length."""

    index: int
    line: int
    title: str
    abstract: tuple[str, str, int] = ("", "", 0)


@dataclass(frozen=True)
class Import:
    path: str
    records: int
    labels: tuple[int, int] | None  # (label 1, label 0) counts; None: the file has no labels
    sample: Sample


# Counts are the MANIFEST's (tests/data/LICENSES.md names it); expected strings were read off
# the raw files at the lines given.
IMPORTS = [
    Import("asreview_demo_data/_baseline.ris", 100, None, Sample(
        1, 32, "Electrochemotherapy in Mucosal Cancer of the Head and Neck: A Systematic Review.",
        ("Electrochemotherapy (ECT) is a local ablative treatment that",
         "ot amenable to standard local treatment.", 1365))),
    # Synthetic placeholders with empty TI/N2 tags; ASReview's test_nan_values_ris.
    Import("asreview_demo_data/baseline_empty_values.ris", 4, None, Sample(
        1, 7, "", ("Lorem ipsum dolor sit amet, ", "consectetuer adipiscing elit.", 57))),
    # 61 reference types, no title or abstract: read as records without text (has_text False).
    Import("asreview_demo_data/baseline_reference_types.ris", 61, None, Sample(1, 4, "")),
    Import("asreview_demo_data/baseline_tag-notes.ris", 12, None, Sample(1, 6, "")),
    # MANIFEST says 4 included, but the file marks 10 records ASReview_relevant (10 titles say
    # 'labeled "relevant"') and ASReview's test_asreview_labels_ris expects 10: we follow the file.
    Import("asreview_demo_data/baseline_tag-notes_labels.ris", 32, (10, 10), Sample(
        1, 7, 'Record which is labeled "irrelevant" by the researcher using ASReview.')),
    Import("asreview_demo_data/baseline_tag-notes_zotero.ris", 4, None, Sample(
        1, 6, "Zotero: notes in records come with XHTML tags around them.")),
    Import("asreview_demo_data/baseline_tag_and_field_definitions.ris", 1, None, Sample(
        0, 1, "Title", ("Abstract", "Abstract", 8))),
    Import("asreview_demo_data/baseline_tag_and_field_definitions_lists.ris", 1, None, Sample(
        0, 1, "")),
    Import("asreview_demo_data/baseline_zotero.ris", 100, (3, 3), Sample(
        1, 35, "Systematic search of Bayesian statistics in the field of psychotraumatology",
        ("In recent years there has been increased interest in Bayesia",
         "science (Konig & van de Schoot, 2017...", 200))),
    Import("asreview_demo_data/duplicate_records.csv", 14, None, Sample(
        1, 3, "a", ("lorem", "lorem", 5))),
    Import("asreview_demo_data/embase.csv", 6, None, Sample(
        1, 3, "Endoscopic ultrasound-guided fine-needle aspiration in the diagnosis of foregut "
        "duplication cysts: The value of demonstrating detached ciliary tufts in cyst fluid",
        ("BACKGROUND. The management of foregut duplication cysts is c",
         "atients. © 2004 American Cancer Society.", 1953))),
    Import("asreview_demo_data/embase.ris", 6, None, Sample(
        1, 51, "Endoscopic ultrasound-guided fine-needle aspiration in the diagnosis of foregut "
        "duplication cysts: The value of demonstrating detached ciliary tufts in cyst fluid",
        ("BACKGROUND. The management of foregut duplication cysts is c",
         "atients. © 2004 American Cancer Society.", 1953))),
    # The first record's abstract spans lines 2-4, so the second record starts on line 5.
    Import("asreview_demo_data/embase_newpage.csv", 6, None, Sample(
        1, 5, "Endoscopic ultrasound-guided fine-needle aspiration in the diagnosis of foregut "
        "duplication cysts: The value of demonstrating detached ciliary tufts in cyst fluid",
        ("TEST\n\nBACKGROUND. The management of foregut duplication cyst",
         "atients. © 2004 American Cancer Society.", 1959))),
    Import("asreview_demo_data/generic.csv", 2, None, Sample(1, 3, TITLE_2, LOREM_2)),
    Import("asreview_demo_data/generic_column_names_with_spaces.csv", 2, None, Sample(
        1, 3, TITLE_2, LOREM_2)),
    Import("asreview_demo_data/generic_labels.csv", 6, (3, 3), Sample(
        1, 3, TITLE_2, LOREM_2)),
    Import("asreview_demo_data/generic_labels_no_abs.csv", 6, (3, 3), Sample(
        1, 3, "The title of the reference")),
    Import("asreview_demo_data/generic_labels_no_title.csv", 6, (3, 3), Sample(1, 3, "", LOREM_2)),
    Import("asreview_demo_data/generic_partial_labels.csv", 6, (2, 2), Sample(
        1, 3, TITLE_2, LOREM_2)),
    Import("asreview_demo_data/generic_semicolon.csv", 2, None, Sample(
        1, 3, TITLE_2, LOREM_2)),
    Import("asreview_demo_data/generic_tab.csv", 2, None, Sample(1, 3, TITLE_2, LOREM_2)),
    Import("asreview_demo_data/generic_tab.tab", 2, None, Sample(1, 3, TITLE_2, LOREM_2)),
    Import("asreview_demo_data/generic_tab.tsv", 2, None, Sample(1, 3, TITLE_2, LOREM_2)),
    Import("asreview_demo_data/missing_values.csv", 4, None, Sample(
        1, 3, "", LOREM_1)),
    # Ovid's '1.' counters and the 'NL' / 'Link to the Ovid...' lines between records are skipped.
    Import("asreview_demo_data/ovid_psycinfo.ris", 6, None, Sample(
        1, 31, "Gender differences in inflammatory bowel disease: Explaining body image "
        "dissatisfaction.", ("The aim of this study was to examine the role of body image ",
                             "ecord (c) 2019 APA, all rights reserved)", 780))),
    Import("asreview_demo_data/ovid_zotero.ris", 6, None, Sample(
        1, 18, "Gender differences in inflammatory bowel disease: Explaining body image "
        "dissatisfaction.", ("The aim of this study was to examine the role of body image ",
                             "ecord (c) 2019 APA, all rights reserved)", 780))),
    Import("asreview_demo_data/proquest.ris", 6, None, Sample(
        1, 45, "Trajectories of posttraumatic stress disorders among children after the Wenchuan "
        "earthquake: a four-year longitudinal study",
        ("BACKGROUND: Previous research has demonstrated heterogeneous",
         " Wenchuan earthquake; longitudinal study", 1785))),
    Import("asreview_demo_data/pubmed_endnote.txt", 6, None, Sample(
        1, 43, "Yuzu (Citrus junos Tanaka) Peel Attenuates Dextran Sulfate Sodium-induced Murine "
        "Experimental Colitis", ("Ulcerative colitis is a well-known inflammatory bowel diseas",
                                 "oxidative stress against lipids in vivo.", 1354))),
    Import("asreview_demo_data/pubmed_zotero.ris", 6, None, Sample(
        1, 26, "Outcomes of inflammatory bowel disease surgery in obese versus non-obese patients: "
        "a meta-analysis.", ("BACKGROUND: Obesity is considered a risk factor for many chr",
                             "ght reduction strategies where possible.", 1598))),
    Import("asreview_demo_data/record_id.csv", 10, (1, 1), Sample(
        1, 3, "Lorem Ipsum record_id 11 - row 1 (0 label)", ("Lorem Ipsum", "Lorem Ipsum", 11))),
    # Scopus 'Export Date' lines after PY are continuation lines of an unknown tag: ignored.
    Import("asreview_demo_data/ris_issue_1099.txt", 7, None, Sample(
        1, 31, "Validity Frame Driven Computational Design Synthesis for Complex Cyber-Physical "
        "Systems", ("The increasing complexity and performance demands of cyber-p",
                    " © 2020, Springer Nature Switzerland AG.", 1145))),
    Import("asreview_demo_data/ris_issue_992.txt", 19, None, Sample(
        1, 28, "Special Report! The Joint Commission's 2012 National Patient Safety Goals")),
    Import("asreview_demo_data/ris_many_authors.ris", 1, None, Sample(
        0, 1, "This is the title", ("This is a random text", "This is a random text", 21))),
    Import("asreview_demo_data/scopus.ris", 6, None, Sample(
        1, 226, "Hypothesis: Mechanism of irritable bowel syndrome in inflammatory bowel disease",
        ("Functional bowel symptoms can be occurred during remission f",
         "eve and prevent IBD-IBS symptoms. © 2019", 1276))),
    Import("asreview_demo_data/web_of_science.txt", 10, None, Sample(
        1, 48, "When Self-Report Trumps Science: Effects of Confessions, DNA, and Prosecutorial "
        "Theories on Perceptions of Guilt",
        ("For many wrongfully convicted individuals, DNA testing prese",
         "nd suggestions for reform are discussed.", 1029))),
    Import("asreview_demo_data_historic/PTSD_VandeSchoot_18_debug.csv", 98, None, Sample(
        4, 6, "Computerised test generation for cross-national military recruitment: A handbook",
        ("“‘Computerised Test Generation for Cross-National Military R",
         "thor and IOS Press. All rights reserved.", 1565))),
    # The 'invalid tags' are Ovid-style '1.', '2.' counters outside the records. rispy skips
    # lines outside records and ASReview's reader (rispy.load) reads 100 records, 3 relevant,
    # as the MANIFEST counts; no surviving ASReview test expects this file to fail.
    Import("asreview_demo_data_historic/baseline_labeled-invalid_tags.ris", 100, (3, 3), Sample(
        1, 41, "Systematic search of Bayesian statistics in the field of psychotraumatology",
        ("In recent years there has been increased interest in Bayesia",
         "science (Konig & van de Schoot, 2017...", 200))),
    Import("asreview_demo_data_historic/generic.ris", 2, None, Sample(
        1, 29, TITLE_2, LOREM_2)),
    Import("asreview_demo_data_historic/generic_labels.ris", 2, (1, 1), Sample(
        1, 30, TITLE_2, LOREM_2)),
    Import("asreview_demo_data_historic/missing_values.ris", 4, None, Sample(
        1, 7, "", LOREM_1)),
    Import("asreview_demo_data_historic/pubmed.xml", 10, None, Sample(
        2, 275, "Keratocystic odontogenic tumor arising at the mandibular ramus with an impacted "
        "tooth: a case report and mimic lesions.",
        ("OBJECTIVES: To consider the biologic behaviors of keratocyst",
         "etermine the optimal treatment strategy.", 1097))),
    # Records of included studies only (positives), but the files carry no label.
    Import("van_de_Schoot_2017/schoot-lgmm-ptsd-included-1.ris", 363, None, Sample(
        1, 23, "Polyvictimization: Latent profiles and mental health outcomes in a clinical sample "
        "of adolescents", ("Objective: Exposure to multiple traumatic events (polyvictim",
                           "2014 American Psychological Association.", 1752))),
    Import("van_de_Schoot_2017/schoot-lgmm-ptsd-included-2.ris", 38, None, Sample(
        1, 61, "Identifying longitudinal trajectories of emotional distress symptoms 5 years after "
        "traumatic brain injury", ("Primary objective: To evaluate longitudinal trajectories of ",
                                   "nd the strength of resilience over time.", 1500))),
    Import("van_de_Schoot_2017/schoot-lgmm-ptsd-included-3.ris", 8, None, Sample(
        1, 53, "Post-traumatic stress symptoms 5 years after military deployment to Afghanistan: "
        "An observational cohort study",
        ("Background: Deployment can put soldiers at risk of developin",
         "inistry of Defense. © 2016 Elsevier Ltd.", 2050))),
    Import("rendered/cohen_adhd_sample.nbib", 20, None, Sample(
        0, 2, "The effectiveness of clonidine as an analgesic in paediatric adenotonsillectomy.",
        ("To compare the analgesic effects of preoperative oral clonidine with ",
         "children undergoing tonsillectomy or adenotonsillectomy.", 1507))),
    Import("rendered/cohen_adhd_sample.bib", 20, None, Sample(
        0, 1, "The effectiveness of clonidine as an analgesic in paediatric adenotonsillectomy.",
        ("To compare the analgesic effects of preoperative oral clonidine with ",
         "children undergoing tonsillectomy or adenotonsillectomy.", 1507))),
    Import("rendered/pubmed_xml_sample.nbib", 10, None, Sample(
        2, 73, "Keratocystic odontogenic tumor arising at the mandibular ramus with an impacted "
        "tooth: a case report and mimic lesions.",
        ("OBJECTIVES: To consider the biologic behaviors of keratocyst",
         "etermine the optimal treatment strategy.", 1097))),
]  # fmt: skip

# Malformed on purpose; each fails with the file, the line and the field in the message.
FAILING = {
    # PY is '10 15': ASReview's test_load_faulty_year_dataset expects a ValueError, and guessing a
    # year from it would be wrong.
    "asreview_demo_data/faulty_year.ris": ("faulty_year.ris, line 3: PY '10 15' is not a year",),
    # record_id repeats 0 (lines 2 and 3) and holds '4f': ASReview's test_bad_record_id is an
    # xfail(raises=ValueError); a record id must be a unique whole number.
    "asreview_demo_data/generic_bad_record_id.csv": (
        "generic_bad_record_id.csv, line 3, column 'record_id'",
        "record_id '0' repeats the one on line 2",
    ),
}

NOT_EXPORTS = {".gitattributes", "README.md", "render.py"}

# MANIFEST.md: records and final inclusions (label_included) per screening file.
SCREENING = {
    "Cohen_2006_ADHD.csv": (851, 20),
    "Cohen_2006_Antihistamines.csv": (310, 16),
    "Cohen_2006_AtypicalAntipsychotics.csv": (1120, 146),
    "Cohen_2006_BetaBlockers.csv": (2072, 42),
    "Cohen_2006_CalciumChannelBlockers.csv": (1218, 100),
    "Cohen_2006_Estrogens.csv": (368, 80),
    "Cohen_2006_NSAIDS.csv": (393, 41),
    "Cohen_2006_Opiods.csv": (1915, 15),
    "Cohen_2006_OralHypoglycemics.csv": (503, 136),
    "Cohen_2006_ProtonPumpInhibitors.csv": (1333, 51),
    "Cohen_2006_SkeletalMuscleRelaxants.csv": (1643, 9),
    "Cohen_2006_Triptans.csv": (671, 24),
    "Cohen_2006_UrinaryIncontinence.csv": (327, 40),
    "Kitchenham_2010.csv": (1704, 45),
}


def label_counts(records) -> tuple[int, int]:
    labels = Counter(record.label for record in records)
    return labels[1], labels[0]


def assert_abstract(text: str, expected: tuple[str, str, int]) -> None:
    head, tail, length = expected
    assert text.startswith(head)
    assert text.endswith(tail)
    assert len(text) == length


def test_every_import_fixture_is_covered():
    on_disk = {
        str(path.relative_to(IMPORT))
        for path in IMPORT.rglob("*")
        if path.is_file() and path.name not in NOT_EXPORTS
    }
    assert on_disk == {case.path for case in IMPORTS} | set(FAILING)


@pytest.mark.parametrize("case", IMPORTS, ids=lambda case: case.path)
def test_import_fixture(case: Import):
    records = read_records(IMPORT / case.path)

    assert len(records) == case.records
    if case.labels is None:
        assert {record.label for record in records} == {None}
    else:
        assert label_counts(records) == case.labels
    record = records[case.sample.index]
    assert record.line == case.sample.line
    assert record.title == case.sample.title
    assert_abstract(record.abstract, case.sample.abstract)


@pytest.mark.parametrize("case", [c for c in IMPORTS if c.labels], ids=lambda case: case.path)
def test_ignore_labels_drops_fixture_labels(case: Import):
    records = read_records(IMPORT / case.path, ignore_labels=True)

    assert len(records) == case.records
    assert {record.label for record in records} == {None}


@pytest.mark.parametrize("path, fragments", FAILING.items())
def test_malformed_fixture_fails_naming_file_and_line(path: str, fragments: tuple[str, ...]):
    with pytest.raises(ImportFormatError) as error:
        read_records(IMPORT / path)

    for fragment in fragments:
        assert fragment in str(error.value)


@pytest.mark.parametrize("name, counts", SCREENING.items())
def test_screening_set(name: str, counts: tuple[int, int]):
    records = read_records(DATA / "screening" / name)
    unlabeled = read_records(DATA / "screening" / name, ignore_labels=True)

    assert (len(records), label_counts(records)[0]) == counts
    assert label_counts(records)[1] == counts[0] - counts[1]
    assert {record.label for record in unlabeled} == {None}
    # label_included wins over the title/abstract decision, which stays in extra.
    if name.startswith("Cohen"):
        assert set(records[0].extra) == {"label_abstract_screening"}


def test_screening_record_fields():
    record = read_records(DATA / "screening" / "Cohen_2006_ADHD.csv")[0]

    assert record.source_id == "1"
    assert record.pmid == "10051933"
    assert record.year == 1999
    assert record.authors[:2] == ["Reimer, E J", "Dunn, G S"]
    assert record.keywords[:3] == ["Acetaminophen", "Adenoidectomy", "Administration, Oral"]
    assert record.line == 2


def test_theme_set():
    records = read_records(DATA / "themes" / "cohen_drug_classes.csv")

    themes = Counter(theme for record in records for theme in record.themes)
    assert len(records) == 2016
    assert sum(themes.values()) == 2043
    assert sum(len(record.themes) > 1 for record in records) == 27
    assert sum(not record.abstract for record in records) == 140
    assert themes["ADHD"] == 84 and themes["AtypicalAntipsychotics"] == 363
    assert themes["SkeletalMuscleRelaxants"] == 34


# ASReview's own expectations (tests/test_readers.py in asreview/asreview) -------------------


def test_asreview_note_labels_record_by_record():
    """ASReview's test_asreview_labels_ris: relevant, irrelevant, not seen, then none, x10."""
    records = read_records(IMPORT / "asreview_demo_data" / "baseline_tag-notes_labels.ris")

    expected = [1, 0, None, None] + [1, 0, None] * 9 + [None]
    assert [record.label for record in records] == expected
    assert records[0].notes == "ASReview_prior"
    assert records[4].notes == "ASReview_relevant. Additional notes 2."


def test_empty_ris_values_read_as_empty():
    """ASReview's test_nan_values_ris."""
    records = read_records(IMPORT / "asreview_demo_data" / "baseline_empty_values.ris")

    assert [record.title for record in records] == [
        "Title of reference",
        "",
        "Title of reference",
        "",
    ]
    assert records[0].abstract == records[2].abstract == ""
    assert records[0].authors == records[2].authors == []
    assert records[0].keywords == records[2].keywords == []
    assert records[0].notes == records[2].notes == ""
    assert records[0].doi == records[2].doi == ""
    assert [record.source_id for record in records] == ["1", "2", "3", "4"]


def test_empty_csv_values_read_as_empty():
    """ASReview's test_nan_values_csv."""
    records = read_records(IMPORT / "asreview_demo_data" / "missing_values.csv")

    assert [record.title for record in records] == [
        "Title of reference",
        "",
        "Title of reference",
        "",
    ]
    assert records[0].abstract == records[2].abstract == ""
    assert all(record.has_text for record in records)


def test_ris_author_tags_are_combined():
    """ASReview reads AU and A1 as authors; A2-A4 are not authors of the work."""
    path = IMPORT / "asreview_demo_data" / "baseline_tag_and_field_definitions_lists.ris"
    (record,) = read_records(path)

    assert record.authors == ["Author 1", "Author 2", "First Author 1", "First Author 2"]
    assert record.keywords == ["Keywords 1", "Keywords 2"]
    assert record.notes == "Notes 1\nNotes 2"


def test_zotero_paragraph_tags_are_stripped_from_notes():
    records = read_records(IMPORT / "asreview_demo_data" / "baseline_tag-notes_zotero.ris")

    assert records[1].notes == "XHTML tags should be stripped, leaving content intact."


def test_lb_tag_is_no_label():
    """ASReview ignores LB (asreview PR #2067); only N1 notes and the old LI tag label."""
    path = IMPORT / "asreview_demo_data" / "baseline_tag_and_field_definitions.ris"
    assert "LB  - Label" in path.read_text(encoding="utf-8-sig")
    (record,) = read_records(path)

    assert record.label is None


def test_li_tag_labels():
    records = read_records(IMPORT / "asreview_demo_data_historic" / "generic_labels.ris")

    assert [record.label for record in records] == [1, 0]


# Field mapping per format ---------------------------------------------------------------------


def test_ris_fields():
    records = read_records(IMPORT / "asreview_demo_data" / "pubmed_endnote.txt")
    record = records[0]

    assert record.authors == ["Abdel-Tawab, M.", "Werz, O.", "Schubert-Zsilavecz, M."]
    assert record.year == 2011
    assert record.journal == "Clin Pharmacokinet"
    assert record.doi == "10.2165/11586800-000000000-00000"
    # AN is a PMID here because DP says NLM; ID is EndNote's record number.
    assert record.pmid == "21553931"
    assert record.source_id == "369"
    assert record.ref_type == "JOUR"
    assert record.keywords[0] == "Animals"


def test_ris_accession_number_is_no_pmid_outside_pubmed():
    record = read_records(IMPORT / "asreview_demo_data" / "web_of_science.txt")[0]

    assert record.pmid == ""
    assert record.extra["accession_number"] == "WOS:000444108200009"
    assert record.source_id == ""


@pytest.mark.parametrize(
    "path, years",
    [
        ("asreview_demo_data_historic/generic.ris", [2014, 2006]),  # Y1 '2014//'
        ("asreview_demo_data/generic.csv", [2014, 2006]),  # publication_year '2014//'
        ("asreview_demo_data/embase.ris", [2014, 2004, 2019, 2018, 2011, 2017]),
    ],
)
def test_odd_years(path: str, years: list[int]):
    assert [record.year for record in read_records(IMPORT / path)] == years


def test_placeholder_year_0000_is_no_year():
    records = read_records(IMPORT / "van_de_Schoot_2017" / "schoot-lgmm-ptsd-included-1.ris")

    assert 0 not in {record.year for record in records}
    assert sum(record.year is None for record in records) == 1


def test_embase_csv_columns():
    record = read_records(IMPORT / "asreview_demo_data" / "embase.csv")[0]

    assert record.authors == ["Liu R.", "Adler D.G."]
    # From the 'Source' column: 'Endoscopic Ultrasound (2014) 3:3 (152-160). Date of ...'
    assert (record.journal, record.year) == ("Endoscopic Ultrasound", 2014)
    assert record.keywords[:2] == ["article", "bronchogenic duplication cyst (diagnosis, surgery)"]
    assert record.extra["Copyright"] == "Copyright 2014 Elsevier B.V., All rights reserved."


def test_csv_list_literals_and_record_ids():
    generic = read_records(IMPORT / "asreview_demo_data" / "generic.csv")[0]
    ids = read_records(IMPORT / "asreview_demo_data" / "record_id.csv")

    assert generic.authors == ["Marx, Karl", "Lindgren, Astrid"]
    assert generic.keywords == ["Pippi", "Nordwind", "Piraten"]
    assert [record.source_id for record in ids] == [str(n) for n in range(12, 2, -1)]


def test_ptsd_csv_authors_split_after_initials():
    record = read_records(IMPORT / "asreview_demo_data_historic" / "PTSD_VandeSchoot_18_debug.csv")[
        0
    ]

    assert record.authors == ["Achenbach, T. M.", "Rescorla, L. A."]
    assert record.year == 2001  # written as '2001.0'


def test_pubmed_xml_fields():
    records = read_records(IMPORT / "asreview_demo_data_historic" / "pubmed.xml")

    first, structured, medline_date = records[0], records[2], records[3]
    assert first.pmid == first.source_id == "31690499"
    assert first.doi == "10.1016/j.bjoms.2019.09.011"
    assert first.journal == "The British journal of oral & maxillofacial surgery"
    assert first.line == 5
    assert structured.authors[0] == "Kimura, Takashi"
    assert structured.year == 2016
    assert "Odontogenic Cysts" in structured.keywords
    assert medline_date.year == 2014  # MedlineDate '2014 Jan-Apr'


# Rendered MEDLINE and BibTeX: round trip to their source rows ----------------------------------


def cohen_rows() -> dict[str, dict[str, str]]:
    with (DATA / "screening" / "Cohen_2006_ADHD.csv").open(encoding="utf-8", newline="") as f:
        return {row["pmid"]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("name", ["cohen_adhd_sample.nbib", "cohen_adhd_sample.bib"])
def test_rendered_cohen_records_round_trip(name: str):
    rows = cohen_rows()
    records = read_records(RENDERED / name)

    assert sum(not record.abstract for record in records) == 3
    for record in records:
        row = rows[record.pmid]
        assert record.title == row["title"]
        assert record.abstract == row["abstract"]
        assert record.year == int(row["year"])
        assert record.authors == row["authors"].split("; ")
        assert record.keywords == [k for k in row["keywords"].split("; ") if k]


def test_rendered_medline_wraps_abstracts_like_pubmed():
    lines = (RENDERED / "cohen_adhd_sample.nbib").read_text(encoding="utf-8").split("\n")
    first_abstract = next(i for i, line in enumerate(lines) if line.startswith("AB  - "))

    assert lines[first_abstract + 1].startswith(" " * 6)
    assert lines[first_abstract + 2].startswith(" " * 6)
    assert max(map(len, lines)) <= 80


def test_medline_matches_pubmed_xml():
    """The MEDLINE rendering of pubmed.xml reads back to what the XML reader reads."""
    from_xml = read_records(IMPORT / "asreview_demo_data_historic" / "pubmed.xml")
    from_medline = read_records(RENDERED / "pubmed_xml_sample.nbib")

    fields = ("title", "abstract", "year", "pmid", "doi", "journal", "authors", "ref_type")
    for xml_record, medline_record in zip(from_xml, from_medline, strict=True):
        for field in fields:
            assert getattr(medline_record, field) == getattr(xml_record, field), field
        assert set(medline_record.keywords) == set(xml_record.keywords)


# Dispatch, encodings, line endings -----------------------------------------------------------


def copy_as(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize(
    "source",
    [
        RENDERED / "cohen_adhd_sample.nbib",  # MEDLINE
        IMPORT / "asreview_demo_data" / "scopus.ris",  # RIS
        IMPORT / "asreview_demo_data" / "generic_tab.tsv",  # tab-delimited table
        IMPORT / "asreview_demo_data" / "generic_semicolon.csv",  # semicolon table
    ],
    ids=lambda path: path.name,
)
def test_txt_is_sniffed(source: Path, tmp_path: Path):
    as_txt = read_records(copy_as(source, tmp_path / "export.txt"))

    assert [(r.title, r.abstract, r.line) for r in as_txt] == [
        (r.title, r.abstract, r.line) for r in read_records(source)
    ]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16"])
def test_other_encodings_read_the_same(encoding: str, tmp_path: Path):
    source = IMPORT / "asreview_demo_data" / "embase.csv"  # has '©' and 'é'
    text = source.read_text(encoding="utf-8")
    target = tmp_path / "embase.csv"
    target.write_bytes(text.encode(encoding))

    assert read_records(target) == read_records(source)


def test_crlf_and_lf_read_the_same(tmp_path: Path):
    source = IMPORT / "asreview_demo_data" / "_baseline.ris"  # BOM and CRLF
    target = tmp_path / "baseline_lf.ris"
    target.write_bytes(source.read_bytes().removeprefix(codecs.BOM_UTF8).replace(b"\r\n", b"\n"))

    assert read_records(target) == read_records(source)


def test_supported_extensions():
    assert set(SUPPORTED_EXTENSIONS) == {
        ".ris",
        ".txt",
        ".csv",
        ".tsv",
        ".tab",
        ".nbib",
        ".xml",
        ".bib",
    }


# Broken files, generated from real fixture bytes -----------------------------------------------


def line_at(data: bytes, offset: int) -> int:
    """1-based line of byte ``offset``."""
    return data.count(b"\n", 0, offset) + 1


def test_unsupported_extension(tmp_path: Path):
    target = copy_as(IMPORT / "asreview_demo_data" / "embase.csv", tmp_path / "embase.xlsx")

    with pytest.raises(
        UnsupportedFormatError, match=r"embase\.xlsx: unsupported file type '\.xlsx'"
    ):
        read_records(target)


def test_ris_cut_mid_record(tmp_path: Path):
    data = (IMPORT / "asreview_demo_data" / "_baseline.ris").read_bytes()
    cut = data.rindex(b"\nAB  - ", 0, len(data) // 2) + 50  # inside an abstract
    target = tmp_path / "cut.ris"
    target.write_bytes(data[:cut])
    start = line_at(data, data.rindex(b"\nTY  - ", 0, cut) + 1)

    with pytest.raises(ImportFormatError, match=rf"cut\.ris, line {start}: record has no ER line"):
        read_records(target)


def test_ris_missing_er_between_records(tmp_path: Path):
    data = (IMPORT / "asreview_demo_data" / "scopus.ris").read_bytes()
    first_er = data.index(b"\nER  -") + 1
    broken = data[:first_er] + data[data.index(b"\n", first_er) + 1 :]
    target = tmp_path / "no_er.ris"
    target.write_bytes(broken)
    second_ty = line_at(broken, broken.index(b"\nTY  - ", first_er - 1) + 1)

    with pytest.raises(ImportFormatError, match=rf"no_er\.ris, line {second_ty}: new record"):
        read_records(target)


def test_csv_unterminated_quote(tmp_path: Path):
    data = (IMPORT / "asreview_demo_data" / "generic.csv").read_bytes()
    second_row = data.index(b"\n") + 1
    target = tmp_path / "cut.csv"
    target.write_bytes(data[: second_row + 100])  # inside the quoted abstract

    with pytest.raises(ImportFormatError, match=r"cut\.csv, line 2: unterminated quoted field"):
        read_records(target)


def test_csv_without_title_or_abstract_column(tmp_path: Path):
    data = (IMPORT / "asreview_demo_data" / "duplicate_records.csv").read_bytes()
    target = tmp_path / "columns.csv"
    target.write_bytes(data.replace(b"title;abstract;", b"heading;summary;", 1))

    with pytest.raises(ImportFormatError) as error:
        read_records(target)

    assert str(error.value) == (
        "columns.csv, line 1: no title or abstract column; "
        "columns found: 'heading', 'summary', 'doi', 'some_column'"
    )


def test_csv_bad_label_value(tmp_path: Path):
    data = (IMPORT / "asreview_demo_data" / "generic_labels.csv").read_bytes()
    rows = data.split(b"\n")
    rows[3] = rows[3].replace(b",JOUR,1,", b",JOUR,x,")
    target = tmp_path / "labels.csv"
    target.write_bytes(b"\n".join(rows))

    with pytest.raises(
        ImportFormatError, match=r"labels\.csv, line 4, column 'label_included': label 'x'"
    ):
        read_records(target)


def test_csv_yes_no_labels(tmp_path: Path):
    data = (IMPORT / "asreview_demo_data" / "generic_labels.csv").read_bytes()
    target = tmp_path / "yes_no.csv"
    target.write_bytes(data.replace(b",JOUR,1,", b",JOUR,yes,").replace(b",JOUR,0,", b",JOUR,No,"))

    assert [r.label for r in read_records(target)] == [1, 0, 1, 0, 1, 0]


def test_binary_file(tmp_path: Path):
    target = tmp_path / "export.ris"
    target.write_bytes(gzip.compress((IMPORT / "asreview_demo_data" / "scopus.ris").read_bytes()))

    with pytest.raises(ImportFormatError, match=r"export\.ris, line 1: binary content"):
        read_records(target)


def test_utf16_without_bom(tmp_path: Path):
    text = (IMPORT / "asreview_demo_data" / "embase.csv").read_text(encoding="utf-8")
    target = tmp_path / "embase.csv"
    target.write_bytes(text.encode("utf-16-le"))

    with pytest.raises(ImportFormatError, match=r"embase\.csv, line 1: binary content"):
        read_records(target)


def test_medline_broken_continuation(tmp_path: Path):
    lines = (RENDERED / "cohen_adhd_sample.nbib").read_bytes().split(b"\n")
    wrapped = next(i for i, line in enumerate(lines) if line.startswith(b" " * 6))
    lines[wrapped] = lines[wrapped].lstrip()
    target = tmp_path / "broken.nbib"
    target.write_bytes(b"\n".join(lines))

    with pytest.raises(
        ImportFormatError, match=rf"broken\.nbib, line {wrapped + 1}: not a MEDLINE"
    ):
        read_records(target)


def test_xml_cut(tmp_path: Path):
    data = (IMPORT / "asreview_demo_data_historic" / "pubmed.xml").read_bytes()
    target = tmp_path / "cut.xml"
    target.write_bytes(data[: len(data) // 2])

    with pytest.raises(ImportFormatError, match=r"cut\.xml, line \d+: malformed XML"):
        read_records(target)


def test_xml_with_entity_declarations_is_refused(tmp_path: Path):
    data = (IMPORT / "asreview_demo_data_historic" / "pubmed.xml").read_bytes()
    target = tmp_path / "entities.xml"
    target.write_bytes(
        data.replace(
            b"<PubmedArticleSet>", b'<!DOCTYPE x [<!ENTITY a "aa">]>\n<PubmedArticleSet>', 1
        )
    )

    with pytest.raises(ImportFormatError, match=r"entities\.xml, line 3: entity declarations"):
        read_records(target)


def test_bibtex_cut_mid_entry(tmp_path: Path):
    data = (RENDERED / "cohen_adhd_sample.bib").read_bytes()
    last_entry = data.rindex(b"@article")
    target = tmp_path / "cut.bib"
    target.write_bytes(data[: last_entry + 200])

    line = line_at(data, last_entry)
    with pytest.raises(ImportFormatError, match=rf"cut\.bib, line {line}: BibTeX entry"):
        read_records(target)


def test_empty_files(tmp_path: Path):
    empty = tmp_path / "empty.ris"
    empty.write_bytes(b"\r\n")
    header_only = tmp_path / "header.csv"
    header_only.write_bytes(
        (IMPORT / "asreview_demo_data" / "record_id.csv").read_bytes().split(b"\n")[0]
    )

    with pytest.raises(EmptyImportError, match=r"empty\.ris: the file is empty"):
        read_records(empty)
    with pytest.raises(EmptyImportError, match=r"header\.csv: no records found"):
        read_records(header_only)


def test_xml_root_must_be_pubmed(tmp_path: Path):
    root = ET.parse(IMPORT / "asreview_demo_data_historic" / "pubmed.xml").getroot()
    target = tmp_path / "article.xml"
    target.write_bytes(ET.tostring(root.find("PubmedArticle")))

    with pytest.raises(ImportFormatError, match=r"article\.xml: root element is <PubmedArticle>"):
        read_records(target)


def test_parse_errors_keep_their_cause():
    with pytest.raises(ImportFormatError) as error:
        read_records(IMPORT / "asreview_demo_data" / "faulty_year.ris")

    assert isinstance(error.value.__cause__, ValueError)
