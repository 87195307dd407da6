"""Domain types of the estate gate: permits, slips, guards, units, gates, rules.

Pure data. Everything the gate decides on arrives as one of these, already looked
up from the replica; the core never reads a file, a clock or a device.
Times are timezone-aware datetimes in the estate's local zone.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time


class PermitKind(str, enum.Enum):
    """The cards a gate accepts (住户证 and its relatives in DOMAIN.md)."""

    RESIDENT = "resident"            # 住户证
    STANDING_RELEASE = "standing"    # 常住物品放行证
    TEMPORARY = "temporary"          # 临时通行证, at most 3 days
    RENOVATION = "renovation"        # 装修出入证

    @property
    def label_zh(self) -> str:
        return _PERMIT_KIND_ZH[self]

    @property
    def label_en(self) -> str:
        return _PERMIT_KIND_EN[self]


_PERMIT_KIND_ZH = {
    PermitKind.RESIDENT: "住户证",
    PermitKind.STANDING_RELEASE: "常住物品放行证",
    PermitKind.TEMPORARY: "临时通行证",
    PermitKind.RENOVATION: "装修出入证",
}
_PERMIT_KIND_EN = {
    PermitKind.RESIDENT: "Resident permit",
    PermitKind.STANDING_RELEASE: "Standing release permit",
    PermitKind.TEMPORARY: "Temporary pass",
    PermitKind.RENOVATION: "Renovation pass",
}

#: A temporary pass may be valid for three days at most (DOMAIN.md).
TEMPORARY_PASS_MAX_DAYS = 3
#: A resident permit (住户证) is valid one year, then renewed for another (DOMAIN.md).
PERMIT_YEAR_DAYS = 365
#: A renovation pass (装修出入证) runs for its renovation permit's period. The procedures set no
#: length; the office refuses one longer than this (a renovation's usual 装修许可证 period), so a
#: typing slip (2027 for 2026) cannot make a contractor's card good for a year.
RENOVATION_PASS_MAX_DAYS = 90


#: Wrong PINs in a row on a gate's keypad before the badge is locked (the gate's own count, per badge) ...
MAX_PIN_FAILURES = 5
#: ... and for how long: no PIN of that badge is taken until the lock-out ends.
PIN_LOCKOUT_MINUTES = 15


class PermitStatus(str, enum.Enum):
    ACTIVE = "active"
    LOST = "lost"        # reported lost: guards keep the card and call the office
    REVOKED = "revoked"


class Role(str, enum.Enum):
    GUARD = "guard"
    SUPERVISOR = "supervisor"


class SlipKind(str, enum.Enum):
    """Who is taking items out, which decides the approvals a slip needs."""

    OWNER = "owner"                  # 业主
    TENANT = "tenant"                # 租户, with the owner's consent
    NON_OWNER = "non_owner"          # 非业主, with the owner's consent
    CONTRACTOR = "contractor"        # 施工单位
    MOVE_OUT = "move_out"            # 迁出, designated exit only
    COMPANY_ASSETS = "company"       # 公司财产: company office and finance sign too

    @property
    def label_zh(self) -> str:
        return _SLIP_KIND_ZH[self]

    @property
    def label_en(self) -> str:
        return _SLIP_KIND_EN[self]


_SLIP_KIND_ZH = {
    SlipKind.OWNER: "业主搬出",
    SlipKind.TENANT: "租户搬出(业主同意)",
    SlipKind.NON_OWNER: "非业主搬出(业主同意)",
    SlipKind.CONTRACTOR: "施工单位",
    SlipKind.MOVE_OUT: "迁出",
    SlipKind.COMPANY_ASSETS: "公司财产",
}
_SLIP_KIND_EN = {
    SlipKind.OWNER: "Owner",
    SlipKind.TENANT: "Tenant (owner consents)",
    SlipKind.NON_OWNER: "Non-owner (owner consents)",
    SlipKind.CONTRACTOR: "Contractor",
    SlipKind.MOVE_OUT: "Move-out",
    SlipKind.COMPANY_ASSETS: "Company assets",
}


class ApprovalRole(str, enum.Enum):
    HANDLER = "handler"                      # 经办人 (front desk)
    BUTLER_HEAD = "butler_head"              # 管家部负责人
    CUSTOMER_SERVICE = "customer_service"    # 客户服务部主任
    SECURITY = "security"                    # 保安部
    OWNER_CONSENT = "owner_consent"          # 业主认可
    COMPANY_OFFICE = "company_office"        # 公司办公室
    COMPANY_FINANCE = "company_finance"      # 公司财务

    @property
    def label_zh(self) -> str:
        return _APPROVAL_ZH[self]


_APPROVAL_ZH = {
    ApprovalRole.HANDLER: "经办人",
    ApprovalRole.BUTLER_HEAD: "管家部负责人",
    ApprovalRole.CUSTOMER_SERVICE: "客户服务部主任",
    ApprovalRole.SECURITY: "保安部",
    ApprovalRole.OWNER_CONSENT: "业主认可",
    ApprovalRole.COMPANY_OFFICE: "公司办公室",
    ApprovalRole.COMPANY_FINANCE: "公司财务",
}

#: Approvals each slip kind needs before a gate may release against it (DOMAIN.md).
REQUIRED_APPROVALS: dict[SlipKind, tuple[ApprovalRole, ...]] = {
    SlipKind.OWNER: (ApprovalRole.HANDLER, ApprovalRole.BUTLER_HEAD),
    SlipKind.TENANT: (ApprovalRole.HANDLER, ApprovalRole.OWNER_CONSENT, ApprovalRole.BUTLER_HEAD),
    SlipKind.NON_OWNER: (ApprovalRole.HANDLER, ApprovalRole.OWNER_CONSENT, ApprovalRole.BUTLER_HEAD),
    SlipKind.CONTRACTOR: (ApprovalRole.HANDLER, ApprovalRole.CUSTOMER_SERVICE, ApprovalRole.SECURITY),
    SlipKind.MOVE_OUT: (ApprovalRole.HANDLER, ApprovalRole.BUTLER_HEAD),
    SlipKind.COMPANY_ASSETS: (
        ApprovalRole.HANDLER,
        ApprovalRole.BUTLER_HEAD,
        ApprovalRole.COMPANY_OFFICE,
        ApprovalRole.COMPANY_FINANCE,
    ),
}


class SlipStatus(str, enum.Enum):
    PENDING = "pending"        # made at the front desk, waiting for approvals its kind needs; no token yet
    ISSUED = "issued"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Unit:
    unit_id: str           # "3-2-1502": building 3, entrance 2, room 1502
    building: str
    room: str
    unpaid_fees: bool = False


@dataclass(frozen=True)
class Person:
    """Someone a guard must recognise: never carries a plaintext national ID."""

    name: str
    id_masked: str = ""    # 4401**********123X, for display
    id_hash: str = ""      # HMAC of the ID number, for matching only
    photo: str = ""        # path or key of the photo in the replica's photo store
    phone: str = ""


@dataclass(frozen=True)
class Permit:
    permit_id: str
    card_uid: str
    kind: PermitKind
    holder: Person
    unit_id: str
    valid_from: datetime
    valid_until: datetime
    status: PermitStatus = PermitStatus.ACTIVE
    replaces: str = ""     # a replacement card: the lost or revoked permit it replaces


@dataclass(frozen=True)
class SlipItem:
    name: str
    quantity: int
    spec: str = ""         # size / specification


@dataclass(frozen=True)
class Approval:
    role: ApprovalRole
    name: str
    at: datetime | None = None


@dataclass(frozen=True)
class Slip:
    """An item-release slip 物品放行条 (form R-KF001) as the replica holds it."""

    slip_id: str
    kind: SlipKind
    unit_id: str
    applicant: Person
    mover: Person
    items: tuple[SlipItem, ...]
    valid_from: datetime
    valid_until: datetime
    purpose: str = ""
    approvals: tuple[Approval, ...] = ()
    status: SlipStatus = SlipStatus.ISSUED
    mover_permit_id: str = ""   # set when the mover is a resident with a card
    exit_gate_id: str = ""      # the designated exit, for move-outs

    @property
    def approved_roles(self) -> frozenset[ApprovalRole]:
        return frozenset(a.role for a in self.approvals)


@dataclass(frozen=True)
class Guard:
    guard_id: str
    name: str
    badge_uid: str
    pin_hash: str          # "pbkdf2_sha256$iterations$salt_hex$hash_hex"
    role: Role = Role.GUARD
    active: bool = True


@dataclass(frozen=True)
class Gate:
    gate_id: str
    name: str
    designated_exit: bool = False


@dataclass(frozen=True)
class LargeItemHours:
    """When large items may leave: a daily window on working days (DOMAIN.md rules).

    Non-working days are weekends unless listed in ``working_days`` (调休), plus every
    date in ``holidays``. ``allow_non_working_days`` lifts the weekend/holiday bar.
    """

    start: time = time(7, 0)
    end: time = time(21, 0)
    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    allow_non_working_days: bool = False

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def allows(self, at: datetime) -> bool:
        if not self.allow_non_working_days and not self.is_working_day(at.date()):
            return False
        return self.start <= at.time().replace(tzinfo=None) < self.end


@dataclass(frozen=True)
class Consumption:
    """A slip already used: where and when (from this gate's log or another's)."""

    slip_id: str
    gate_id: str
    at: datetime


@dataclass(frozen=True)
class TokenClaims:
    """What a verified slip QR token says, enough to check a slip not yet synced."""

    slip_id: str
    kind: SlipKind
    unit_id: str
    valid_from: datetime
    valid_until: datetime
    item_count: int
    items_digest: str
    key_id: str
    exit_gate_id: str = ""
