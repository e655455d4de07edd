"""503 `project_unpriceable`: a project whose events pricing cannot apply.

The worker parks such a project and goes on with the others (service_layer/isolation);
its live reads say so instead of serving finances that stopped at some position, and
`as_of` reads that replay into the failure say so too, instead of a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from services.recalc.adapters.unpriceable import describe
from shared.infra.dberrors import is_transient
from shared.infra.http import ApiError

log = logging.getLogger(__name__)

_AFTER = (
    " Other projects are unaffected; it is tried again when the worker restarts"
    " (after a fix or an upcaster) or the project has news"
)


def unpriceable_error(project_id: str, applied: int, error: str) -> ApiError:
    """The worker parked `project_id`: its finances stop at position `applied`."""
    return ApiError(
        503,
        "project_unpriceable",
        f"project {project_id!r} cannot be priced past position {applied}: {error}.{_AFTER}",
    )


@contextmanager
def pricing_errors(project_id: str, position: int) -> Iterator[None]:
    """Replaying `project_id` up to `position` failed in pricing: 503, not 500.
    Database errors and API errors pass through unchanged."""
    try:
        yield
    except ApiError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        log.error("project %s cannot be priced as of %d", project_id, position, exc_info=True)
        raise ApiError(
            503,
            "project_unpriceable",
            f"project {project_id!r} cannot be priced as of position {position}:"
            f" {describe(exc)}.{_AFTER}",
        ) from exc
