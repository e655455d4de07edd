"""The OpenAPI document of a Tally process: what FastAPI makes of the routes, plus the
request bodies the routes read themselves.

The write routes read their body themselves (`parsing.py`: a size cap, strict JSON,
and refusals in the contract's error shape, with the index of the event at fault), so
FastAPI cannot see their models. A route names its body with `request_body(Model)`
(a reference, and the model's import path under `x-model`, since the document must be
plain JSON); `openapi()` puts every such model, and the models it refers to, under
`components/schemas`.
"""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

_REF = "#/components/schemas/{model}"
_MODEL_KEY = "x-model"


def request_body(
    model: type[BaseModel], examples: dict[str, Any] | None = None, *, required: bool = True
) -> dict[str, Any]:
    """`openapi_extra=` of a route that reads a JSON body of `model` itself."""
    path = f"{model.__module__}:{model.__qualname__}"
    content: dict[str, Any] = {"schema": {"$ref": _REF.format(model=model.__name__)}}
    content[_MODEL_KEY] = path
    if examples:
        content["examples"] = examples
    return {"requestBody": {"required": required, "content": {"application/json": content}}}


def _take_models(node: Any, found: dict[str, type[BaseModel]]) -> Any:
    """`node` without its `x-model` keys, the models they name put in `found`."""
    if isinstance(node, dict):
        path = node.get(_MODEL_KEY)
        if isinstance(path, str):
            module, _, name = path.partition(":")
            model = getattr(importlib.import_module(module), name)
            found[model.__name__] = model
        return {k: _take_models(v, found) for k, v in node.items() if k != _MODEL_KEY}
    if isinstance(node, list):
        return [_take_models(v, found) for v in node]
    return node


def install_openapi(app: FastAPI, description: str) -> None:
    """Make `app.openapi()` the whole document (built once, on first request)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, description=description, routes=app.routes
            )
            models: dict[str, type[BaseModel]] = {}
            spec = _take_models(spec, models)
            if models:
                _, defs = models_json_schema(
                    [(m, "validation") for m in models.values()], ref_template=_REF
                )
                schemas = spec.setdefault("components", {}).setdefault("schemas", {})
                for name, schema in defs.get("$defs", {}).items():
                    schemas.setdefault(name, schema)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
