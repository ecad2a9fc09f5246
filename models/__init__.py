"""SQLModel tables: the durable state of hokoku (the database is the source of truth)."""

from models.audit import AuditEvent, AuditHead
from models.incident import Acknowledgement, Incident, IncidentCounter, Stage
from models.notification import Notification
from models.org import Division, Institute, OrgSnapshot, Person, RoleAssignment

__all__ = [
    "Acknowledgement",
    "AuditEvent",
    "AuditHead",
    "Division",
    "Incident",
    "IncidentCounter",
    "Institute",
    "Notification",
    "OrgSnapshot",
    "Person",
    "RoleAssignment",
    "Stage",
]
