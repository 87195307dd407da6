"""The gate API, versioned under /api/v1: replica pull, event push, heartbeat.

Each gate authenticates with its own bearer credential (``<estate>/<gate_id>.<secret>``, from
`gatepass office add-gate`; domain/credential.py): everything it pulls, pushes and reports is
its own estate's and its own gate's. Bodies are size-checked before anything parses them.
OpenAPI is published by FastAPI at /openapi.json and /docs.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model, model_validator
from sqlalchemy import Engine, and_, select

from domain.clock import Clock, SystemClock
from domain.contracts import DEFAULT_HEARTBEAT_S, MAX_DETAIL, DeviceState, HeartbeatBody
from domain.exitrow import BOOT_ID, MAX_SEQ, ROW_FIELDS, RowField, row_problems
from office import schema
from office.attachments import SLIP_FORM_UPLOADS
from office.config import OfficeConfig
from office.ingest import heartbeat, ingest
from office.limits import BodyLimit
from office.records import gate_for_credential

API = "/api/v1"
#: Sequence numbers and cursors are BIGINT columns: anything larger than MAX_SEQ
#: (domain/exitrow.py) is refused (422), never sent to the database.


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _no_constant(text: str) -> float:
    raise ValueError(text)


class FiniteJSONRequest(Request):
    """A request whose JSON body may hold only finite numbers. Python's parser takes NaN, Infinity
    and 1e999 (as inf); stored, they made the log's JSON export invalid JSON and a heartbeat a 500.
    Such a body is refused (422) before any model sees it, on every route of the API."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
            except ValueError as exc:
                if isinstance(exc, json.JSONDecodeError):
                    raise
                raise json.JSONDecodeError(f"非有限数值 / not a finite number: {exc}", body.decode("utf-8", "replace"), 0) from None
        return self._json


class FiniteJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(FiniteJSONRequest(request.scope, request.receive))
        return strict


def server_time(clock: Clock) -> str:
    """The office's time for a reply, in UTC: gates measure their clock offset against it."""
    return clock.now().astimezone(UTC).isoformat(timespec="microseconds")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class _EventRowChecks(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="after")
    def _no_nul(self) -> _EventRowChecks:
        # PostgreSQL text cannot hold NUL: refuse it here (422) on every database alike,
        # rather than let the first query on it fail (500). `detail` is stored as JSON,
        # where NUL is escaped, so it may hold any text (e.g. a scanned code).
        if _has_nul(self.model_dump(exclude={"detail"})):
            raise ValueError("text must not contain NUL (0x00) characters")
        return self


def _event_field(f: RowField) -> tuple[Any, Any]:
    """A pydantic field for one field of the exit-log row, with the row's limits."""
    limits: dict[str, Any] = {k: v for k, v in (("ge", f.ge), ("le", f.le), ("min_length", f.min_length),
                                ("max_length", f.max_length), ("pattern", f.pattern)) if v is not None}
    if f.type is list:
        kind: Any = list[Annotated[str, Field(max_length=f.item_max_length)]]
        return kind, Field(default_factory=list, **limits)
    if f.type is dict:
        return dict[str, Any], Field(default_factory=dict, **limits)
    return f.type, (Field(**limits) if f.required else Field(default=f.default, **limits))


#: One exit-log row exactly as the gate stored and hashed it: built from domain.exitrow.ROW_FIELDS.
_ROW_MODEL_FIELDS: dict[str, Any] = {f.name: _event_field(f) for f in ROW_FIELDS}
EventRow = create_model(
    "EventRow", __base__=_EventRowChecks, __module__=__name__,
    __doc__="One exit-log row exactly as the gate stored and hashed it (domain/exitrow.py).",
    **_ROW_MODEL_FIELDS,
)


class PushBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventRow] = Field(max_length=10_000)  # type: ignore[valid-type]  # built from the row spec


class Rejection(BaseModel):
    seq: int
    reason: str     # fork | edited | foreign_event_id
    detail: str


