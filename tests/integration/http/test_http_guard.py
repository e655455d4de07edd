"""No unhandled error answers in plain text or drops the connection; every answer
carries a request id; 405 names what is allowed; parameters are bounded (api.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from fastapi import APIRouter
from http_kit import ALL, served, settings_for, tally_app

pytestmark = pytest.mark.integration

boom = APIRouter()


@boom.get("/boom")
async def _boom() -> None:
    raise RuntimeError("postgresql://admin:hunter2@db/x is not a thing")  # must not leak


@pytest.fixture
async def base_url(database_url: str) -> AsyncIterator[str]:
    settings = settings_for(database_url)
    async with served(tally_app(settings, [boom]), settings) as url:
        yield url


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[str, str], bytes]:
    """One request on an open HTTP/1.1 connection: status, headers, body."""
    writer.write(request)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)}
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


async def test_an_unhandled_error_is_json_and_the_connection_stays_usable(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        with caplog.at_level(logging.ERROR, logger="shared.infra.http"):
            status, headers, body = await _exchange(
                reader,
                writer,
                b"GET /boom HTTP/1.1\r\nHost: t\r\nX-Request-Id: req-42.a\r\n\r\n",
            )
        assert status == 500
        assert headers["content-type"] == "application/json"
        assert headers["x-request-id"] == "req-42.a"
        assert "connection" not in headers or headers["connection"] != "close"
        err = orjson.loads(body)["error"]
        assert err == {
            "code": "internal_error",
            "message": err["message"],
            "request_id": "req-42.a",
        }
        assert b"hunter2" not in body and b"RuntimeError" not in body
        # the traceback is logged, with the request id
        logged = [r for r in caplog.records if "req-42.a" in r.getMessage()]
        assert logged and logged[0].exc_info is not None
        # the same connection answers the next request
        status, headers, body = await _exchange(
            reader, writer, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        assert (status, orjson.loads(body)) == (200, {"status": "ok"})
        assert len(headers["x-request-id"]) == 32  # none given: one is made
    finally:
        writer.close()


async def test_httpx_reuses_its_connection_after_a_500(base_url: str) -> None:
    transport = httpx.AsyncHTTPTransport()
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        first = await client.get("/boom", headers={"X-Request-Id": "bad id with spaces"})
        assert first.status_code == 500
        rid = first.headers["x-request-id"]
        assert rid != "bad id with spaces" and first.json()["error"]["request_id"] == rid
        pool = transport._pool  # one connection, still open after the 500 ...
        assert len(pool.connections) == 1
        conn = pool.connections[0]
        second = await client.get("/healthz")
        assert second.status_code == 200
        assert pool.connections == [conn]  # ... and the next request went over it


async def test_405_carries_allow(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        resp = await client.delete("/v1/events", headers=ALL)
    assert resp.status_code == 405
    assert set(resp.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert resp.json()["error"]["code"] == "method_not_allowed"
    assert resp.headers["x-request-id"]


BAD = [
    ("/v1/events?after=9223372036854775808", "after"),
    ("/v1/events?after=-1", "after"),
    ("/v1/events?stream=a%00b", "stream"),
    ("/v1/events?type=a%00b", "type"),
    ("/v1/events?stream=" + "a" * 300, "stream"),
    ("/v1/projects/x/finances?min_position=9223372036854775808", "min_position"),
    ("/v1/projects/x/hours?min_position=9223372036854775808", "min_position"),
    ("/v1/projects/x/finances?as_of=9223372036854775808", "as_of"),
    ("/v1/projects/x/tasks?as_of=99999999999999999999999", "as_of"),
    ("/v1/billing-records/r?min_position=9223372036854775808", "min_position"),
    ("/v1/projects/a%00b/finances", "project_id"),
    ("/v1/projects/a%20b/tasks", "project_id"),
    ("/v1/projects/" + "p" * 201 + "/hours", "project_id"),
    ("/v1/billing-records/a%00b", "billing_record_id"),
    ("/v1/projects/p/hours/a%00b/history", "hour_id"),
    ("/v1/projects/a%00b/hours/h/history", "project_id"),
]


@pytest.mark.parametrize(("path", "field"), BAD)
async def test_out_of_range_or_malformed_parameters_are_422(
    base_url: str, path: str, field: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        resp = await client.get(path, headers=ALL)
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert (err["code"], err["field"]) == ("invalid_field", field)


async def test_a_bad_id_in_a_recalculation_path_is_422(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        resp = await client.post("/v1/projects/a%00b/recalculate", json={}, headers=ALL)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "project_id"


async def test_the_largest_position_is_accepted(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        resp = await client.get("/v1/events", params={"after": 2**63 - 1}, headers=ALL)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"events": [], "next_after": 2**63 - 1}
        resp = await client.get(
            "/v1/events", params={"stream": "project-P", "type": "HoursLogged"}, headers=ALL
        )
        assert resp.status_code == 200, resp.text
