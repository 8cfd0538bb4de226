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
    # Sees every live model in the catalog and on /v1, whatever members would see (§6).
    SEE_ALL_MODELS = "see_all_models"


_ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission),
    Role.AUDITOR: frozenset(
        {
            Permission.PUBLIC,
            Permission.AUTHENTICATED,
            Permission.ADMIN_READ,
            Permission.METRICS,
            Permission.SEE_ALL_MODELS,
        }
    ),
    Role.MEMBER: frozenset({Permission.PUBLIC, Permission.AUTHENTICATED}),
}


# Roles an admin may grant; the owner role is never granted (SPEC §13).
GRANTABLE_ROLES: Final = frozenset({Role.ADMIN, Role.AUDITOR, Role.MEMBER})


def role_has(role: Role, permission: Permission) -> bool:
    return permission in _ROLE_PERMISSIONS[role]


# Every role's name, in rank order: what a ``role`` field may hold.
ROLE_NAMES: Final = tuple(role.value for role in Role)


def is_role_name(value: str) -> bool:
    return value in _ROLE_PERMISSIONS


def parse_role(value: str) -> Role | None:
    """The role a name denotes; None when it names none (the caller answers 400)."""
    return Role(value) if is_role_name(value) else None


def is_owner(role: str) -> bool:
    """The owner is protected: never demoted, disabled, or made a second time."""
    return role == Role.OWNER


def is_grantable(role: str | None) -> bool:
    return role is not None and role in GRANTABLE_ROLES
