"""The two tables a Tally installation publishes: the ledger's log
(`events` -> `tally.ledger.v1`) and the recalc service's finance outbox
(`finance_outbox` -> `tally.finance.v1`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from services.relay.service_layer.ports import OutboxMessage
from shared.events import stream_key
from shared.infra import eventlog


@dataclass(frozen=True, slots=True)
class LedgerSource:
    topic: str
    name: str = "ledger"
    channel: str = "tally_log"

    async def read_after(self, conn: Any, after: int, limit: int) -> list[OutboxMessage]:
        return [
            OutboxMessage(
                cursor=position,
                key=stream_key(stream).encode(),
                value=value,
                headers=(("schema", header),),
            )
            for position, stream, value, header in await eventlog.read_envelopes_after(
                conn, after, limit
            )
        ]


@dataclass(frozen=True, slots=True)
class FinanceSource:
    topic: str
    name: str = "finance"
    channel: str = "tally_finance"

    async def read_after(self, conn: Any, after: int, limit: int) -> list[OutboxMessage]:
        rows = await conn.fetch(
            "SELECT seq, project_id, position, type, schema_version, payload::text"
            " FROM finance_outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
            after,
            limit,
        )
        return [
            OutboxMessage(
                cursor=seq,
                key=project_id.encode(),
                value=orjson.dumps(
                    {
                        "seq": seq,
                        "type": type_,
                        "schema_version": version,
                        "project_id": project_id,
                        "position": position,
                        "data": orjson.Fragment(payload),
                    }
                ),
                headers=(("schema", f"{type_}/v{version}".encode()),),
            )
            for seq, project_id, position, type_, version, payload in rows
        ]