class PushReply(BaseModel):
    acked_seq: int = Field(description="Every row up to here is stored at the office; resume after it.")
    accepted: int
    duplicates: int
    held: int = Field(description="Rows kept ahead of a gap, accepted once the gap fills.")
    rejected: list[Rejection]
    epoch: str
    server_time: str


class Change(BaseModel):
    seq: int
    table: str
    op: str = Field(description="upsert | delete")
    key: list[Any]
    row: dict[str, Any] | None = Field(description="The replica row; null for a tombstone.")


class PullPage(BaseModel):
    epoch: str = Field(description="Identifies the office database; a new epoch means pull from zero.")
    estate: str = Field(description="The estate of the calling gate: the one its slips must be signed for.")
    changes: list[Change]
    last_seq: int = Field(description="Cursor to send as `since` next time.")
    more: bool
    server_time: str


class DeviceReport(BaseModel):
    """`domain.contracts.DeviceHealth` on the wire: one device's state, detail and time of report."""

    model_config = ConfigDict(extra="forbid")
    state: DeviceState
    detail: str = Field(default="", max_length=MAX_DETAIL)
    at: AwareDatetime | None = Field(default=None, description="When the kiosk reported this state (ISO 8601 with zone).")


#: A device as an older gate reported it: free text such as "online: /dev/ttyUSB0 open (rdm6300)".
LegacyReport = Annotated[str, Field(max_length=MAX_DETAIL)]


class Heartbeat(BaseModel):
    """`domain.contracts.HeartbeatBody` on the wire: what the sync daemon sends is what is validated here."""

    model_config = ConfigDict(extra="forbid")
    versions: dict[Annotated[str, Field(max_length=HeartbeatBody.MAX_VERSION_TEXT)],
                   Annotated[str, Field(max_length=HeartbeatBody.MAX_VERSION_TEXT)]] = Field(
        default_factory=dict, max_length=HeartbeatBody.MAX_VERSIONS)
    reader: DeviceReport | LegacyReport | None = None
    camera: DeviceReport | LegacyReport | None = None
    outbox_depth: int = Field(default=0, ge=0, le=MAX_SEQ)
    clock_offset_s: float | None = Field(default=None, allow_inf_nan=False, ge=-1e9, le=1e9)
    sent_at: AwareDatetime | None = None
    heartbeat_interval_s: float = Field(default=DEFAULT_HEARTBEAT_S, gt=0, le=86400, allow_inf_nan=False)
    boot_id: str = Field(default="", max_length=HeartbeatBody.MAX_BOOT_ID, pattern=BOOT_ID)
    boottime_ms: int = Field(default=0, ge=0, le=MAX_SEQ)
    clock_synced: bool | None = None

    def contract(self) -> HeartbeatBody:
        return HeartbeatBody.from_json(self.model_dump(mode="json"))


class HeartbeatReply(BaseModel):
    server_time: str


