"""Mapping gateway failures to donation errors (client/errors.py)."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from client.errors import (
    CODES,
    AlreadyExists,
    Conflict,
    ContractFailure,
    DonationError,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
    WrongState,
    code_of,
    from_gateway,
)
from client.gateway import CommitError, EndorseError, ErrorDetail, GatewayError

ERROR_CODES = Path(__file__).resolve().parents[2] / "chaincode" / "contract" / "error_codes.json"


def endorse_error(message: str, code=grpc.StatusCode.ABORTED) -> EndorseError:
    detail = ErrorDetail("127.0.0.1:9051", "HospitalMSP", f"chaincode response 500, {message}")
    return EndorseError("endorse failed", transaction_id="tx1", details=(detail,),
                        grpc_code=code)


def test_every_listed_code_maps_to_its_own_donation_error_type():
    listed = [c["code"] for c in json.loads(ERROR_CODES.read_text())["codes"]]
    assert sorted(listed) == sorted(CODES), "client/errors.CODES and error_codes.json differ"
    for code in listed:
        kind = CODES[code]
        assert issubclass(kind, DonationError) and kind is not DonationError, code
        err = from_gateway(endorse_error(f"{code}: donation d-1 is what the test says"))
        assert type(err) is kind and err.code == code
    assert len(set(CODES.values())) == len(CODES), "two codes share a type"


@pytest.mark.parametrize(("message", "kind"), [
    ("NOT_FOUND: donation d-1 does not exist", NotFound),
    ("NOT_FOUND: donation d-1 has no donor link on this peer (never linked, or purged)",
     NotFound),
    ("WRONG_STATE: donation d-1 is CONSENTED: step Deidentify needs state ACQUIRED", WrongState),
    ("ALREADY_EXISTS: request id r-1 was already used for step Acquire on donation d-2",
     AlreadyExists),
    ("UNAUTHORIZED: step Diagnose needs traza.role clinician, caller has operator", Unauthorized),
    ("UNAUTHORIZED: step Accept needs the donation's intake org HospitalMSP, caller is "
     "UniversityMSP", Unauthorized),
    ("INVALID_INPUT: invalid reasonCode: want a short code", InvalidInput),
    ("INTERNAL: failed to read donation d-1: peer unavailable", ContractFailure),
    ("something else entirely", DonationError),
    ("UNKNOWN_CODE: donation d-1 does not exist", DonationError),
    ("donation d-1 does not exist", DonationError),
])
def test_contract_codes_map_to_types(message, kind):
    err = from_gateway(endorse_error(message))
    assert type(err) is kind
    assert str(err) == message
    assert err.transaction_id == "tx1" and err.details[0].msp_id == "HospitalMSP"


def test_the_prose_after_the_code_does_not_matter():
    # The words the old regular expressions keyed on, under other codes.
    assert type(from_gateway(endorse_error("INVALID_INPUT: donation d-1 does not exist"))) \
        is InvalidInput
    assert type(from_gateway(endorse_error("NOT_FOUND: invalid x needs traza.role"))) is NotFound


def test_already_exists_is_still_a_wrong_state_and_never_retried():
    err = from_gateway(endorse_error("ALREADY_EXISTS: donation d-1 already has a different "
                                     "donor link"))
    assert isinstance(err, WrongState) and not isinstance(err, (Conflict, Unavailable))


def test_code_of():
    assert code_of("WRONG_STATE: donation d-1 is ERASED: ...") == "WRONG_STATE"
    assert code_of("WRONG_STATE donation d-1") is None
    assert code_of("the WRONG_STATE: inside") is None


def test_mvcc_conflict_is_a_conflict():
    err = from_gateway(CommitError("tx2", "MVCC_READ_CONFLICT", 7))
    assert isinstance(err, Conflict) and "tx2" in str(err) and err.code is None


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


def test_a_stored_refusal_comes_back_as_its_type():
    from client.errors import DonationError, WrongState, from_text

    err = from_text("WRONG_STATE: donation d-1 is CONSENTED: step Accept needs UNDER_REVIEW",
                    transaction_id="t1")
    assert isinstance(err, WrongState) and err.transaction_id == "t1"
    assert str(err).startswith("donation d-1 is CONSENTED")
    other = from_text("UNAVAILABLE: peers down", default="x")
    assert type(other) is DonationError and "peers down" in str(other)
