from index.dedup import DedupIndex, DedupKeys
from index.records import Record, normalise_doi, normalise_pmid, title_key

TITLE = "Methylphenidate for attention deficit hyperactivity disorder in adults"


def keys(**kw) -> DedupKeys:
    return DedupKeys.of(Record(**kw))


def test_normalisers():
    assert normalise_doi("https://doi.org/10.1000/ABC.1") == "10.1000/abc.1"
    assert normalise_doi("doi: 10.1/x.") == "10.1/x"
    assert normalise_doi("not a doi") == ""
    assert normalise_pmid("PMID: 0012345") == "12345"
    assert title_key("Éfficacy of  X-ray: a review.") == "efficacy of x ray a review"


def test_matches_by_doi_pmid_and_title():
    index = DedupIndex()
    index.add(1, keys(title=TITLE, doi="10.1/a", year=2001))
    index.add(2, keys(title="Another, unrelated long title about opioids", pmid="999"))
    assert index.match(keys(title="x", doi="https://doi.org/10.1/A")) == (1, "doi")
    assert index.match(keys(title="x", pmid="PMID 999")) == (2, "pmid")
    assert index.match(keys(title=TITLE.upper() + ".", year=2001)) == (1, "title")
    assert index.match(keys(title=TITLE, year=None)) == (1, "title")


def test_same_title_but_different_work_is_not_a_duplicate():
    index = DedupIndex()
    index.add(1, keys(title=TITLE, doi="10.1/a", year=2001))
    assert index.match(keys(title=TITLE, year=2005)) is None
    assert index.match(keys(title=TITLE, doi="10.1/b", year=2001)) is None
    assert index.match(keys(title="Editorial")) is None  # short titles never match
