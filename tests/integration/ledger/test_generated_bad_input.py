"""Issue 15.3: valid batches, mutated, posted to the ledger: never a 5xx, every
refusal in the one error shape (a known code, a short message, the event and the
field when the defect lies inside an event), and nothing appended by a refused batch.

Each example builds a batch of 1 to 5 valid events (fresh ids per example, so the
unmutated batch is always appended), applies one mutation, writes the body text
itself (so it can repeat keys, nest deeply, carry raw numbers and escapes) and posts
it, at times together with a valid batch of another client (the two may share a
group append: the valid one must still be appended). The log's head is read before
and after each example: a refusal appends nothing, an acceptance exactly its events.

Also generated: GET /v1/events with query parameters out of bounds (422 naming the
parameter) and the recalculation routes' bodies and path ids. One database for the
module; `pytest --hypothesis-show-statistics` shows which mutation got which status.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ledger_http_kit import ALL, env, ledger_client

from shared.events import EVENT_TYPES
from shared.events.types import MAX_DATE, MAX_MONEY, MIN_DATE

pytestmark = pytest.mark.integration

# --- the log before the examples ------------------------------------------------------

SETUP = [
    env("JobRoleDefined", role_id="R", name="Consultant"),
    env("JobRoleDefined", role_id="R2", name="Architect"),
    env("UserDefined", user_id="U", name="Ada", primary_role_id="R", other_role_ids=["R2"]),
    env("CompanyDefined", company_id="C", name="Acme"),
    env("ProjectCreated", project_id="P", name="P", company_id="C"),
    env(
        "TaskCreated",
        task_id="T",
        project_id="P",
        name="T",
        assignments=[{"user_id": "U", "role_id": "R", "allocation_percent": "50"}],
    ),
]

#: Codes of api.md, and those the ledger added for what api.md leaves open.
KNOWN_CODES = frozenset(
    {
        "malformed_json",
        "payload_too_large",
        "unauthorized",
        "forbidden",
        "unknown_event_type",
        "missing_field",
        "invalid_field",
        "unknown_field",
        "invalid_batch_size",
        "duplicate_id",
        "event_id_conflict",
        "rate_periods_overlap",
        "rate_period_invalid",
        "cost_rates_not_allowed",
        "invalid_date_range",
        "hour_locked",
        "hour_in_billing_record",
        "expense_locked",
        "expense_in_billing_record",
        "task_locked",
        "task_on_billing_record",
        "task_not_in_project",
        "task_already_in_project",
        "billing_record_billed",
        "item_not_eligible",
        "item_wrong_project",
        "item_in_other_record",
        "item_not_in_record",
        "not_found",
        "unsupported_media_type",
    }
    | {
        f"unknown_{kind}"
        for kind in (
            "project",
            "task",
            "user",
            "role",
            "company",
            "hour",
            "expense",
            "billing_record",
        )
    }
)
#: Refusals that concern the request, not one event: no event or field to name.
WHOLE_REQUEST = frozenset({400, 401, 403, 413, 415})
MAX_MESSAGE = 400


@dataclass
class Ledger:
    client: httpx.AsyncClient
    head: int  # the last position of the log


@pytest.fixture(scope="module")
async def ledger(pg_server: Any) -> AsyncIterator[Ledger]:
    """One database for the module: the examples share it, each with ids of its own."""
    url = await pg_server.new_database()
    async with ledger_client(url) as client:
        resp = await client.post("/v1/events", json={"events": SETUP}, headers=ALL)
        assert resp.status_code == 201, resp.text
        yield Ledger(client, max(e["position"] for e in resp.json()["events"]))


_examples = itertools.count()

# --- writing the body text ------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text put into the body as it is (a raw number, an escape, deep nesting)."""

    text: str


class Pairs(list[tuple[str, Any]]):
    """A JSON object written member by member, so a key may appear twice."""


class Escaped(str):
    """A key written with \\uXXXX escapes only."""


def key_text(key: str, ascii_only: bool) -> str:
    if isinstance(key, Escaped):
        return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'
    return json.dumps(key, ensure_ascii=ascii_only)


