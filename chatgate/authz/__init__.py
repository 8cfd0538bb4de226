"""Authorization in one place (SPEC §13).

Every route declares one ``Permission`` through ``requires``; the decision whether a role
holds a permission is made only in ``role_has``. Object-level rules (a member's own
tokens, chats and keys) are checked by the services with ``Actor.may_act_for``.
"""

from chatgate.authz.actor import Actor
from chatgate.authz.permissions import (
    ROLE_NAMES,
    Permission,
    Role,
    is_grantable,
    is_owner,
    is_role_name,
    parse_role,
    role_has,
)

__all__ = [
    "ROLE_NAMES",
    "Actor",
    "Permission",
    "Role",
    "is_grantable",
    "is_owner",
    "is_role_name",
    "parse_role",
    "role_has",
]
