"""Who may do what in the console: every POST route, the action it is, and the roles that may do it.

One table, read in one place: `Console.form_lists` (office/console/web.py), which every POST goes
through before it reads its form, answers 403 with a page to a role not listed for the route's
action. Pages that offer an action ask `may` too, so a clerk is not shown a button that would be
refused. A POST route that is missing here is a mistake: tests/office/test_console_roles.py fails
on it (add the route and its action below).
"""
from __future__ import annotations

from domain.staff import APPROVES, ISSUERS, ROLES
from office.console.alerts import ACKNOWLEDGERS

EVERYONE = frozenset(ROLES)
ADMINS = frozenset({"admin"})

#: action: (Chinese, English, roles allowed)
ACTIONS: dict[str, tuple[str, str, frozenset[str]]] = {
    "make_slip": ("开放行条、修改放行条", "make or amend a slip", ISSUERS),
    "cancel_slip": ("作废放行条", "cancel a slip", ISSUERS),
    "phone_link": ("生成手机出示链接", "send a slip to a phone", ISSUERS),
    "approve_slip": ("审批放行条", "approve a slip", frozenset(APPROVES)),
    "ack_alert": ("确认警报", "acknowledge an alert", ACKNOWLEDGERS),
    # the office's own flags (gaps, forks, edited rows...): the people who run the gates and the front desk
    "resolve_flag": ("处理异常", "resolve a flag", frozenset({"front_desk", "security", "butler", "admin"})),
    # the morning archive's paper copies reach the front desk and the butler department
    "archive_ticks": ("勾选纸质放行条", "tick paper slips", frozenset({"front_desk", "butler", "admin"})),
    "permits": ("办理住户证(发证、续期、挂失、注销、补办)", "issue, renew, report lost, revoke or re-issue a permit",
                ISSUERS),
    "memos": ("登记、撤回商户放行备忘表", "register or withdraw a tenant release memo", ISSUERS),
    "manage_staff": ("管理员工账号", "manage staff accounts", ADMINS),
    "own_password": ("修改自己的密码", "change your own password", EVERYONE),
    "sign_out": ("退出登录", "sign out", EVERYONE),
}

#: POST route (as FastAPI spells its path) -> action. /console/login needs no session and is not listed.
POST_ROUTES: dict[str, str] = {
    "/console/logout": "sign_out",
    "/console/slips/new": "make_slip",
    "/console/slips/{slip_id}/approve": "approve_slip",
    "/console/slips/{slip_id}/cancel": "cancel_slip",
    "/console/slips/{slip_id}/phone": "phone_link",
    "/console/slips/{slip_id}/amend": "make_slip",
    "/console/permits/new": "permits",
    "/console/permits/{permit_id}/renew": "permits",
    "/console/permits/{permit_id}/lost": "permits",
    "/console/permits/{permit_id}/revoke": "permits",
    "/console/permits/{permit_id}/reissue": "permits",
    "/console/memos/new": "memos",
    "/console/memos/{memo_id}/withdraw": "memos",
    "/console/alerts/{flag_id}/ack": "ack_alert",
    "/console/flags/{flag_id}/resolve": "resolve_flag",
    "/console/yesterday/ticks": "archive_ticks",
    "/console/staff/new": "manage_staff",
    "/console/staff/{username}": "manage_staff",
    "/console/staff/{username}/active": "manage_staff",
    "/console/staff/{username}/password": "manage_staff",
    "/console/account": "own_password",
}


def may(role: str, action: str) -> bool:
    return role in ACTIONS[action][2]


def action_of(route_path: str) -> str | None:
    return POST_ROUTES.get(route_path)
