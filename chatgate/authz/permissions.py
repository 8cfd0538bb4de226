"""Roles, permissions and the one table that maps them."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    AUDITOR = "auditor"
    MEMBER = "member"


class Permission(StrEnum):
    PUBLIC = "public"  # no token needed
    AUTHENTICATED = "authenticated"  # any signed-in user; services check ownership
    ADMIN_READ = "admin_read"  # read configs, users, audit log, everyone's usage
    ADMIN_WRITE = "admin_write"  # write users, tokens of others, configs, keys, settings
    METRICS = "metrics"  # admin/auditor unless CHATGATE_METRICS_PUBLIC=true


_ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission),
    Role.AUDITOR: frozenset(
        {Permission.PUBLIC, Permission.AUTHENTICATED, Permission.ADMIN_READ, Permission.METRICS}
    ),
    Role.MEMBER: frozenset({Permission.PUBLIC, Permission.AUTHENTICATED}),
}


def role_has(role: Role, permission: Permission) -> bool:
    return permission in _ROLE_PERMISSIONS[role]
