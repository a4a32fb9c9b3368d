import re
import shutil

import pytest

from classifier.relevance import DEFAULT_SETTING
from index.errors import ImportFormatError, NotFoundError, ValidationError
from tests.conftest import DATA

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


def test_import_embeds_once_and_builds_the_index(service, encoder, tmp_path):
    [summary] = service.import_files("adhd", [ADHD], question="ADHD drugs")
    assert summary["read"] == 851 and summary["added"] == 851
    assert summary["prior_labels"] == {"include": 20, "exclude": 831}
    assert summary["embedded"] > 800
    assert (service.data_dir / "indexes" / f"project-{summary['project_id']}.faiss").exists()
    first = encoder.encoded
    # Same file again: nothing added, nothing embedded.
    [again] = service.import_files("adhd", [ADHD])
    assert again["already_imported"] and encoder.encoded == first
    # Same records in another project: stored again, embedded from the cache.
    [other] = service.import_files("adhd-copy", [ADHD], ignore_labels=True)
    assert other["added"] == 851 and other["embedded"] == 0 and encoder.encoded == first
    assert other["prior_labels"] == {"include": 0, "exclude": 0}


def test_restart_rebuilds_nothing(service, encoder):
    from webapi.services import Screenwise

    service.import_files("adhd", [ADHD])
    service.close()
    fresh = Screenwise(service.home, encoder=encoder)
    before = encoder.encoded
    hits = fresh.search("adhd", "methylphenidate in children", k=3)
    assert len(hits) == 3 and encoder.encoded == before
    fresh.close()


def test_index_is_rebuilt_when_missing(service):
    [summary] = service.import_files("adhd", [ADHD])
    path = service.data_dir / "indexes" / f"project-{summary['project_id']}.faiss"
    path.unlink()
    service._vectors.clear()
    assert len(service.search("adhd", "methylphenidate", k=5)) == 5
    assert path.exists()


def test_search_filters(service):
    service.import_files("adhd", [ADHD])
    included = service.search("adhd", "stimulant treatment", k=50, filter="included")
    assert len(included) == 20 and all(h["decision"] == "include" for h in included)
    unscreened = service.search("adhd", "stimulant treatment", k=5, filter="unscreened")
    assert unscreened == []  # every record carries a prior label in this file
    hits = service.search("adhd", "stimulant treatment", k=5)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert {"record_id", "source_id", "score", "title"} <= set(hits[0])


def test_bad_input_names_the_problem(service, tmp_path):
    with pytest.raises(NotFoundError):
        service.search("nope", "x")
    service.import_files("adhd", [ADHD])
    with pytest.raises(ValidationError) as e:
        service.search("adhd", "x", filter="odd")
    assert e.value.field == "filter"
    broken = tmp_path / "broken.csv"
    broken.write_bytes(ADHD.read_bytes()[:5000] + b'\n1234,"unterminated')
    good = tmp_path / "good.csv"
    shutil.copy(ADHD, good)
    before = service.stats("adhd")
    with pytest.raises(ImportFormatError, match=r"broken\.csv"):
        service.import_files("adhd", [good, broken])
    assert service.stats("adhd") == before  # the good file was not stored either


IMPORT_FILES = sorted(p for p in (DATA / "import").rglob("*") if p.is_file() and p.suffix != ".py")
IMPORT_FILES = [p for p in IMPORT_FILES if p.name not in ("README.md", ".gitattributes")]


@pytest.mark.parametrize("path", IMPORT_FILES, ids=lambda p: str(p.relative_to(DATA / "import")))
def test_every_fixture_goes_through_the_whole_import(service, path):
    """Each export either lands whole (read = added + duplicates) or stores nothing at all."""
    from index import read_records

    try:
        expected = len(read_records(path))
    except ImportFormatError:
        with pytest.raises(ImportFormatError, match=re.escape(path.name)):
            service.import_files("p", [path])
        assert service.store.projects() == []
        return
    [summary] = service.import_files("p", [path])
    assert summary["read"] == expected
    assert summary["added"] + summary["duplicates"] == expected
    assert service.stats("p")["identified"] == expected


def test_a_restarted_service_reuses_the_saved_models(service, encoder):
    from webapi.services import Screenwise

    service.import_files("adhd", [ADHD], question="ADHD drugs")  # its labels become priors
    job = service.train("adhd")
    assert job["model"]["mode"] == "model"
    assert job["model"]["labels"] == {"include": 20, "exclude": 831}
    saved = service.model_info("adhd")["saved"]
    # The sidecar says what the models were trained with and how they did.
    assert saved["suite"] == "screenwise" and saved["relevance_setting"] == DEFAULT_SETTING
    assert saved["embedding_model"] == encoder.model_id
    assert saved["dimension"] == encoder.dimension
    assert saved["labels"] == {"include": 20, "exclude": 831}
    assert saved["training_seconds"] > 0 and 0.5 < saved["metrics"]["training_auc"] <= 1
    assert {"numpy", "scikit-learn"} <= set(saved["libraries"])
    folder = service.models_dir / f"project-{service.project('adhd').project_id}"
    assert sorted(p.name for p in folder.iterdir()) == [
        "relevance.json",
        "relevance.npz",
    ]
    service.close()
    fresh = Screenwise(service.home, encoder=encoder)
    info = fresh.model_info("adhd")
    assert info["current"]["trained_at"] == saved["trained_at"]  # loaded, not refitted
    assert fresh.queue("adhd", n=1)["items"] == []  # every record carries a prior label
    fresh.close()


def test_concurrent_queue_reads_and_decisions(service):
    import threading

    from index.errors import ConflictError

    service.import_files("adhd", [ADHD], question="ADHD drugs", ignore_labels=True)
    made, conflicts, failures = [], [], []

    def reviewer(number: int) -> None:
        try:
            for _ in range(10):
                item = service.queue("adhd", n=4)["items"][number]
                label = "include" if number == 0 else "exclude"
                try:
                    service.decide(
                        "adhd",
                        item["record_id"],
                        label=label,
                        reviewer=f"r{number}",
                        supersedes=None,
                    )
                    made.append(item["record_id"])
                except ConflictError:
                    conflicts.append(item["record_id"])
        except Exception as e:  # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(made) + len(conflicts) == 40
    # Every decision was made on an undecided record: no record was decided twice.
    assert len(set(made)) == len(made) == len(service.store.decisions(1))
    assert service.queue("adhd", n=1)["unscreened"] == 851 - len(made)
