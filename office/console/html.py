"""Server-rendered HTML without a template engine: every value is escaped unless it is
``Safe`` (markup this module or a page built). No scripts, no external assets."""
from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from office.console.auth import Session


class Safe(str):
    """Markup built here from escaped parts; never wrap user data in it directly."""


def esc(value: Any) -> Safe:
    if isinstance(value, Safe):
        return value
    return Safe(html.escape("" if value is None else str(value), quote=True))


VOID = frozenset({"input", "br", "meta", "img"})


def tag(_tag: str, _content: Any = "", /, **attrs: Any) -> Safe:
    """``<tag attrs>content</tag>``; attribute names ending in ``_`` lose it (class_ -> class)."""
    parts = []
    for key, val in attrs.items():
        if val is None or val is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        parts.append(f" {key}" if val is True else f' {key}="{esc(val)}"')
    if _tag in VOID:
        return Safe(f"<{_tag}{''.join(parts)}>")
    return Safe(f"<{_tag}{''.join(parts)}>{esc(_content)}</{_tag}>")


def join(items: Iterable[Any], sep: str = "") -> Safe:
    return Safe(sep.join(esc(i) for i in items))


def bi(zh: Any, en: Any, cls: str = "") -> Safe:
    """Chinese first, English beneath."""
    return tag("span", join([tag("span", zh, class_="zh"), tag("span", en, class_="en")]), class_=("bi " + cls).strip())


CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;font-size:15px;
 color:#1d2430;background:#f4f5f7;line-height:1.35}
