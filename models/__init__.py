"""SQLModel tables: the durable state of hokoku (the database is the source of truth)."""

from hokoku.models.acktoken import UsedAckToken
from hokoku.models.audit import AuditEvent, AuditHead
from hokoku.models.casework import (
    Alert,
    AlertSource,
    DocumentSnapshot,
    Finding,
    IndividualNotice,
    PublicText,
    StatutoryDecision,
    Task,
    Triage,
)
from hokoku.models.flowinput import FlowInput
from hokoku.models.flowtrigger import FlowTrigger
from hokoku.models.incident import Acknowledgement, Incident, IncidentAmendment, IncidentCounter, Stage
from hokoku.models.meta import HokokuMeta
from hokoku.models.notification import Notification
from hokoku.models.org import Division, Institute, OrgSnapshot, Person, RoleAssignment
from hokoku.models.responders import ChecklistTick, EvidenceFile, IncidentUpdate
from hokoku.models.web import ApiToken, IncidentRead, LoginFailure, ReadWarning, WebSession, WebUser

__all__ = [
    "Alert",
    "AlertSource",
    "DocumentSnapshot",
    "FlowInput",
    "FlowTrigger",
    "Finding",
    "IndividualNotice",
    "PublicText",
    "StatutoryDecision",
    "Task",
    "Triage",
    "Acknowledgement",
    "AuditEvent",
    "AuditHead",
    "Division",
    "HokokuMeta",
    "Incident",
    "IncidentAmendment",
    "IncidentCounter",
    "Institute",
    "Notification",
    "OrgSnapshot",
    "Person",
    "RoleAssignment",
    "Stage",
    "UsedAckToken",
    "ApiToken",
    "IncidentRead",
    "LoginFailure",
    "ReadWarning",
    "WebSession",
    "WebUser",
    "ChecklistTick",
    "EvidenceFile",
    "IncidentUpdate",
]
