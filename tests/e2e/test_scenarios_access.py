"""Credentials on the finance reads, end to end (api.md "Credentials and scopes")."""

from __future__ import annotations

import httpx
import pytest
from support.client import Tally
from support.events import new_id, project
from support.system import SECRET, System

from shared.infra.auth import create_token

pytestmark = pytest.mark.e2e


async def test_finance_reads_need_a_token_with_their_scope(
    tally: Tally, tally_system: System
) -> None:
    p = new_id("P")
    [position] = await tally.post(project(p))
    await tally.finances(p)  # caught up
    path = f"/v1/projects/{p}/finances"
    async with httpx.AsyncClient(base_url=tally_system.url, timeout=30) as anonymous:
        answer = await anonymous.get(path)
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, "unauthorized")
        writer = create_token(SECRET, "writer", ["events:write"])
        answer = await anonymous.get(path, headers={"Authorization": f"Bearer {writer}"})
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")
        reader = create_token(SECRET, "reader", ["finance:read"])
        answer = await anonymous.get(
            path,
            params={"min_position": position},
            headers={"Authorization": f"Bearer {reader}"},
        )
        assert (answer.status_code, answer.json()["actual_cost"]) == (200, "0.00")
