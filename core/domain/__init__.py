"""Domain models shared by every stage.

Field names are stable and documented: they are the SQLite columns' JSON, the
Elasticsearch mappings and the API's JSON. Import models from here.
"""

from core.domain.alert import Alert, AlertEvent, AlertState, Delivery, DeliveryStatus, Severity, Silence
from core.domain.common import utcnow
from core.domain.customer import (
    RFM,
    AuditEvent,
    Consent,
    Customer,
    IdentityKey,
    IdentityLink,
    LinkStatus,
    SupportTicket,
    TicketStatus,
)
from core.domain.keys import ApiKey
from core.domain.mention import (
    Analysis,
    Author,
    Campaign,
    Cue,
    Engagement,
    EngagementPoint,
    Mention,
    RiskScore,
    Thread,
    mention_id,
)
from core.domain.risk import RiskFlag, RiskLevel

__all__ = [
    "RFM", "Alert", "AlertEvent", "AlertState", "Analysis", "ApiKey", "AuditEvent", "Author",
    "Campaign", "Consent", "Cue", "Customer", "Delivery", "DeliveryStatus", "Engagement",
    "EngagementPoint", "IdentityKey", "IdentityLink", "LinkStatus", "Mention", "RiskFlag",
    "RiskLevel", "RiskScore", "Severity", "Silence", "SupportTicket", "Thread", "TicketStatus",
    "mention_id", "utcnow",
]
