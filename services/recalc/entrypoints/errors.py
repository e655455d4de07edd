"""503 `project_unpriceable`: a project whose events pricing cannot apply.

The worker parks such a project and goes on with the others (service_layer/isolation);
its live reads say so instead of serving finances that stopped at some position, and
`as_of` reads that replay into the failure say so too, instead of a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from services.recalc.service_layer.isolation import CannotPrice
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
def pricing_errors() -> Iterator[None]:
    """A replay (`as_of`, an hour's history) that pricing cannot carry out: 503, not 500."""
    try:
        yield
    except CannotPrice as exc:
        log.error("%s", exc, exc_info=True)
        raise ApiError(503, "project_unpriceable", f"{exc}.{_AFTER}") from exc
