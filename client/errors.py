"""Donation errors: the contract's refusals and the ledger's failures, as types.

The contract's messages are stable (chaincode/README.md); one table maps them to types so
callers can tell a refused step from a bad input or an unreachable network. Messages name
ids and states, never personal data.
"""

from __future__ import annotations

import re

from .gateway import GatewayError


class DonationError(Exception):
    """A donation step or query failed. ``transaction_id`` and ``details`` as the gateway's."""

    def __init__(self, message: str, *, transaction_id: str | None = None,
                 cause: GatewayError | None = None) -> None:
        super().__init__(message)
        self.transaction_id = transaction_id
        self.details = cause.details if cause is not None else ()


class NotFound(DonationError):
    """The donation (or its consent, link...) does not exist."""


class WrongState(DonationError):
    """The donation is not in a state where this step is allowed."""


class Unauthorized(DonationError):
    """The caller's org, role or intake org may not take this step."""


class InvalidInput(DonationError):
    """An argument is not an id, hash, enum, number or short code the contract accepts."""


class Conflict(DonationError):
    """Another transaction changed the donation first, and retries did not get through."""


class Unavailable(DonationError):
    """Peers or orderers could not be reached in time; the step may be retried later."""


# First match wins: (pattern on the contract's message, error type).
_CONTRACT_ERRORS: tuple[tuple[re.Pattern[str], type[DonationError]], ...] = tuple(
    (re.compile(p), t) for p, t in (
        # Discovery does not (yet) know enough live peers: gossip is converging or peers
        # are down; safe to retry with the same request id.
        (r"no combination of peers can be derived", Unavailable),
        (r"does not exist|has no consent|has no donor link|no heartbeat", NotFound),
        (r"needs traza\.role|needs MSP|needs the donation's intake org|readable only by"
         r"|queries need", Unauthorized),
        (r"is [A-Z_]+: step \w+ needs state|already exists \(state|already used for step"
         r"|already has a different donor link", WrongState),
        (r"invalid |must |needs the transient key|does not open the commitment"
         r"|misses staged object|comes from a minor|needs a consent with minor", InvalidInput),
    )
)


def contract_message(err: GatewayError) -> str:
    """The chaincode's own message from the peers' details (or the error's message)."""
    for detail in err.details:
        m = re.search(r"(?:chaincode response \d+, |error in simulation: )(.*)$", detail.message)
        if m:
            return m.group(1)
    return err.details[0].message if err.details else str(err)


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
    for pattern, kind in _CONTRACT_ERRORS:
        if pattern.search(message):
            return kind(message, transaction_id=err.transaction_id, cause=err)
    return DonationError(message, transaction_id=err.transaction_id, cause=err)
