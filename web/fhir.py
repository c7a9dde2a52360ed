"""The audit log as FHIR R4 AuditEvent resources, in the IHE Basic Audit Log Patterns style.

Each :class:`client.db.models.AuditEntry` becomes one AuditEvent: ``type`` rest (a RESTful
operation), ``subtype`` the interaction (``read`` or ``search-type``), ``action`` R (read)
or E (execute: a query), three agents as BALP describes them (the client machine, the
server, the user), ``source`` this application, and ``entity`` what was read (its role:
a domain resource, or the query). Agents and entities carry identifiers only: a staff
account name, ``qr:<hash>`` for a QR holder, a donation id, a block number.

References: HL7 FHIR R4 AuditEvent; IHE ITI Basic Audit Log Patterns (BALP) 1.1,
profiles IHE.BasicAudit.Read and IHE.BasicAudit.Query.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from client.db.models import AuditEntry

__all__ = ["QUERY_ACTIONS", "audit_bundle", "audit_event"]

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
INTERACTION = "http://hl7.org/fhir/restful-interaction"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
# Actions that ran a query (searches, exports): BALP Query, action E, entity role 24.
QUERY_ACTIONS = frozenset({"regulator.search", "regulator.export", "regulator.audit",
                           "regulator.audit-export", "regulator.chart"})
OUTCOMES = {"success": "0", "not-found": "4", "unavailable": "4", "forbidden": "8"}


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def audit_event(row: AuditEntry, *, site: str = "traza") -> dict[str, Any]:
    """One audit row as a FHIR R4 AuditEvent (JSON-ready)."""
    query = row.action in QUERY_ACTIONS
    entity: dict[str, Any] = {
        "what": {"identifier": {"value": row.entity or row.action}},
        "type": _coding(ENTITY_TYPE, "2", "System Object"),
        "role": (_coding(OBJECT_ROLE, "24", "Query") if query
                 else _coding(OBJECT_ROLE, "4", "Domain Resource")),
        "description": row.action,
    }
    if query and row.entity:
        entity["query"] = base64.b64encode(row.entity.encode()).decode()
    client = {"type": {"coding": [_coding(DCM, "110153", "Source Role ID")]},
              "who": {"display": "client"}, "requestor": False}
    if row.source:
        client["network"] = {"address": row.source, "type": "2"}  # 2: IP address
    return {
        "resourceType": "AuditEvent",
        "id": str(row.id),
        "meta": {"profile": [BALP + ("IHE.BasicAudit.Query" if query
                                     else "IHE.BasicAudit.Read")]},
        "type": _coding(EVENT_TYPE, "rest", "Restful Operation"),
        "subtype": [_coding(INTERACTION, "search-type", "search-type") if query
                    else _coding(INTERACTION, "read", "read")],
        "action": "E" if query else "R",
        "recorded": row.at.isoformat().replace("+00:00", "Z"),
        "outcome": OUTCOMES.get(row.outcome, "4"),
        "agent": [
            client,
            {"type": {"coding": [_coding(DCM, "110152", "Destination Role ID")]},
             "who": {"display": site}, "requestor": False},
            {"type": {"coding": [_coding(PARTICIPATION, "IRCP", "information recipient")]},
             "who": {"identifier": {"value": row.actor}}, "requestor": True,
             "role": [{"text": row.role}]},
        ],
        "source": {"site": site, "observer": {"display": f"{site} web"},
                   "type": [_coding(SOURCE_TYPE, "4", "Application Server")]},
        "entity": [entity],
    }


def audit_bundle(rows: Iterable[AuditEntry], *, site: str = "traza") -> dict[str, Any]:
    """The rows as a FHIR ``Bundle`` of type ``collection``."""
    events = [audit_event(r, site=site) for r in rows]
    return {"resourceType": "Bundle", "type": "collection", "total": len(events),
            "entry": [{"fullUrl": f"urn:traza:audit:{e['id']}", "resource": e}
                      for e in events]}
