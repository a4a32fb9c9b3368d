"""Acceptance: question search with the real model finds each drug class's records.

One question per Cohen drug-class review, written as a reviewer would phrase the review's topic;
for at least 10 of the 13 classes, at least 7 of the top 10 hits must carry that class's theme.
"""

import pytest

from tests.conftest import DATA
from webapi.services import Screenwise

pytestmark = pytest.mark.model

QUESTIONS = {
    "ADHD": "drug treatment of attention deficit hyperactivity disorder",
    "Antihistamines": "antihistamines for allergic rhinitis and urticaria",
    "AtypicalAntipsychotics": "atypical antipsychotics for schizophrenia",
    "BetaBlockers": "beta blockers for hypertension and heart failure",
    "CalciumChannelBlockers": "calcium channel blockers for hypertension and angina",
    "Estrogens": "estrogen replacement therapy for menopausal symptoms",
    "NSAIDS": "nonsteroidal anti-inflammatory drugs for arthritis pain",
    "Opiods": "long-acting opioids for chronic pain",
    "OralHypoglycemics": "oral hypoglycemic agents for type 2 diabetes",
    "ProtonPumpInhibitors": "proton pump inhibitors for gastro-oesophageal reflux",
    "SkeletalMuscleRelaxants": "skeletal muscle relaxants for spasticity and back pain",
    "Triptans": "triptans for acute migraine",
    "UrinaryIncontinence": "drugs for overactive bladder and urinary incontinence",
}


@pytest.fixture(scope="module")
def themed(tmp_path_factory, cached_encoder):
    # The real model's vectors, from the test cache after the first run (conftest.py).
    service = Screenwise(tmp_path_factory.mktemp("home"), encoder=cached_encoder)
    service.import_files("themes", [DATA / "themes" / "cohen_drug_classes.csv"])
    yield service
    service.close()


def test_question_search_finds_each_class(themed):
    project = themed.project("themes")
    themes = themed.store.current_themes(project.project_id)
    assert len(themes) == 2016
    precision = {}
    for theme, question in QUESTIONS.items():
        hits = themed.search("themes", question, k=10)
        precision[theme] = sum(theme in themes[h["record_id"]] for h in hits)
    passed = [t for t, n in precision.items() if n >= 7]
    assert len(passed) >= 10, precision
