"""The OpenAPI document describes what `POST /v1/events` takes, every event type with an
example, the error statuses, and the bearer scheme; the examples are what the ledger's
own parsing accepts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.cli.dev import build_app
from services.ledger.entrypoints.parsing import parse_batch
from shared.events import EVENT_TYPES
from shared.events.batch import EventBatch
from shared.events.examples import EXAMPLES
from shared.infra.auth import SCOPES, Principal
from shared.infra.settings import Settings

NOWHERE = "postgresql://nobody@127.0.0.1:1/nothing"
INPUT_TYPES = {name for name, cls in EVENT_TYPES.items() if not cls.internal}


def _spec() -> dict:  # type: ignore[type-arg]
    return build_app(Settings(database_url=NOWHERE, token_secret="s" * 40)).openapi()


def test_post_events_takes_a_batch_of_every_input_type_with_an_example_each() -> None:
    spec = _spec()
    op = spec["paths"]["/v1/events"]["post"]
    content = op["requestBody"]["content"]["application/json"]
    assert content["schema"] == {"$ref": "#/components/schemas/EventBatch"}
    assert set(content["examples"]) == INPUT_TYPES
    schemas = spec["components"]["schemas"]
    union = schemas["EventBatch"]["properties"]["events"]["items"]
    assert union["discriminator"]["propertyName"] == "type"
    assert set(union["discriminator"]["mapping"]) == INPUT_TYPES
    assert {"200", "201", "400", "401", "403", "409", "413", "422", "503"} <= set(op["responses"])
    assert op["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert op["security"] == [{"bearer": []}]


def test_every_route_but_health_declares_its_answer_and_its_errors() -> None:
    for path, item in _spec()["paths"].items():
        for method, op in item.items():
            if path in ("/healthz", "/readyz"):
                continue
            codes = set(op["responses"])
            assert "401" in codes and "422" in codes, (method, path)


def test_the_examples_are_one_valid_history_for_the_model_and_the_parser() -> None:
    assert {name for name, _ in EXAMPLES} == INPUT_TYPES
    body = {"events": [{"type": name, "data": data} for name, data in EXAMPLES]}
    assert len(EventBatch.model_validate(body).events) == len(EXAMPLES)
    who = Principal(subject="t", scopes=frozenset(SCOPES))
    assert len(parse_batch(body, who)) == len(EXAMPLES)


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": [{"type": "HoursLogged", "data": {"hour_id": "h"}}]},
        {"events": [{"type": "ProjectFinancesChanged", "data": {}}]},
        {"events": [{"type": "JobRoleDefined", "data": {"role_id": "r", "name": "R"}, "x": 1}]},
    ],
)
def test_the_model_refuses_what_the_parser_refuses(body: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError):
        EventBatch.model_validate(body)