def to_json(value: Any, ascii_only: bool) -> str:
    """The body text; an explicit stack, as values may nest deeply (Raw aside)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Raw):
            out.append(item.text)
        elif isinstance(item, dict | Pairs):
            members = list(item.items()) if isinstance(item, dict) else list(item)
            parts: list[Any] = [Raw("{")]
            for i, (key, member) in enumerate(members):
                sep = "," if i else ""
                parts += [Raw(sep + key_text(key, ascii_only) + ":"), member]
            parts.append(Raw("}"))
            stack.extend(reversed(parts))
        elif isinstance(item, list | tuple):
            parts = [Raw("[")]
            for i, member in enumerate(item):
                parts += [Raw(",")] if i else []
                parts.append(member)
            parts.append(Raw("]"))
            stack.extend(reversed(parts))
        else:
            out.append(json.dumps(item, ensure_ascii=ascii_only))
    return "".join(out)


# --- valid base events ----------------------------------------------------------------


def plain(value: Decimal) -> str:
    return format(value, "f")


dates = st.dates(MIN_DATE, MAX_DATE)
money = st.one_of(
    st.decimals(min_value=0, max_value=MAX_MONEY, places=4).map(plain),
    st.decimals(min_value=0, max_value=10**6, places=2).map(plain),
    st.integers(0, 10**9),
)
texts = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
)
KINDS = (
    "role",
    "user",
    "company",
    "rates",
    "project",
    "project_update",
    "task",
    "hours",
    "expense",
    "billing",
    "recalc",
)


def sorted_pair(pair: tuple[date, date]) -> tuple[str, str]:
    a, b = sorted(pair)
    return a.isoformat(), b.isoformat()


@st.composite
def rate_periods(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1 to 3 periods that do not overlap (inclusive bounds); the first may be open."""
    days = sorted(draw(st.sets(dates, min_size=1, max_size=3)))
    periods: list[dict[str, Any]] = []
    for i, start in enumerate(days):
        period: dict[str, Any] = {"value": draw(money)}
        if i or draw(st.booleans()):
            period["start_date"] = start.isoformat()
        if i + 1 < len(days):
            period["end_date"] = (days[i + 1] - timedelta(days=1)).isoformat()
        periods.append(period)
    return periods


def base_event(kind: str, draw: st.DrawFn, ids: Iterator[str], made: dict[str, str]) -> Any:
    """One valid event of `kind`; `made` holds the last project and task of the batch,
    which later events use (so reordering the batch means using before creating)."""
    if kind == "role":
        return env("JobRoleDefined", role_id=next(ids), name=draw(texts))
    if kind == "user":
        return env(
            "UserDefined",
            user_id=next(ids),
            name=draw(texts),
            primary_role_id="R",
            other_role_ids=["R2"],
        )
    if kind == "company":
        return env("CompanyDefined", company_id=next(ids), name=draw(texts))
    if kind == "rates":
        return env(
            "RatesSet",
            level="role",
            rate_type=draw(st.sampled_from(["cost", "billing"])),
            role_id="R",
            periods=draw(rate_periods()),
        )
    if kind == "project":
        made["project"] = pid = next(ids)
        start, end = sorted_pair(draw(st.tuples(dates, dates)))
        return env(
            "ProjectCreated",
            project_id=pid,
            name=draw(texts),
            company_id="C",
            planned_start=start,
            planned_completion=end,
            budget=draw(money),
            fixed_revenue=draw(money),
            billed_locks_cost=draw(st.booleans()),
        )
    if kind == "project_update":
        return env("ProjectUpdated", project_id=made.get("project", "P"), budget=draw(money))
    if kind == "task":
        made["task"] = tid = next(ids)
        return env(
            "TaskCreated",
            task_id=tid,
            project_id=made.get("project", "P"),
            name=draw(texts),
            planned_hours=draw(st.decimals(0, 10**7, places=2).map(plain)),
            cost_type="role_hourly",
            assignments=[
                {"user_id": "U", "role_id": "R", "allocation_percent": "50"},
                {"role_id": "R2", "allocation_percent": 25},
            ],
        )
    if kind == "hours":
        return env(
            "HoursLogged",
            hour_id=next(ids),
            owner_id="U",
            task_id=made.get("task", "T"),
            entry_date=draw(dates).isoformat(),
            hours=draw(st.decimals("0.01", 24, places=2).map(plain)),
            counts_as_revenue=draw(st.booleans()),
        )
    if kind == "expense":
        return env(
            "ExpenseRecorded",
            expense_id=next(ids),
            project_id=made.get("project", "P"),
            expense_type=draw(texts),
            planned_amount=draw(money),
            actual_amount=draw(money),
            paid_date=draw(dates).isoformat(),
            billable=draw(st.booleans()),
            currency="EUR",
        )
    if kind == "recalc":  # a bulk request: the ledger stores one event per project
        projects = ["P", made.get("project", "P")]
        return env(
            "FinancesRecalculationRequested",
            project_ids=draw(st.permutations(projects)),
            scope=draw(st.sampled_from(["all", "planned"])),
        )
    assert kind == "billing"
    return env(
        "BillingRecordCreated",
        billing_record_id=next(ids),
        project_id=made.get("project", "P"),
        description=draw(texts),
        billing_date=draw(dates).isoformat(),
        po_number=draw(texts),
        additional_amount=draw(money),
    )


