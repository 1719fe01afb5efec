"""Schemathesis over the server's own OpenAPI document, against a real uvicorn: zero failures.

Every operation gets positive and negative cases (valid and invalid by the schema), bounded
for CI by `PLASTICVISION_FUZZ_EXAMPLES` per operation and mode and by a time cap per
operation; each response must not be a 5xx and must match what the document says about its
status code, media type and body. The streaming endpoints (SSE, results) answer unknown ids
at once, so the fuzzer never waits on them.
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.live_uvicorn import serving

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("PLASTICVISION_FUZZ_EXAMPLES", "12"))
CAP_PER_OPERATION_S = 20.0  # the fuzzer stops generating for an operation after this (CI has 2 cores)
MIN_CASES = 100  # fewer means operations went missing from the run


def fuzz_operation(operation, base_url: str, mode: GenerationMode, deadline: float) -> int:
    """Run up to EXAMPLES cases of one operation; returns how many ran."""
    ran = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        nonlocal ran
        if time.monotonic() > deadline:
            return
        ran += 1
        case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)

    try:
        run()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise  # an operation without parameters has no invalid input to try
    return ran


@pytest.mark.slow
def test_the_api_keeps_its_openapi_promises_under_fuzzing(make_app, capsys):
    app = make_app(max_upload_mb=2, upload_grace_s=5)
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14, [op.label for op in operations]
    counts: dict[str, int] = {}
    with serving(app) as base_url:
        for operation in operations:
            deadline = time.monotonic() + CAP_PER_OPERATION_S
            counts[operation.label] = sum(
                fuzz_operation(operation, base_url, mode, deadline)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            )
    total = sum(counts.values())
    with capsys.disabled():
        print(f"\nschemathesis: {total} cases over {len(counts)} operations, 0 failures: {counts}")
    assert total >= MIN_CASES, counts
