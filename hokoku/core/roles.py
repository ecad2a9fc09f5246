"""The roles of the regulation (Chapter 2 structure, Chapter 9 chain), as code names."""

from __future__ import annotations

from enum import StrEnum

from hokoku.i18n import t


class Role(StrEnum):
    DIRECTOR_GENERAL = "director_general"  # 機構長
    GENERAL_MANAGER = "general_manager"  # 総括管理者
    AUDIT_OFFICER = "audit_officer"  # 監査責任者
    INSTITUTE_MANAGER = "institute_manager"  # 研究所等管理者
    PROTECTION_MANAGER = "protection_manager"  # 保護管理者
    PROTECTION_OFFICER = "protection_officer"  # 保護担当者
    STAFF = "staff"  # 職員等
    REPORTER = "reporter"  # whoever filed the report (staff or contractor)


#: Pseudo-role used in escalation ladders: the deputy of the stage owner.
DEPUTY = "deputy"


def role_label(role: str, lang: str = "ja") -> str:
    """Human label of a role (or the deputy pseudo-role) in ``ja`` or ``en``."""
    return t(f"role.{DEPUTY if role == DEPUTY else Role(role).value}", lang)
