"""SQLModel tables: the durable state of hokoku (the database is the source of truth)."""

from models.acktoken import UsedAckToken
from models.audit import AuditEvent, AuditHead
from models.casework import (
    Alert,
    AlertSource,
    DocumentSnapshot,
    PublicText,
    Finding,
    IndividualNotice,
    StatutoryDecision,
    Task,
    Triage,
)
from models.flowinput import FlowInput
from models.flowtrigger import FlowTrigger
from models.incident import Acknowledgement, Incident, IncidentAmendment, IncidentCounter, Stage
from models.meta import HokokuMeta
from models.notification import Notification
from models.responders import ChecklistTick, EvidenceFile, IncidentUpdate
from models.org import Division, Institute, OrgSnapshot, Person, RoleAssignment
from models.web import ApiToken, IncidentRead, LoginFailure, ReadWarning, WebSession, WebUser

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
