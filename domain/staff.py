"""The office's staff roles: who a console account is, in words, and what it may do.

One definition for the console (office/console), the CLI's ``add-staff --role`` and the
staff pages. It lives in the domain so that registering the ``gatepass office`` commands
needs no web library: a gate's venv has none (issue 17).
"""
from __future__ import annotations

from domain.model import ApprovalRole

#: Every staff role, with its Chinese and English names.
ROLES: dict[str, tuple[str, str]] = {
    "front_desk": ("前台", "Front desk"), "butler": ("管家部负责人", "Butler department head"),
    "customer_service": ("客户服务部主任", "Customer-service supervisor"), "security": ("保安部", "Security"),
    "company_office": ("公司办公室", "Company office"), "company_finance": ("公司财务", "Company finance"),
    "admin": ("管理员", "Administrator"),
}
#: The slip approval each role gives in its own account (domain REQUIRED_APPROVALS says which a kind needs).
#: The front desk's is the handler's (经办人), given when the clerk makes the slip.
APPROVES: dict[str, ApprovalRole] = {
    "front_desk": ApprovalRole.HANDLER, "butler": ApprovalRole.BUTLER_HEAD,
    "customer_service": ApprovalRole.CUSTOMER_SERVICE, "security": ApprovalRole.SECURITY,
    "company_office": ApprovalRole.COMPANY_OFFICE, "company_finance": ApprovalRole.COMPANY_FINANCE,
}
#: Roles that may make, amend and cancel slips at the front desk.
ISSUERS = frozenset({"front_desk", "admin"})
