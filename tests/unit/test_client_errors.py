"""Mapping gateway failures to donation errors (client/errors.py)."""

from __future__ import annotations

import grpc
import pytest

from client.errors import (
    Conflict,
    DonationError,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
    WrongState,
    from_gateway,
)
from client.gateway import CommitError, EndorseError, ErrorDetail, GatewayError


def endorse_error(message: str, code=grpc.StatusCode.ABORTED) -> EndorseError:
    detail = ErrorDetail("127.0.0.1:9051", "HospitalMSP", f"chaincode response 500, {message}")
    return EndorseError("endorse failed", transaction_id="tx1", details=(detail,),
                        grpc_code=code)


@pytest.mark.parametrize(("message", "kind"), [
    ("donation d-1 does not exist", NotFound),
    ("donation d-1 has no donor link on this peer (never linked, or purged)", NotFound),
    ("donation d-1 is CONSENTED: step Deidentify needs state ACQUIRED", WrongState),
    ("request id r-1 was already used for step Acquire on donation d-2", WrongState),
    ("step Diagnose needs traza.role clinician, caller has operator", Unauthorized),
    ("step Accept needs the donation's intake org HospitalMSP, caller is UniversityMSP",
     Unauthorized),
    ("invalid reasonCode: want a short code", InvalidInput),
    ("something else entirely", DonationError),
])
def test_contract_messages_map_to_types(message, kind):
    err = from_gateway(endorse_error(message))
    assert type(err) is kind
    assert str(err) == message
    assert err.transaction_id == "tx1" and err.details[0].msp_id == "HospitalMSP"


def test_mvcc_conflict_is_a_conflict():
    err = from_gateway(CommitError("tx2", "MVCC_READ_CONFLICT", 7))
    assert isinstance(err, Conflict) and "tx2" in str(err)


def test_other_invalid_commit_is_not_retried_as_conflict():
    err = from_gateway(CommitError("tx3", "ENDORSEMENT_POLICY_FAILURE", 7))
    assert type(err) is DonationError


@pytest.mark.parametrize("error", [
    GatewayError("peer down", grpc_code=grpc.StatusCode.UNAVAILABLE),
    GatewayError("no combination of peers can be derived which satisfy the endorsement policy",
                 grpc_code=grpc.StatusCode.FAILED_PRECONDITION),
])
def test_unreachable_or_unknown_peers_are_unavailable(error):
    assert isinstance(from_gateway(error), Unavailable)
