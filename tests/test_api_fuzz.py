"""Schemathesis over the whole API, bounded: a few generated calls per operation, as an
administrator, none answering 5xx or outside the OpenAPI document (``make fuzz`` runs more)."""

from tests.fuzz_api import fuzz


def test_generated_calls_get_documented_answers_and_no_5xx(tmp_path):
    outcome = fuzz(tmp_path, examples=4)
    assert outcome.cases > 50
    assert outcome.failures == [], "\n\n".join(outcome.failures[:5])
