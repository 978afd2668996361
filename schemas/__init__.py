"""The vendorwatch event contract: pydantic models, the CloudEvents codec and JSON Schema export.

Producers can ``from schemas import ContractSigned, encode_structured, new_event`` and publish valid events.
This package imports nothing else of the project.
"""

from schemas.alert import (
    Alert,
    AlertStatus,
    Evidence,
    Exposure,
    Influence,
    InfluencePath,
    PathStep,
    PersonLink,
    Severity,
    Transition,
)
from schemas.cloudevents import CloudEvent, decode_record, decode_structured, encode_structured, new_event
from schemas.errors import (
    ConfigError,
    DeliveryError,
    InvalidEvent,
    InvalidEventData,
    NotACloudEvent,
    PermanentDelivery,
    RetryableDelivery,
    UnknownEventType,
    VendorwatchError,
)
from schemas.events import (
    CompetitorsDeclared,
    ContractAmended,
    ContractSigned,
    ContractTerminated,
    DataShared,
    Interest,
    InterestType,
    OrgDeclared,
    OrgKind,
    OwnershipStated,
    OwnershipStatus,
    Sensitivity,
    Share,
)
from schemas.registry import SPECS, EventSpec

__all__ = [
    "SPECS",
    "Alert",
    "AlertStatus",
    "CloudEvent",
    "CompetitorsDeclared",
    "ConfigError",
    "ContractAmended",
    "ContractSigned",
    "ContractTerminated",
    "DataShared",
    "DeliveryError",
    "EventSpec",
    "Evidence",
    "Exposure",
    "Influence",
    "InfluencePath",
    "Interest",
    "InterestType",
    "InvalidEvent",
    "InvalidEventData",
    "NotACloudEvent",
    "OrgDeclared",
    "OrgKind",
    "OwnershipStated",
    "OwnershipStatus",
    "PathStep",
    "PermanentDelivery",
    "PersonLink",
    "RetryableDelivery",
    "Sensitivity",
    "Severity",
    "Share",
    "Transition",
    "UnknownEventType",
    "VendorwatchError",
    "decode_record",
    "decode_structured",
    "encode_structured",
    "new_event",
]