def current_gate(request: Request) -> dict[str, Any]:
    """The gate whose bearer credential came with the request, or 401."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    gate = None
    if scheme.lower() == "bearer" and credential:
        with request.app.state.engine.connect() as conn:
            gate = gate_for_credential(conn, credential.strip())
    if gate is None:
        raise HTTPException(401, "missing or wrong gate credential", headers={"WWW-Authenticate": "Bearer"})
    return gate


Gate = Annotated[dict[str, Any], Depends(current_gate)]


def refuse_bad_rows(rows: list[dict[str, Any]]) -> None:
    """422 naming each row (seq) and field that breaks the row contract (domain.exitrow.row_problems):
    a time not readable, control characters in text, an oversized detail. Nothing of the push is
    stored. (A readable but implausible time is stored and flagged: office/ingest.py.)"""
    problems = [{"loc": ["body", "events", i, p.field], "seq": p.seq, "field": p.field, "type": "row_contract",
                 "msg": f"第 {p.seq} 条记录的 {p.field}:{p.zh}\nrow {p.seq}, {p.field}: {p.en}"}
                for i, row in enumerate(rows) for p in row_problems(row)]
    if problems:
        raise HTTPException(422, problems[:100])


def create_app(cfg: OfficeConfig, engine: Engine, clock: Clock | None = None) -> FastAPI:
    """The gate API on ``engine``; ``clock`` is where it reads the time (the system's by default)."""
    app = FastAPI(title="gatepass office", version="1", summary="Gate sync API: replica pull, exit-log push, heartbeat")
    app.router.route_class = FiniteJSONRoute
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(BodyLimit, max_bytes=cfg.server.max_body_bytes, uploads=SLIP_FORM_UPLOADS)
    app.state.engine = engine
    app.state.clock = clock = clock or SystemClock()
    max_events = cfg.server.max_events_per_push

    def epoch_of(conn: Any, estate: str) -> str:
        return str(conn.execute(select(schema.estates.c.epoch).where(schema.estates.c.estate_id == estate)).scalar_one())

    @app.get(f"{API}/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "server_time": server_time(clock)}

    @app.get(f"{API}/replica", responses={200: {"model": PullPage}}, response_class=Response)
    def pull(gate: Gate, since: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
             limit: Annotated[int, Query(ge=1)] = 1000) -> Response:
        """Changes to this gate's estate after ``since``, oldest first; deletions as tombstones."""
        limit = min(limit, cfg.server.max_page)
        c = schema.changes
        with engine.connect() as conn:
            epoch = epoch_of(conn, gate["estate"])
            rows = conn.execute(select(c.c.seq, c.c.tbl, c.c.op, c.c.pk, c.c.body)
                                .where(and_(c.c.estate == gate["estate"], c.c.seq > since))
                                .order_by(c.c.seq).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        # The stored key and body are already JSON: splice them in rather than decode and re-encode.
        parts = [f'{{"seq":{int(r.seq)},"table":"{r.tbl}","op":"{r.op}","key":{r.pk},"row":{r.body or "null"}}}'
                 for r in rows]
        last = int(rows[-1].seq) if rows else since
        body = (f'{{"epoch":{json.dumps(epoch)},"estate":{json.dumps(gate["estate"])},"last_seq":{last},"more":{"true" if more else "false"},'
                f'"server_time":"{server_time(clock)}","changes":[' + ",".join(parts) + "]}")
        return Response(body.encode("utf-8"), media_type="application/json")

    @app.post(f"{API}/events", response_model=PushReply)
    def push(gate: Gate, body: PushBody) -> PushReply:
        """Exit-log rows of the calling gate, in any order, any number of times."""
        if len(body.events) > max_events:
            raise HTTPException(422, f"at most {max_events} events per push")
        rows = [e.model_dump() for e in cast(list[BaseModel], body.events)]
        foreign = [r["seq"] for r in rows if r["gate_id"] != gate["gate_id"]]
        if foreign:
            raise HTTPException(403, f"gate {gate['gate_id']} may push only its own events (rows {foreign[:5]} are another gate's)")
        refuse_bad_rows(rows)
        with engine.begin() as conn:
            result = ingest(conn, gate, rows, clock=clock)
            epoch = epoch_of(conn, gate["estate"])
        return PushReply(acked_seq=result.acked_seq, accepted=result.accepted, duplicates=result.duplicates,
                         held=result.held, rejected=[Rejection(**r) for r in result.rejected], epoch=epoch,
                         server_time=server_time(clock))

    @app.post(f"{API}/heartbeat", response_model=HeartbeatReply)
    def beat(gate: Gate, body: Heartbeat) -> HeartbeatReply:
        """The gate's health; the reply's server time lets it measure its clock offset."""
        with engine.begin() as conn:
            heartbeat(conn, gate["estate"], gate["gate_id"], body.contract(), clock=clock)
        return HeartbeatReply(server_time=server_time(clock))

    return app
