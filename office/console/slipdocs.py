"""A slip's carrier and its proof, on form R-KF001 and the slip's page (issue 12).

The carrier (搬运人) is told apart at the gate by an ID number (slipdesk's field), a photo, or the
carrier's own permit (住户证): the form needs one of the three (domain/issuing.py
`carrier_problems`). The photo is uploaded or taken with the office webcam (office/console/camera.py,
the permit form's one script), checked as a permit photo (office/photos.py), kept across a refused
form, and stored downscaled in ``photos`` (records.put_photo) with its id in ``slips.mover_photo``:
it is replicated and the kiosk shows it next to the slip's decision. The permit is typed as its id
or its card UID; at issue it must be this estate's, active and in date (office/slips.py).

Proof attachments (收据 receipt, 发票 invoice, 授权书 authorisation letter, 其他 other) are
PDF, PNG or JPEG files checked by their bytes (office/attachments.py), office-only, listed on the
slip's page and served back exactly, estate-scoped. Which proof a kind needs is domain/issuing.py
`proof_problems` (company assets: the authorisation letter). An amended slip carries its carrier
photo and attachments over. Each upload is written to the audit trail.

The form is multipart: `read_form` reads it with the same origin, CSRF and role checks as every
console form (`Console.same_origin`, `auth.same_token`, `Console.require_role`); unlike
`Console.form_upload` it keeps several files per field in order, with their names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool

from domain.issuing import PROOF_KINDS, Problem, carrier_problems, proof_problems
from domain.model import SlipKind
from office import schema
from office.attachments import (
    ATTACHMENT_MAX_BYTES,
    MAX_ATTACHMENTS,
    SLIP_FORM_MAX_BYTES,
    Attachment,
    AttachmentRefused,
    add_attachments,
    check_attachment,
    clean_filename,
    get_attachment,
    list_attachments,
    stored_attachments,
)
from office.changes import get_row
from office.console import auth
from office.console.camera import SCRIPT_URL
from office.console.kept import keep, kept_bytes, preview_src, upload_or_kept
from office.console.web import HEADERS, PREFIX, Console, Denied, guarded
from office.errors import NotFound
from office.photos import PHOTO_MAX_BYTES, PhotoRefused, check_photo
from office.records import find_permit, put_photo
from office.slips import SlipRequest, slip_id_ok, slip_in_url_ok

MAX_BODY = SLIP_FORM_MAX_BYTES
#: A permit id or a card UID as the desk's reader types it.
PERMIT_OR_CARD = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


@dataclass
class Upload:
    name: str
    filename: str
    data: bytes


async def read_form(c: Console, request: Request, s: auth.Session) -> tuple[dict[str, list[str]], list[Upload]]:
    """The slip form's fields (every value) and its file parts in document order, empty ones included
    (the n-th ``attachment`` file goes with the n-th ``attachment_kind``). A urlencoded form reads as
    `Console.form_lists` reads it."""
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException

    c.same_origin(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await c.form_lists(request, s), []
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Denied(c.message(
            "附件过大", "Too large", s,
            f"表单过大:每个附件最大 {ATTACHMENT_MAX_BYTES // 1048576} MB,最多 {MAX_ATTACHMENTS} 个。请返回重新选择文件。",
            f"The form is too large: attachments are at most {ATTACHMENT_MAX_BYTES // 1048576} MB each, "
            f"{MAX_ATTACHMENTS} at most. Go back and choose the files again.", "slips", status=413))
    try:
        parsed = await request.form(max_files=MAX_ATTACHMENTS + 1, max_fields=300, max_part_size=MAX_BODY)
    except (MultiPartException, ValueError, KeyError):
        parsed = None
    fields: dict[str, list[str]] = {}
    files: list[Upload] = []
    if parsed is not None:
        for key, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                files.append(Upload(key, value.filename or "", await value.read()))
            else:
                fields.setdefault(key, []).append(value)
        await parsed.close()
    if not auth.same_token((fields.get("csrf") or [""])[0], s.csrf):
        raise Denied(c.forbidden())
    c.require_role(request, s)
    return fields, files


@dataclass
class Carried:
    """What an amended slip brings to its correction: its carrier photo and its attachments."""

    slip_id: str = ""
    photo: str = ""
    attachments: list[Attachment] = field(default_factory=list)


def carried_of(c: Console, estate: str, amends: str) -> Carried:
    if not amends or not slip_id_ok(amends):
        return Carried()
    with c.engine.connect() as conn:
        old = get_row(conn, estate, schema.slips, {"slip_id": amends})
        if old is None:
            return Carried()
        return Carried(amends, old["mover_photo"], stored_attachments(conn, estate, amends))


@dataclass
class SlipDocs:
    """The form's carrier photo, carrier permit and attachments, as sent and as kept for a refused form."""

    mover_permit: str = ""
    photo_kept: str = ""                                    # base64 of a valid photo of a refused form
    kept: list[dict[str, str]] = field(default_factory=list)   # valid attachments of a refused form: kind, filename, b64
    kinds: list[str] = field(default_factory=list)           # the kind chosen on each new attachment row
    photo: bytes | None = None
    new: list[tuple[int, str, Upload]] = field(default_factory=list)   # (row, kind, file) of rows with a file
    problems: list[Problem] = field(default_factory=list)
    accepted: list[Attachment] = field(default_factory=list)
    accepted_photo: bytes | None = None

    @classmethod
    def from_form(cls, form: dict[str, list[str]], uploads: list[Upload]) -> SlipDocs:
        def one(name: str, limit: int) -> str:
            return (form.get(name) or [""])[0].strip()[:limit]

        kinds = [k[:16] for k in form.get("attachment_kind", [])][:MAX_ATTACHMENTS]
        kept = []
        for text in form.get("attachment_kept", [])[:MAX_ATTACHMENTS]:
            kind, _, rest = text.partition(":")
            name, _, b64 = rest.partition(":")
            kept.append({"kind": kind[:16], "filename": name[:80], "b64": b64})
        photo = next((u.data for u in uploads if u.name == "mover_photo" and u.data), None)
        rows = [u for u in uploads if u.name == "attachment"]
        new = [(i, kinds[i] if i < len(kinds) else "", u) for i, u in enumerate(rows[:MAX_ATTACHMENTS]) if u.data]
        return cls(mover_permit=one("mover_permit", 40), photo_kept=one("photo_kept", PHOTO_MAX_BYTES * 2),
                   kept=kept, kinds=kinds, photo=photo, new=new)

    def check(self, kind: SlipKind | None, has_id: bool, carried: Carried) -> list[Problem]:
        """Check the photo and every attachment (the valid ones are kept for the form), then the rules of
        domain/issuing.py: a carrier the gate can tell, the proof the slip's kind needs."""
        problems: list[Problem] = []
        data = upload_or_kept(self.photo, self.photo_kept)
        self.accepted_photo = None
        if data is not None:
            try:
                check_photo(data, "mover_photo")
                self.accepted_photo = data
            except PhotoRefused as exc:
                problems.append(Problem("mover_photo", "搬运人" + exc.zh, exc.en))
        self.photo_kept = keep(self.accepted_photo) if self.accepted_photo else ""
        accepted: list[Attachment] = []
        for item in self.kept:
            raw = kept_bytes(item["b64"])
            if raw is None:
                continue                           # a kept value the office never wrote: dropped
            try:
                accepted.append(Attachment(item["kind"] if item["kind"] in PROOF_KINDS else "other", item["filename"],
                                           check_attachment(raw, item["filename"]), raw))
            except ValueError:
                continue
        retry: list[tuple[str, Problem]] = []        # refused rows: shown again first, their kind chosen
        for row, k, up in self.new:
            if k not in PROOF_KINDS:
                retry.append(("", Problem(f"attachment{len(retry) + 1}",
                                               f"第 {row + 1} 个附件:请选择类型(收据、发票、授权书或其他)",
                                               f"attachment {row + 1}: choose its kind (receipt, invoice, authorisation, other)")))
                continue
            try:
                accepted.append(Attachment(k, up.filename, check_attachment(up.data, up.filename), up.data))
            except AttachmentRefused as exc:
                retry.append((k, Problem(f"attachment{len(retry) + 1}", f"第 {row + 1} 个附件 {exc.zh}",
                                         f"attachment {row + 1}: {exc.en}")))
        problems += [p for _, p in retry]
        self.kinds = [k for k, _ in retry]
        if len(accepted) + len(carried.attachments) > MAX_ATTACHMENTS:
            problems.append(Problem("attachments", f"每张放行条最多 {MAX_ATTACHMENTS} 个附件",
                                    f"a slip has at most {MAX_ATTACHMENTS} attachments"))
            accepted = accepted[:max(0, MAX_ATTACHMENTS - len(carried.attachments))]
        self.accepted = accepted
        self.kept = [{"kind": a.kind, "filename": clean_filename(a.filename, a.mime),
                      "b64": keep(a.data)} for a in accepted]
        if self.mover_permit and not PERMIT_OR_CARD.fullmatch(re.sub(r"[\s:]", "", self.mover_permit)):
            problems.append(Problem("mover_permit", "住户证号或卡号只含字母、数字", "a permit id or card UID has letters and digits only"))
        bad_photo = any(p.field == "mover_photo" for p in problems)
        if not bad_photo:
            problems += carrier_problems(id_number=has_id, photo=bool(self.accepted_photo or carried.photo),
                                         permit=bool(self.mover_permit))
        if kind is not None:
            problems += proof_problems(kind, [a.kind for a in accepted + carried.attachments])
        self.problems = problems
        return problems

    def apply(self, conn: Connection, estate: str, req: SlipRequest, carried: Carried) -> tuple[SlipRequest, list[Problem]]:
        """The request with its carrier: the permit found by id or card, the photo stored (or carried over)."""
        from dataclasses import replace

        permit_id = ""
        if self.mover_permit:
            typed = self.mover_permit
            try:
                permit_id = find_permit(conn, estate, typed)["permit_id"]
            except NotFound:
                try:
                    permit_id = find_permit(conn, estate, re.sub(r"[\s:]", "", typed).upper())["permit_id"]
                except NotFound:
                    return req, [Problem("mover_permit", f"本小区没有住户证或卡 {typed}",
                                         f"no permit or card {typed!r} in this estate")]
        photo_id = put_photo(conn, estate, self.accepted_photo) if self.accepted_photo else carried.photo
        return replace(req, mover_permit_id=permit_id, mover_photo=photo_id), []

    def store(self, conn: Connection, s: auth.Session, slip_id: str, carried: Carried, *, at: str, c: Console) -> None:
        """The slip's attachments: the amended slip's first, then the new ones; each new one audited."""
        if carried.attachments:
            add_attachments(conn, s.estate, slip_id, carried.attachments, by=s.username, at=at)
            auth.audit(conn, s.estate, s.username, "carry_attachments",
                       f"{carried.slip_id} -> {slip_id} {len(carried.attachments)}", clock=c.clock)
        for row in add_attachments(conn, s.estate, slip_id, self.accepted, by=s.username, at=at):
            auth.audit(conn, s.estate, s.username, "attach_slip",
                       f"{slip_id} #{row['n']} {row['kind']} {row['filename']} sha256:{row['sha256']}", clock=c.clock)