header{background:#1f3a5f;color:#fff;display:flex;align-items:center;gap:18px;padding:0 16px;height:52px}
header .brand{font-size:18px;font-weight:700;white-space:nowrap}
header .brand small{display:block;font-size:11px;font-weight:400;opacity:.75}
nav{display:flex;gap:2px;flex:1}
nav a{color:#dbe6f3;text-decoration:none;padding:6px 12px;border-radius:4px;line-height:1.15}
nav a .bi .en{color:#c3d3e6}
nav a.on{background:#fff;color:#1f3a5f}nav a.on .bi .en{color:#5a6b80}
nav a:hover{background:#2d507f}nav a.on:hover{background:#fff}
nav .count{background:#c62828;color:#fff;border-radius:9px;padding:0 6px;margin-left:4px;font-size:12px;
 font-weight:700}
.who{font-size:13px;text-align:right;white-space:nowrap}
.who form{display:inline}
.who a.account{color:#fff;text-decoration:none}.who a.account:hover{text-decoration:underline}
.who button{margin-left:8px;background:transparent;color:#fff;border:1px solid #8aa4c4;border-radius:3px;
 padding:2px 8px;font:inherit;cursor:pointer}
main{padding:14px 18px;max-width:1880px}
h1{font-size:21px;margin:2px 0 10px}h1 .en{font-size:13px;font-weight:400;color:#5a6b80}
.bi{display:inline-block}.bi .zh,.bi .en{display:block}.bi .en{font-size:.78em;color:#5a6b80}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d5dae1}
th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#e9edf2;font-weight:600;position:sticky;top:0;font-size:14px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.time{white-space:nowrap;font-variant-numeric:tabular-nums}
tr.override td{background:#fff4d6}tr.override td:first-child{border-left:5px solid #e69b00}
tr.report td{background:#fde8e8}tr.report td:first-child{border-left:5px solid #c62828}
tr.refusal td .reason .zh,tr.card_denied td .reason .zh{color:#b71c1c}
tr.shift td{color:#6b7785}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:13px;font-weight:600;white-space:nowrap}
.k-release,.k-card_pass{background:#e3f4e6;color:#1b6b2a}
.k-refusal,.k-card_denied{background:#fde4e4;color:#a11}
.k-override{background:#e69b00;color:#fff}.k-report{background:#c62828;color:#fff}
.badge .en{color:inherit;opacity:.85}
.k-shift_start,.k-shift_end{background:#eceff3;color:#555}
.k-visitor{background:#e3eefb;color:#1d4f91}
.badge.redated{background:#e0ecfb;color:#1a4f8f}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;background:#fff;border:1px solid #d5dae1;
 padding:8px 10px;margin-bottom:10px}
.filters label{display:flex;flex-direction:column;font-size:13px;color:#3c4858}
.filters input,.filters select{font:inherit;padding:3px 6px;border:1px solid #aeb7c2;border-radius:3px;min-height:30px}
button,.button{font:inherit;padding:5px 14px;border-radius:4px;border:1px solid #1f3a5f;background:#1f3a5f;color:#fff;
 cursor:pointer;text-decoration:none;display:inline-block;line-height:1.2}
.button.light{background:#fff;color:#1f3a5f}
button.danger{background:#b71c1c;border-color:#b71c1c}
.summary{margin:0 0 10px;color:#3c4858}
.note{color:#5a6b80;font-size:13px}
.stale td.seen{color:#fff;background:#c62828;font-weight:700}
.stale td.seen .en{color:#fde4e4}
.bad{color:#b71c1c;font-weight:600}.good{color:#1b6b2a}
.flag-open td:first-child{border-left:5px solid #c62828}
.flag-done td{color:#6b7785}
.empty{padding:18px;background:#fff;border:1px solid #d5dae1;color:#5a6b80}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:12px}
.card{background:#fff;border:1px solid #d5dae1;padding:8px 14px;min-width:150px}
.card b{font-size:24px;display:block}
.card.warn{border-color:#e69b00;background:#fff8e6}.card.alert{border-color:#c62828;background:#fdeeee}
.login{max-width:380px;margin:70px auto;background:#fff;border:1px solid #d5dae1;padding:22px 26px}
.login label{display:block;margin:10px 0}.login input{width:100%;font:inherit;padding:6px;margin-top:3px}
.error{background:#fde4e4;color:#a11;padding:8px 10px;border:1px solid #f3b4b4;margin:8px 0}
.ok{background:#e3f4e6;color:#1b6b2a;padding:8px 10px;border:1px solid #b7dfc0;margin:8px 0}
code{font-family:Consolas,"DejaVu Sans Mono",monospace;font-size:13px}
h2.sub{font-size:17px;margin:16px 0 8px}
.slipform fieldset{background:#fff;border:1px solid #d5dae1;margin:0 0 10px;display:flex;flex-wrap:wrap;gap:10px 16px}
.slipform legend{font-weight:700;padding:0 4px}
.slipform label{display:flex;flex-direction:column;font-size:13px;color:#3c4858}
.slipform label.check{flex-direction:row;align-items:center;gap:6px}
.slipform label.wide input{width:420px}
.slipform input,.slipform select{font:inherit;padding:4px 6px;border:1px solid #aeb7c2;border-radius:3px;min-height:32px}
.slipform table.items input{width:100%}
.slipform .en,.slip-detail .en{font-size:.78em;color:#5a6b80}
.slipform .error li .en{display:block}
.bad-field input,.bad-field select,label.bad-field input,label.bad-field select{border:2px solid #c62828;background:#fff5f5}
.slip-detail table.fields th{width:12%}
tr.waiting td{color:#a15c00}
.status-pending{color:#a15c00;font-weight:700}.status-issued{color:#1b6b2a;font-weight:700}
.status-cancelled{color:#b71c1c;font-weight:700}
ul.chase li{margin:3px 0}
.staff .slipform fieldset{align-items:flex-end}
.staff .ok .en,.staff .error .en,.staff .once .en{display:block;font-size:.78em;color:#5a6b80}
.staff .once{margin-top:6px}.staff code.password{font-size:20px;background:#fff;padding:2px 10px;border:1px dashed #1b6b2a}
.event table.fields th{width:14%;white-space:nowrap}.event details{margin-top:10px}
.event pre{background:#fff;border:1px solid #d5dae1;padding:8px;white-space:pre-wrap;word-break:break-all}
table.ticks input[type=checkbox]{width:20px;height:20px}
tr.missing td{background:#fff8f8}
.permitform [hidden]{display:none!important}
.permit-columns{display:flex;gap:12px;align-items:flex-start}.permit-columns>div{flex:1}
.permitform fieldset.photo{flex-direction:column;width:300px;flex:none}
.photo-box img,.photo-box video{max-width:280px;max-height:240px;display:block;border:1px solid #d5dae1;background:#eef1f4}
.permitform p.wide{flex-basis:100%;margin:0}.permitform input.uid{font-family:Consolas,"DejaVu Sans Mono",monospace;width:260px}
.permit-detail{display:flex;gap:16px;align-items:flex-start}.permit-detail table.fields{width:auto;min-width:520px}
.permit-detail .photo-box{background:#fff;border:1px solid #d5dae1;padding:6px;min-width:160px;min-height:120px}
.permit-detail th .en,.permits th .en,.expiring th .en,.history th .en,.reminders .en,.cards .en{font-size:.78em;color:#5a6b80}
.actions{display:flex;gap:10px;flex-wrap:wrap;align-items:flex-end}.actions form{margin:0}
.actions form.reissue{display:flex;gap:8px;align-items:flex-end;background:#fff;border:1px solid #d5dae1;padding:6px 8px}
.actions label{display:flex;flex-direction:column;font-size:13px}.actions input{font:inherit;padding:4px 6px;min-height:32px}
.st-active{background:#e3f4e6;color:#1b6b2a}.st-expiring{background:#fff1cc;color:#8a5a00}
.st-lost,.st-revoked{background:#fde4e4;color:#a11}.st-expired,.st-not_yet{background:#eceff3;color:#555}
tr.st-active,tr.st-expiring,tr.st-lost,tr.st-revoked,tr.st-expired,tr.st-not_yet{background:none;color:inherit}
table.expiring td{background:#fff8e6}
@media print{header,.no-print,form button{display:none}body{background:#fff}main{padding:0}
.card{min-width:110px}table.ticks input[type=checkbox]{display:none}}
"""

NAV = (("log", "出入记录", "Exit log"), ("yesterday", "昨日汇总", "Yesterday"), ("alerts", "警报", "Alerts"),
       ("flags", "异常", "Flags"),
       ("gates", "岗亭", "Gates"), ("slips", "放行条", "Slips"), ("permits", "住户证", "Permits"),
       ("memos", "商户备忘表", "Tenant memos"), ("staff", "员工", "Staff"),
       ("audit", "操作记录", "Audit"))
#: Pages only an administrator opens: their links are shown to administrators only.
ADMIN_NAV = frozenset({"staff", "audit"})


def page(title_zh: str, title_en: str, body: Any, session: Session | None, active: str = "",
         estate_name: str = "", open_flags: int = 0, estate_names: dict[str, str] | None = None) -> str:
    if session is not None:
        def label(key: str, zh: str, en: str) -> Safe:
            if key == "flags" and open_flags:
                return bi(join([esc(zh), tag("span", str(open_flags), class_="count",
                                             title=f"{open_flags} 条未处理 open")]), en)
            return bi(zh, en)

        links = join(tag("a", label(key, zh, en), href=f"/console/{key}", class_="on" if key == active else None)
                     for key, zh, en in NAV if key not in ADMIN_NAV or session.role == "admin")
        who = tag("div", join([tag("a", join([esc(session.name), " (", esc(session.username), ")"]), href="/console/account",
                                   title="修改密码 Change your password", class_="account"),
                               tag("form", join([csrf_field(session), tag("button", "退出 Sign out", type="submit")]),
                                   method="post", action="/console/logout")]), class_="who")
        estates: Any = ""
        if len(session.estates) > 1:      # staff of several estates: which one this is, and the others
            names = estate_names or {}
            estates = tag("nav", join(
                tag("a", names.get(e, e), href=f"/console/estate?to={e}", class_="on" if e == session.estate else None,
                    title=f"小区 estate {e}") for e in session.estates), class_="estates")
        head = tag("header", join([tag("div", join([esc("门岗放行"), tag("small", estate_name or "gatepass office")]),
                                       class_="brand"), tag("nav", links), estates, who]))
    else:
        head = tag("header", tag("div", join([esc("门岗放行"), tag("small", "gatepass office")]), class_="brand"))
    h1 = tag("h1", join([esc(title_zh), " ", tag("span", title_en, class_="en")]))
    return ("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title_zh)} {esc(title_en)} · gatepass</title><style>{CSS}</style></head>"
            f"<body>{head}<main>{h1}{esc(body)}</main></body></html>")


def csrf_field(session: Session) -> Safe:
    return Safe(f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">')


def post_button(action: str, session: Session, label: Any, cls: str = "") -> Safe:
    return tag("form", join([csrf_field(session), tag("button", label, type="submit", class_=cls or None)]),
               method="post", action=action, style="margin:0")