def base_batch(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = next(_examples)
    ids = (f"g{n}x{i}" for i in itertools.count())
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    made: dict[str, str] = {}
    return [base_event(kind, draw, ids, made) for kind in kinds]


# --- where and how to mutate ------------------------------------------------------------

Path = tuple[str | int, ...]


def nodes(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every value under `value` with its path (not `value` itself)."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*path, key), item
        yield from nodes(item, (*path, key))


def field_of(path: Path) -> str:
    """A path as the error's `field` names it: `data.periods[0].value`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parent_and_key(event: dict[str, Any], path: Path) -> tuple[Any, str | int]:
    parent: Any = event
    for part in path[:-1]:
        parent = parent[part]
    return parent, path[-1]


def get(event: dict[str, Any], path: Path) -> Any:
    parent, key = parent_and_key(event, path)
    return parent[key]


def put(event: dict[str, Any], path: Path, value: Any) -> None:
    parent, key = parent_and_key(event, path)
    parent[key] = value


NUMERIC_KEYS = frozenset(
    {
        "value",
        "budget",
        "fixed_revenue",
        "planned_hours",
        "hours",
        "allocation_percent",
        "planned_amount",
        "actual_amount",
        "additional_amount",
    }
)
HUGE = 100_000
others = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1.5, "", "x", [], [1], {}, {"a": 1}]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
#: Amounts the limits refuse: (JSON text or value, whether the JSON itself is bad).
BAD_NUMBERS: list[tuple[Any, bool]] = [
    ("-1", False),
    ("-0.01", False),
    ("1" + "0" * 59, False),
    ("1e999", False),
    ("1e3", False),
    ("1.12345", False),
    ("NaN", False),
    ("Infinity", False),
    ("-Infinity", False),
    (" 5", False),
    ("1_000", False),
    ("0x10", False),
    ("9" * HUGE, False),
    (Raw("-1"), False),
    (Raw("-0.5"), False),
    (Raw("9" * 60), False),
    (Raw("1.12345"), False),
    (Raw("1e999"), True),
    (Raw("NaN"), True),
    (Raw("Infinity"), True),
    (Raw("9" * 5000), True),
]
BAD_IDS = ["", "x" * 201, "a b", " a", "a\tb", "a/b", "ünï", "a" * HUGE, "a\u2028b"]
BAD_DATES: list[Any] = [
    "1899-12-31",
    "2200-01-01",
    "0001-01-01",
    "9999-12-31",
    "2023-02-30",
    "2023-13-01",
    "2023-1-1",
    "1687132800",
    "2023-01-01T00:00:00",
    "2023-01-01 ",
    0,
    1687132800,
    1.5,
]


@dataclass
class Mutated:
    """A body to post and what to expect of it."""

    name: str
    body: Any
    event: int | None = None  # the event the defect is in, if one
    path: Path | None = None  # where in that event
    refused: bool = True  # never appended
    status: int | None = None  # exactly this status, when known
    code: str | None = None  # exactly this code, when known
    exact_field: bool = False  # the field is exactly `path`, not an ancestor of it
    content_type: str = "application/json"


def id_paths(event: dict[str, Any]) -> list[Path]:
    return [
        p
        for p, v in nodes(event)
        if isinstance(v, str)
        and p != ("event_id",)
        and (str(p[-1]).endswith("_id") or str(p[-2] if len(p) > 1 else "").endswith("_ids"))
    ]


@st.composite
def mutations(draw: st.DrawFn) -> Mutated:
    batch = base_batch(draw)
    kind = draw(
        st.sampled_from(
            [
                "drop",
                "retype",
                "bad_number",
                "huge",
                "nul",
                "surrogate",
                "deep",
                "unknown_field",
                "unknown_type",
                "duplicate_key",
                "bad_id",
                "bad_date",
                "bad_event_id",
                "reorder",
                "batch_size",
                "body_shape",
                "bad_utf8",
                "escaped",
                "event_ids",
                "raw_number",
                "oversize",
                "content_type",
                "none",
            ]
        )
    )
    if kind == "none":
        return Mutated(kind, {"events": batch}, refused=False, status=201)
    if kind == "reorder":
        # later events use the batch's new project and task: now before they exist
        return Mutated(kind, {"events": batch[::-1]}, refused=False)
    if kind == "batch_size":
        size = draw(st.sampled_from([0, 1001, 1500]))
        events = (batch * size)[:size]
        return Mutated(kind, {"events": events}, status=422, code="invalid_batch_size")
    if kind == "oversize":  # over TALLY_MAX_BODY_BYTES (5 MiB)
        batch[0]["data"]["name"] = "x" * (5 * 2**20 + 1)
        return Mutated(kind, {"events": batch}, status=413, code="payload_too_large")
    if kind == "content_type":
        content_type = draw(
            st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "json", "*/*"])
        )
        return Mutated(
            kind,
            {"events": batch},
            status=415,
            code="unsupported_media_type",
            content_type=content_type,
        )
    if kind == "event_ids":
        # client ids, some repeated inside the batch or taken from the setup's events
        pool = draw(st.lists(st.uuids().map(str), min_size=1, max_size=3))
        for event in batch:
            if draw(st.booleans()):
                event["event_id"] = draw(st.sampled_from(pool))
        return Mutated(kind, {"events": batch}, refused=False)
    if kind == "body_shape":
        body = draw(
            st.sampled_from(
                [
                    Raw("null"),
                    [],
                    "events",
                    1,
                    {},
                    {"events": {}},
                    {"events": "x"},
                    {"events": None},
                    {"events": batch, "extra": 1},
                    {"events": [*batch, 1]},
                    {"events": [*batch, []]},
                    Raw('{"events": ['),
                    Raw('{"events": []} x'),
                    Raw("\ufeff{}"),
                ]
            )
        )
        return Mutated(kind, body)

    index = draw(st.integers(0, len(batch) - 1))
    event = copy.deepcopy(batch[index])
    batch[index] = event
    body = {"events": batch}
    every = [p for p, _ in nodes(event)]
    leaves = [p for p, v in nodes(event) if not isinstance(v, dict | list)]
    dicts = [()] + [p for p, v in nodes(event) if isinstance(v, dict)]
    m = Mutated(kind, body, index)

    if kind == "drop":
        m.path = path = draw(st.sampled_from([p for p in every if not isinstance(p[-1], int)]))
        parent, key = parent_and_key(event, path)
        del parent[key]
        m.refused = False  # an optional field may go
    elif kind == "retype":
        m.path = path = draw(st.sampled_from(every))
        put(event, path, draw(others))
        m.refused = False  # null for an optional field, text for a name: still valid
    elif kind == "bad_number":
        numeric = [p for p in leaves if p[-1] in NUMERIC_KEYS]
        m.path = path = draw(st.sampled_from(numeric or leaves))
        value, bad_json = draw(st.sampled_from(BAD_NUMBERS))
        put(event, path, value)
        if numeric and bad_json:
            m.status, m.code = 400, "malformed_json"
        elif numeric:
            m.status, m.code, m.exact_field = 422, "invalid_field", True
        else:
            m.refused = False  # "-0.01" is a fine id or name
    elif kind == "huge":
        m.path = path = draw(st.sampled_from(leaves))
        put(event, path, draw(st.sampled_from(["x" * HUGE, "9" * HUGE, "é" * (HUGE // 2)])))
        m.status = 422
    elif kind == "nul":
        where = draw(st.sampled_from(["value", "key"]))
        text = draw(texts)
        cut = draw(st.integers(0, len(text)))
        nul = text[:cut] + "\x00" + text[cut:]
        if where == "value":
            m.path = path = draw(st.sampled_from(leaves))
            put(event, path, nul)
            m.exact_field = True
        else:
            parent_path = draw(st.sampled_from(dicts))
            target = event
            for part in parent_path:
                target = target[part]
            target[nul] = draw(others)
            m.path = parent_path
        m.status, m.code = 422, "invalid_field"
    elif kind == "surrogate":
        m.path = path = draw(st.sampled_from(leaves))
        put(event, path, Raw(draw(st.sampled_from(['"\\ud800"', '"a\\udfffb"', '"\\ud83d x"']))))
        m.status, m.code = 400, "malformed_json"
    elif kind == "deep":
        m.path = path = draw(st.sampled_from(every))
        depth = draw(st.sampled_from([3, 50, 200, 240, 260, 1000, 1030, 5000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('[{"a":', "}]")]))
        put(event, path, Raw(opener * depth + "1" + closer * depth))
        levels = depth * (2 if opener.startswith("[{") else 1) + len(path) + 2
        if levels > 260:  # orjson reads 1,024 levels, but writes (and so we take) ~250
            m.status, m.code = 400, "malformed_json"
        elif levels < 240:
            m.status = 422
        else:
            m.refused = True  # near the limit: 400 or 422, but refused
    elif kind == "unknown_field":
        parent_path = draw(st.sampled_from(dicts))
        target = event
        for part in parent_path:
            target = target[part]
        key = draw(st.one_of(texts, st.just("k" * HUGE), st.just("data_"), st.just("Name")))
        if key in target:
            key += "_"
        target[key] = draw(others)
        m.path = (*parent_path, key)
        m.status = 422
        m.code = "unknown_field"
    elif kind == "unknown_type":
        name = draw(
            st.one_of(
                texts,
                st.sampled_from(
                    [
                        "ProjectFinancesChanged",
                        "FinancesRecalculated",
                        event["type"].lower(),
                        event["type"] + " ",
                        "T" * HUGE,
                    ]
                ),
            ).filter(lambda t: t not in EVENT_TYPES)
        )
        m.path = ("type",)
        put(event, m.path, name)
        m.status, m.code, m.exact_field = 422, "unknown_event_type", True
    elif kind == "duplicate_key":
        parent_path = draw(st.sampled_from([p for p in dicts if nonempty_at(event, p)]))
        target: Any = event
        for part in parent_path[:-1]:
            target = target[part]
        obj = target[parent_path[-1]] if parent_path else event
        pairs = Pairs(obj.items())
        key, value = draw(st.sampled_from(list(pairs)))
        again = draw(st.one_of(st.just(value), others))
        if draw(st.booleans()):  # the repeat spelled with escapes: the same key to JSON
            key = Escaped(key)
        pairs.insert(draw(st.integers(0, len(pairs))), (key, again))
        if parent_path:
            target[parent_path[-1]] = pairs
        else:
            batch[index] = pairs  # type: ignore[call-overload]
        m.path = parent_path
        m.status, m.code = 400, "malformed_json"
    elif kind == "bad_id":
        m.path = path = draw(st.sampled_from(id_paths(event)))
        put(event, path, draw(st.sampled_from(BAD_IDS)))
        m.status, m.code, m.exact_field = 422, "invalid_field", True
    elif kind == "bad_date":
        candidates = [p for p in leaves if "date" in str(p[-1]) or "planned_" in str(p[-1])]
        candidates = [p for p in candidates if p[-1] not in NUMERIC_KEYS]
        if not candidates:
            candidates = [("data", "planned_start")] if event["type"] == "ProjectCreated" else []
        if not candidates:
            return Mutated("none", body, refused=False, status=201)
        m.path = path = draw(st.sampled_from(candidates))
        put(event, path, draw(st.sampled_from(BAD_DATES)))
        m.status, m.code, m.exact_field = 422, "invalid_field", True
    elif kind == "bad_utf8":
        # bytes that are not UTF-8 (written via surrogateescape: "\udcff" -> 0xff)
        m.path = path = draw(st.sampled_from(leaves))
        bad = draw(st.sampled_from(["\udcff", "\udcc3", "\udcc0\udcaf", "\udced\udca0\udc80"]))
        put(event, path, Raw(f'"a{bad}b"'))
        m.status, m.code = 400, "malformed_json"
    elif kind == "escaped":
        # a string or key spelled with \uXXXX escapes: the same value, still valid
        strings = [p for p in leaves if isinstance(get(event, p), str)]
        m.path = path = draw(st.sampled_from(strings))
        value = get(event, path)
        put(event, path, Raw('"' + "".join(f"\\u{ord(c):04x}" for c in value) + '"'))
        m.refused = False
    elif kind == "raw_number":
        # JSON numbers in forms the limits may or may not take: never a 5xx
        m.path = path = draw(st.sampled_from(leaves))
        text = draw(
            st.sampled_from(
                [
                    "1E2",
                    "-0",
                    "0e0",
                    "1e-7",
                    "0.1",
                    "123456789012.34567",
                    "999999999999.9999",
                    "1e12",
                    "100.00001",
                    "24.001",
                    "1" + "0" * 300,
                    "5e-324",
                    "-0.0",
                ]
            )
        )
        put(event, path, Raw(text))
        m.refused = False
    else:
        assert kind == "bad_event_id"
        m.path = ("event_id",)
        event["event_id"] = draw(
            st.sampled_from(["", "x", "1" * 36, "u" * HUGE, 7, [], {}, "00000000-0000-0000-0000"])
        )
        m.status, m.code, m.exact_field = 422, "invalid_field", True
    return m


def nonempty_at(event: dict[str, Any], path: Path) -> bool:
    target: Any = event
    for part in path:
        target = target[part]
    return bool(target)


# --- what every answer must be ------------------------------------------------------------


def related(field: str, path: Path) -> bool:
    """`field` names `path`, an ancestor of it (a rule across fields names the object)
    or something inside it (a retyped list names its bad element)."""
    want = field_of(path)
    if field == want or not want:
        return True
    shorter, longer = sorted((field, want), key=len)
    if shorter and longer.startswith(shorter) and longer[len(shorter)] in ".[":
        return True
    # a long key is named by its first characters and an ellipsis
    return field.endswith("…") and want.startswith(field[:-1])


async def head_after(ledger: Ledger) -> list[int]:
    resp = await ledger.client.get(
        "/v1/events", params={"after": ledger.head, "limit": 1000}, headers=ALL
    )
    assert resp.status_code == 200, resp.text
    return [e["position"] for e in resp.json()["events"]]


async def sync_head(ledger: Ledger) -> None:
    while appended := await head_after(ledger):
        ledger.head = appended[-1]


def check_refusal(resp: httpx.Response, m: Mutated) -> dict[str, Any]:
    assert resp.headers["content-type"].startswith("application/json"), resp.text[:300]
    body = resp.json()
    assert set(body) == {"error"}, body
    err: dict[str, Any] = body["error"]
    assert set(err) <= {"code", "message", "event_index", "field"}, err
    assert err["code"] in KNOWN_CODES, err
    assert isinstance(err["message"], str) and err["message"], err
    assert len(err["message"]) < MAX_MESSAGE, err["message"][:500]
    assert len(resp.content) < 2 * MAX_MESSAGE + 400, resp.text[:500]
    if m.status is not None:
        assert resp.status_code == m.status, (m.name, resp.text[:500])
    if m.code is not None:
        assert err["code"] == m.code or (
            m.code == "unknown_field" and err["code"] == "invalid_field"  # a key with U+0000
        ), (m.name, err)
    if resp.status_code in WHOLE_REQUEST:
        return err
    if m.event is not None and m.path is not None:
        # the defect is inside event `m.event`: named, and its field too
        assert err.get("event_index") == m.event, (m.name, m.path, err)
        assert isinstance(err.get("field"), str), (m.name, m.path, err)
        if resp.status_code == 422:
            if m.exact_field:
                assert err["field"] == field_of(m.path), (m.name, m.path, err)
            else:
                assert related(err["field"], m.path), (m.name, m.path, err)
    elif resp.status_code == 409:  # a rule refuses one event: which, and where
        assert isinstance(err.get("event_index"), int), (m.name, err)
        assert isinstance(err.get("field"), str), (m.name, err)
    else:
        assert resp.status_code == 422, (m.name, resp.status_code, err)
        assert isinstance(err.get("field"), str), (m.name, err)
    return err


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(m=mutations(), ascii_only=st.booleans(), companion=st.booleans())
async def test_a_mutated_batch_is_refused_cleanly_or_appended_whole(
    ledger: Ledger, m: Mutated, ascii_only: bool, companion: bool
) -> None:
    await sync_head(ledger)  # the head before this example (an earlier one may have failed)
    text = to_json(m.body, ascii_only)
    post = ledger.client.post(
        "/v1/events",
        content=text.encode("utf-8", "surrogateescape"),
        headers={**ALL, "Content-Type": m.content_type},
    )
    mate: httpx.Response | None = None
    if companion:  # a valid batch posted at the same time (they may share a group append)
        other = env("CompanyDefined", company_id=f"mate{next(_examples)}", name="M")
        resp, mate = await asyncio.gather(
            post, ledger.client.post("/v1/events", json={"events": [other]}, headers=ALL)
        )
        assert mate.status_code == 201, (m.name, mate.text[:500])
    else:
        resp = await post
    event(f"{m.name}: {resp.status_code}")
    assert resp.status_code < 500, (m.name, resp.text[:500])
    appended = await head_after(ledger)
    expected = set() if mate is None else {e["position"] for e in mate.json()["events"]}
    if resp.status_code in (200, 201):
        assert not m.refused, (m.name, m.path, resp.text[:500])
        if m.status is not None:
            assert resp.status_code == m.status, (m.name, resp.text[:500])
        positions = [e["position"] for e in resp.json()["events"]]
        expected |= {p for p in positions if p > ledger.head}
        assert sorted(expected) == appended, (positions, appended)
        ledger.head = max([ledger.head, *appended])
        return
    assert 400 <= resp.status_code < 500, resp.text[:500]
    assert appended == sorted(expected), (m.name, resp.status_code, appended)
    ledger.head = max([ledger.head, *appended])
    check_refusal(resp, m)


# --- query parameters of GET /v1/events -----------------------------------------------

MAX_POSITION = 2**63 - 1
int_texts = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(
        [
            str(MAX_POSITION),
            str(MAX_POSITION + 1),
            "9" * 60,
            "9" * 5000,
            "-0",
            "1e3",
            "1.5",
            " 1",
            "\x00",
            "1\x00",
            "",
            "0x10",
            "١",
        ]
    ),
)
name_texts = st.one_of(
    st.sampled_from(["P", "project-P", "role-R", "a b", "\x00", "x" * 251, "x" * 20_000, "é", ""]),
    st.text(max_size=20),
)


def out_of_range(text: str, low: int, high: int) -> bool:
    """Surely refused: no digit at all, U+0000, or a plain integer outside low..high
    (compared by length first: Python will not read 5,000 digits as an int)."""
    if "\x00" in text or not any(c.isdigit() for c in text):
        return True
    if re.fullmatch(r"-?[0-9]+", text) is None:
        return False  # "1e3", " 1", "1.5": pydantic's lax reading decides
    return len(text) > 30 or not low <= int(text) <= high


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    after=st.none() | int_texts,
    limit=st.none() | int_texts,
    stream=st.none() | name_texts,
    type_=st.none() | name_texts,
)
async def test_query_parameters_out_of_bounds_are_422(
    ledger: Ledger, after: str | None, limit: str | None, stream: str | None, type_: str | None
) -> None:
    params = {
        k: v
        for k, v in (("after", after), ("limit", limit), ("stream", stream), ("type", type_))
        if v is not None
    }
    resp = await ledger.client.get("/v1/events", params=params, headers=ALL)
    assert resp.status_code < 500, resp.text[:500]
    assert resp.status_code in (200, 422), resp.text[:500]
    surely_bad = {
        name
        for name, value, low, high in (("after", after, 0, MAX_POSITION), ("limit", limit, 1, 1000))
        if value is not None and out_of_range(value, low, high)
    } | {
        name
        for name, value in (("stream", stream), ("type", type_))
        if value is not None and (value == "" or "\x00" in value or len(value) > 250)
    }
    if surely_bad:
        assert resp.status_code == 422, (params, resp.text[:300])
    if resp.status_code == 422:
        err = resp.json()["error"]
        assert err["code"] == "invalid_field", err
        assert err["field"] in {"after", "limit", "stream", "type"}, err
        assert len(err["message"]) < MAX_MESSAGE, err
        assert len(resp.content) < 1000, resp.text[:300]
    else:
        assert not surely_bad, params
        assert isinstance(resp.json()["events"], list)


# --- the recalculation routes' bodies and paths --------------------------------------------

recalc_values = st.one_of(
    others,
    st.sampled_from(["all", "planned", "ALL", "all\x00", "x" * HUGE]),
    st.lists(st.sampled_from(["P", "Q", "a b", "x" * 201, "", "P\x00", 1, None]), max_size=3),
    st.sampled_from([["P"] * 1001, [[["P"]]], Raw("[" * 300 + "]" * 300)]),
)
recalc_bodies = st.one_of(
    st.dictionaries(
        st.sampled_from(["scope", "event_id", "project_ids", "extra", "scope\x00"]),
        recalc_values,
        max_size=3,
    ),
    st.sampled_from(
        [Raw("null"), Raw("[]"), Raw('"all"'), Raw("{"), Raw('{"scope": 1, "scope": 2}')]
    ),
)
path_ids = st.one_of(
    st.just("P"),
    st.sampled_from(["Q", "x" * 201, "a b", "a\x00b", "é", "%00", "..", "a%2Fb"]),
    texts,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=recalc_bodies, project_id=path_ids, bulk=st.booleans())
async def test_recalculation_requests_are_refused_cleanly(
    ledger: Ledger, body: Any, project_id: str, bulk: bool
) -> None:
    await sync_head(ledger)
    if bulk:
        path = "/v1/recalculations"
    else:
        path = f"/v1/projects/{quote(project_id, safe='')}/recalculate"
    resp = await ledger.client.post(
        path,
        content=to_json(body, False).encode("utf-8", "surrogateescape"),
        headers={**ALL, "Content-Type": "application/json"},
    )
    event(f"{'bulk' if bulk else 'one'}: {resp.status_code}")
    assert resp.status_code < 500, resp.text[:500]
    appended = await head_after(ledger)
    if resp.status_code == 202:
        ledger.head = max([ledger.head, *appended])
        return
    assert appended == [], (resp.status_code, appended)
    err = resp.json()["error"]
    assert err["code"] in KNOWN_CODES | {"method_not_allowed"}, err
    assert len(err["message"]) < MAX_MESSAGE, err["message"][:500]
    assert len(resp.content) < 1000, resp.text[:500]
    if resp.status_code == 422:
        assert isinstance(err.get("field"), str), err
