"""Property-based API fuzzing with Schemathesis, shared by the suite's bounded run
(tests/test_api_fuzz.py) and ``make fuzz`` (more examples per operation).

Every operation of the OpenAPI document is called with generated parameters and bodies, as an
administrator, against the real app (fake encoder) holding one small project; every response
must be no 5xx and must match the document (status, media type, body schema)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import hypothesis
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fakes import HashingEncoder
from webapi import create_app
from webapi.access import new_token, token_hash
from webapi.services import Screenwise

DATA = Path(__file__).parent / "data"
PROJECT_FILE = DATA / "import" / "van_de_Schoot_2017" / "schoot-lgmm-ptsd-included-3.ris"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Archiving the project would leave the operations after it nothing to work on: it goes last.
LAST = ("DELETE", "/api/projects/{project}")


@dataclasses.dataclass
class Outcome:
    cases: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)


def fuzz(home: Path, examples: int, *, seed: int | None = None) -> Outcome:
    """Call every operation ``examples`` times (at most); the failures, described."""
    service = Screenwise(home, encoder=HashingEncoder())
    try:
        return _fuzz(service, examples, seed)
    finally:
        service.close()


def _cases(operation):
    """Valid requests and, as often, requests the document says are invalid (4xx expected)."""
    try:
        negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    except Exception:  # an operation with nothing to break (no parameters, no body)
        return operation.as_strategy()
    return st.one_of(operation.as_strategy(), negative)


def _admin_token(service: Screenwise) -> str:
    token = new_token()
    service.store.add_token("fuzz", token_hash(token), label="fuzz", actor="fuzz")
    return token


def _fuzz(service: Screenwise, examples: int, seed: int | None) -> Outcome:
    service.store.create_reviewer("fuzz", is_admin=True, actor="fuzz")
    service.create_project("p", "trauma trajectories", themes=["ptsd"], maintainer="fuzz")
    service.import_files("p", [PROJECT_FILE])
    app = create_app({"TESTING": True, "HOME": str(service.home), "SCREENWISE_SERVICE": service})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    record_ids = [r["record_id"] for r in service.records("p", limit=5)["items"]]
    real_values = {"project": "p", "name": "fuzz", "record_id": record_ids[0]}
    outcome = Outcome()
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: (op.method.upper(), op.path) == LAST,
    )
    for operation in operations:
        _fuzz_operation(operation, service, outcome, examples, seed, real_values)
    return outcome


def _fuzz_operation(
    operation, service: Screenwise, outcome: Outcome, examples: int, seed, real_values
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=_cases(operation), real=st.booleans())
    def call(case, real: bool) -> None:
        # Half the calls reach the real project, reviewer and record; half go anywhere.
        for name, value in real_values.items():
            if real and name in (case.path_parameters or {}):
                case.path_parameters[name] = value
        # A fresh token each time: a generated DELETE /api/tokens/{id} may revoke one.
        token = _admin_token(service)
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        outcome.cases += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as e:
            outcome.failures.append(f"{label}: {e}")

    if seed is not None:
        call = hypothesis.seed(seed)(call)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call()


def main() -> None:
    """``make fuzz``: the larger run; prints cases tried and failures, exits 1 on any."""
    import argparse
    import sys
    import tempfile
    import time

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=100, help="calls per operation, at most")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: fixed)")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="screenwise-fuzz-") as home:
        outcome = fuzz(Path(home), args.examples, seed=args.seed)
    for failure in outcome.failures:
        print(failure, end="\n\n")
    print(
        f"schemathesis: {outcome.cases} cases tried, {len(outcome.failures)} failures "
        f"({args.examples} examples per operation at most, "
        f"{time.perf_counter() - started:.0f} s)"
    )
    sys.exit(1 if outcome.failures else 0)


if __name__ == "__main__":
    main()