def form_context(docs: SlipDocs, carried: Carried) -> dict[str, Any]:
    """What the form's carrier and attachment blocks (slip_carrier.html, slip_attachments.html) show."""
    rows = MAX_ATTACHMENTS - len(docs.kept) - len(carried.attachments)
    return {"docs": docs, "photo_kept_src": preview_src(docs.photo_kept), "camera_script": SCRIPT_URL,
            "proof_kinds": list(PROOF_KINDS.items()), "attachment_rows": max(0, rows),
            "attachment_kinds": (docs.kinds + [""] * MAX_ATTACHMENTS)[:MAX_ATTACHMENTS],
            "carried": carried, "max_photo_kb": PHOTO_MAX_BYTES // 1024,
            "max_attachment_mb": ATTACHMENT_MAX_BYTES // 1048576, "max_attachments": MAX_ATTACHMENTS,
            "doc_problems": {p.field: p for p in docs.problems}}


def detail_context(c: Console, estate: str, slip: dict[str, Any]) -> dict[str, Any]:
    """What the slip page's carrier and attachment blocks show to its approvers."""
    slip_id = slip["slip_id"]
    permit: dict[str, Any] | None = None
    with c.engine.connect() as conn:
        files = list_attachments(conn, estate, slip_id)
        if slip["mover_permit_id"]:
            row = get_row(conn, estate, schema.permits, {"permit_id": slip["mover_permit_id"]})
            if row is not None:
                permit = {"permit_id": row["permit_id"], "holder": row["holder_name"], "unit": row["unit_id"],
                          "status": row["status"], "href": f"{PREFIX}/permits/{row['permit_id']}",
                          "photo": f"{PREFIX}/permits/{row['permit_id']}/photo" if row["photo"] else ""}
    for f in files:
        f["href"] = f"{PREFIX}/slips/{slip_id}/attachments/{f['n']}"
        f["kind_zh"], f["kind_en"] = PROOF_KINDS.get(f["kind"], (f["kind"], f["kind"]))
        f["at_local"] = c.local(f["at"])[:16]
        f["size_kb"] = max(1, round((f["size"] or 0) / 1024))
    return {"carrier_photo": f"{PREFIX}/slips/{slip_id}/carrier-photo" if slip["mover_photo"] else "",
            "carrier_permit": permit, "carrier_permit_id": slip["mover_permit_id"], "attachments": files}


