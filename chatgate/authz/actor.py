"""Who is acting: the authenticated user, or the CLI/system acting on the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from chatgate.authz.permissions import Permission, Role, role_has


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: uuid.UUID | None
    role: Role
    username: str
    source: str = "api"  # audit source: api, cli, ui, config-apply, system

    def can(self, permission: Permission) -> bool:
        return role_has(self.role, permission)

    def may_act_for(self, user_id: uuid.UUID) -> bool:
        """Admins act for anyone on admin resources; everyone acts for themselves."""
        return user_id == self.user_id or self.can(Permission.ADMIN_WRITE)

    @classmethod
    def system(cls, source: str = "system") -> Actor:
        return cls(user_id=None, role=Role.OWNER, username=source, source=source)
