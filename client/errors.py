"""Donation errors: the contract's refusals and the ledger's failures, as types.

Every refusal of the contract starts with a stable code and ``": "`` (``WRONG_STATE: donation
d-1 is CONSENTED: ...``); the codes are listed once, in ``chaincode/contract/error_codes.json``,
which the contract embeds and returns in ``GetLifecycle``. :data:`CODES` maps each code to a
type, so rewording a message never changes which exception is raised. Failures that come
from Fabric rather than the contract (read conflicts, unreachable nodes, discovery that cannot
plan an endorsement yet) are mapped from the gateway's own signals. Messages name ids and
states, never personal data.
"""

from __future__ import annotations

import re

from .gateway import GatewayError


class DonationError(Exception):
    """A donation step or query failed.

    ``code`` is the contract's code (``"WRONG_STATE"``...) or ``None`` when the failure did not
    come from the contract; ``transaction_id`` and ``details`` are the gateway's.
    """

    def __init__(self, message: str, *, transaction_id: str | None = None,
                 cause: GatewayError | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.transaction_id = transaction_id
        self.details = cause.details if cause is not None else ()


class NotFound(DonationError):
    """The donation (or its consent, link...) does not exist."""


class WrongState(DonationError):
    """The donation is not in a state where this step is allowed."""


class AlreadyExists(WrongState):
    """The id is taken: the donation exists, the request id was used for another step, or
    another donor link is stored. A retry with the same arguments fails again."""


class Unauthorized(DonationError):
    """The caller's org, role or intake org may not take this step."""


class InvalidInput(DonationError):
    """An argument is not an id, hash, enum, number or short code the contract accepts."""


class ContractFailure(DonationError):
    """The contract could not read or write the ledger, or found a corrupt record."""


class ClockSkew(DonationError):
    """The proposal's timestamp is too far from the endorsing peer's clock (the contract
    bounds evidence time); a fresh proposal from a host with a right clock gets through."""


class Conflict(DonationError):
    """Another transaction changed the donation first, and retries did not get through."""


class Unavailable(DonationError):
    """Peers or orderers could not be reached in time; the step may be retried later."""


#: The contract's codes (chaincode/contract/error_codes.json) and their types.
CODES: dict[str, type[DonationError]] = {
    "INVALID_INPUT": InvalidInput,
    "NOT_FOUND": NotFound,
    "WRONG_STATE": WrongState,
    "ALREADY_EXISTS": AlreadyExists,
    "UNAUTHORIZED": Unauthorized,
    "INTERNAL": ContractFailure,
    "CLOCK_SKEW": ClockSkew,
}

_CODE = re.compile(r"^([A-Z][A-Z_]*): ")

# Discovery does not (yet) know enough live peers: gossip is converging or peers are down;
# safe to retry with the same request id. Fabric's wording, not the contract's.
_NO_PLAN = "no combination of peers can be derived"


def contract_message(err: GatewayError) -> str:
    """The chaincode's own message from the peers' details (or the error's message)."""
    for detail in err.details:
        m = re.search(r"(?:chaincode response \d+, |error in simulation: )(.*)$", detail.message)
        if m:
            return m.group(1)
    return err.details[0].message if err.details else str(err)


def code_of(message: str) -> str | None:
    """The leading code of a contract message, or ``None`` if it has none we know."""
    m = _CODE.match(message)
    return m.group(1) if m and m.group(1) in CODES else None


def from_text(text: str, *, transaction_id: str | None = None,
              default: str = "the step failed") -> DonationError:
    """The typed error of a stored ``"CODE: message"`` (an outbox row's last error)."""
    code, _, message = text.partition(": ")
    return CODES.get(code, DonationError)(message or default, transaction_id=transaction_id)


def from_gateway(err: GatewayError) -> DonationError:
    """Map a gateway failure to the matching DonationError."""
    from .gateway import CommitError, is_mvcc_conflict, retriable

    if is_mvcc_conflict(err):
        return Conflict(f"{err} (another step on the donation committed first)",
                        transaction_id=err.transaction_id, cause=err)
    if isinstance(err, CommitError):
        return DonationError(str(err), transaction_id=err.transaction_id, cause=err)
    if retriable(err):
        return Unavailable(str(err), transaction_id=err.transaction_id, cause=err)
    message = contract_message(err)
    code = code_of(message)
    if code is not None:
        return CODES[code](message, transaction_id=err.transaction_id, cause=err, code=code)
    if _NO_PLAN in message or _NO_PLAN in str(err):
        return Unavailable(message, transaction_id=err.transaction_id, cause=err)
    return DonationError(message, transaction_id=err.transaction_id, cause=err)