def _content_disposition(kind: str, filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:80] or "file"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def add_slipdoc_routes(router: Any, c: Console) -> None:
    def not_found() -> Response:
        return Response("没有这个文件 / not found", 404, media_type="text/plain; charset=utf-8", headers=HEADERS)

    @router.get("/slips/{slip_id}/carrier-photo")
    @guarded
    def carrier_photo(request: Request, slip_id: str) -> Response:
        s = c.require(request)
        if not slip_in_url_ok(slip_id):
            return not_found()
        sl, ph = schema.slips, schema.photos
        with c.engine.connect() as conn:
            found = conn.execute(select(ph.c.mime, ph.c.data).join(
                sl, (sl.c.estate == ph.c.estate) & (sl.c.mover_photo == ph.c.photo_id)).where(
                sl.c.estate == s.estate, sl.c.slip_id == slip_id)).first()
        if found is None:
            return not_found()
        mime = found.mime if found.mime in ("image/png", "image/jpeg") else "application/octet-stream"
        return Response(bytes(found.data), media_type=mime, headers={**HEADERS, "Cache-Control": "private, max-age=300"})

    @router.get("/slips/{slip_id}/attachments/{n}")
    @guarded
    async def attachment(request: Request, slip_id: str, n: str) -> Response:
        s = c.require(request)
        if not slip_in_url_ok(slip_id) or not n.isascii() or not n.isdigit() or len(n) > 3:
            return not_found()

        def load() -> dict[str, Any] | None:
            with c.engine.connect() as conn:
                return get_attachment(conn, s.estate, slip_id, int(n))

        row = await run_in_threadpool(load)
        if row is None:
            return not_found()
        mime = row["mime"] if row["mime"] in ("application/pdf", "image/png", "image/jpeg") else "application/octet-stream"
        disposition = _content_disposition("inline" if mime.startswith("image/") else "attachment", row["filename"])
        return Response(bytes(row["data"]), media_type=mime, headers={
            **HEADERS, "Content-Security-Policy": "default-src 'none'; sandbox", "Content-Disposition": disposition,
            "Cache-Control": "private, no-store"})
