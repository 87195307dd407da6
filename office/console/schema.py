"""Tables of the staff console: staff accounts, the session-signing secret, an audit trail.

They hang on the office's one ``MetaData`` (so tests that drop the schema drop them too)
and are created by Alembic revision 0002 (office/migrations/). None is replicated to gates.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from office.schema import metadata

staff = Table(
    "staff", metadata,
    Column("username", String(32), primary_key=True),
    Column("estate", String(32), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("role", String(16), nullable=False),           # front_desk | butler | admin
    Column("password_hash", Text, nullable=False),        # pbkdf2_sha256$iterations$salt$hash, as guards' PINs
    Column("active", Integer, nullable=False, default=1),
    Column("created_at", String(40), nullable=False),
    # Sessions signed before this instant are void: set by sign-out and by a password change.
    Column("sessions_after", String(40)),
)

#: Secrets of this office database; "session" signs staff session cookies.
console_secrets = Table(
    "console_secrets", metadata,
    Column("name", String(32), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
)

#: Who did what in the console (sign-in, resolve a flag, cancel a slip): records must be complete.
console_audit = Table(
    "console_audit", metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("estate", String(32), nullable=False),
    Column("at", String(40), nullable=False),
    Column("username", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", Text, nullable=False, default=""),
    Index("console_audit_by_estate_at", "estate", "at"),
)


#: Wrong console passwords per username, counted before the password is hashed (office/console/lockout.py);
#: in the database, so every office process and a restart see the same count. Made by revision 0004.
sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("username", String(64), primary_key=True),     # as typed (lowercased), or a digest of odd input
    Column("failures", Integer, nullable=False, default=0),
    Column("last_at", String(40), nullable=False),        # UTC ISO of the last counted try
)

#: Links that show a slip's QR code on the resident's phone (office/console/phone.py). Only a digest
#: of the link's secret is kept; the first phone to open a link is bound to it by a cookie, whose
#: digest is kept too, so a forwarded link shows nothing on a second phone.
phone_links = Table(
    "phone_links", metadata,
    Column("link_hash", String(64), primary_key=True),
    Column("estate", String(32), nullable=False),
    Column("slip_id", String(10), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("device_hash", String(64)),                 # NULL until the first phone opens the link
    Column("opened_at", String(40)),
    Column("revoked", Integer, nullable=False, default=0),
    Index("phone_links_by_slip", "estate", "slip_id"),
)

#: The morning archive: each released slip's paper copy (保安联) ticked off as it reaches the front desk.
#: A release row of the exit log is (gate_id, seq); untick deletes the row. See office/console/archive.py.
archive_ticks = Table(
    "archive_ticks", metadata,
    Column("estate", String(32), primary_key=True),
    Column("gate_id", String(6), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("slip_id", String(10), nullable=False),
    Column("ticked_by", String(32), nullable=False),
    Column("ticked_at", String(40), nullable=False),
)
