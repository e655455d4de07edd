"""A bulk recalculation request becomes one stored event per project (R10.9).

Rules: docs/rules.md#r10.9; contract: docs/contract.md#idempotency.
"""

from __future__ import annotations

import uuid

from shared.events import FinancesRecalculationRequested


def split_recalculation(
    event_id: uuid.UUID, request: FinancesRecalculationRequested
) -> list[tuple[uuid.UUID, FinancesRecalculationRequested]]:
    """One (event id, event) per distinct project, in first-mention order.

    A request naming one project is stored as sent. For several, each part's id is
    `uuid5(request id, project id)`: a retried request yields the same ids, so the
    idempotency rule makes the retry harmless.
    """
    projects = list(dict.fromkeys(request.project_ids))
    if len(projects) == 1:
        if len(request.project_ids) == 1:
            return [(event_id, request)]
        return [(event_id, _one(request, projects[0]))]
    return [(uuid.uuid5(event_id, p), _one(request, p)) for p in projects]


def _one(
    request: FinancesRecalculationRequested, project_id: str
) -> FinancesRecalculationRequested:
    if "scope" in request.provided():
        return FinancesRecalculationRequested(project_ids=(project_id,), scope=request.scope)
    return FinancesRecalculationRequested(project_ids=(project_id,))
