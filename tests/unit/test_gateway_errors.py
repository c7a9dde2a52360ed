"""Error mapping: gRPC status and gateway ErrorDetails -> typed errors keeping peers' messages."""

from __future__ import annotations

import grpc
import pytest
from fabric_protos.gateway import gateway_pb2
from google.rpc import status_pb2

from client.gateway import (
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    GatewayError,
    SubmitError,
    is_mvcc_conflict,
    retriable,
)
from client.gateway._grpc import STATUS_DETAILS_KEY, error_details, to_gateway_error

PEER_MESSAGES = (
    gateway_pb2.ErrorDetail(
        address="peer0.university.traza.local:7051",
        msp_id="UniversityMSP",
        message="chaincode response 500, donation d-1 is REGISTERED, cannot Acquire",
    ),
    gateway_pb2.ErrorDetail(
        address="peer0.hospital.traza.local:9051",
        msp_id="HospitalMSP",
        message="chaincode response 500, donation d-1 is REGISTERED, cannot Acquire",
    ),
)


class FakeRpcError(grpc.RpcError, grpc.Call):
    """What grpcio raises for a failed unary call: an RpcError that is also a Call."""

    def __init__(self, code, message, details=(), extra_metadata=()):
        self._code, self._message = code, message
        metadata = list(extra_metadata)
        if details:
            status = status_pb2.Status(code=code.value[0], message=message)
            for detail in details:
                status.details.add().Pack(detail)
            metadata.append((STATUS_DETAILS_KEY, status.SerializeToString()))
        self._metadata = tuple(metadata)

    def code(self):
        return self._code

    def details(self):
        return self._message

    def trailing_metadata(self):
        return self._metadata

    def initial_metadata(self):
        return ()

    # grpc.Call / grpc.RpcContext abstract methods, unused here
    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("evaluate", GatewayError),
        ("endorse", EndorseError),
        ("submit", SubmitError),
        ("commit status", CommitStatusError),
        ("chaincode events", GatewayError),
        ("deliver", GatewayError),
    ],
)
def test_each_step_maps_to_its_error_type(step, expected):
    error = to_gateway_error(FakeRpcError(grpc.StatusCode.ABORTED, "boom"), step, "tx1")
    assert type(error) is expected
    assert error.transaction_id == "tx1"
    assert error.grpc_code == grpc.StatusCode.ABORTED


def test_details_are_decoded_and_shown():
    rpc_error = FakeRpcError(
        grpc.StatusCode.ABORTED,
        "failed to endorse transaction, see attached details for more info",
        PEER_MESSAGES,
        extra_metadata=[("other-key", "value")],
    )
    error = to_gateway_error(rpc_error, "endorse", "abc123")
    assert isinstance(error, EndorseError)
    assert error.details == (
        ErrorDetail(
            "peer0.university.traza.local:7051",
            "UniversityMSP",
            "chaincode response 500, donation d-1 is REGISTERED, cannot Acquire",
        ),
        ErrorDetail(
            "peer0.hospital.traza.local:9051",
            "HospitalMSP",
            "chaincode response 500, donation d-1 is REGISTERED, cannot Acquire",
        ),
    )
    text = str(error)
    assert "abc123" in text
    assert "ABORTED" in text
    assert "failed to endorse transaction" in text
    assert "peer0.hospital.traza.local:9051 (HospitalMSP): chaincode response 500" in text


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        ((STATUS_DETAILS_KEY, b"\xff\xff not a status"),),
        ((STATUS_DETAILS_KEY, status_pb2.Status(code=10, message="m").SerializeToString()),),
    ],
)
def test_missing_or_bad_details_give_empty_list(metadata):
    rpc_error = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "no peers", extra_metadata=metadata)
    assert error_details(rpc_error) == []


def test_other_detail_types_are_ignored():
    status = status_pb2.Status(code=10, message="m")
    status.details.add().Pack(status_pb2.Status(message="not an ErrorDetail"))
    status.details.add().Pack(PEER_MESSAGES[0])
    rpc_error = FakeRpcError(
        grpc.StatusCode.ABORTED,
        "m",
        extra_metadata=[(STATUS_DETAILS_KEY, status.SerializeToString())],
    )
    assert [d.msp_id for d in error_details(rpc_error)] == ["UniversityMSP"]


@pytest.mark.parametrize(
    ("code", "is_retriable"),
    [
        (grpc.StatusCode.UNAVAILABLE, True),
        (grpc.StatusCode.DEADLINE_EXCEEDED, True),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, True),
        (grpc.StatusCode.ABORTED, False),
        (grpc.StatusCode.FAILED_PRECONDITION, False),
        (grpc.StatusCode.INVALID_ARGUMENT, False),
        (grpc.StatusCode.PERMISSION_DENIED, False),
        (grpc.StatusCode.NOT_FOUND, False),
    ],
)
def test_retriable_grpc_codes(code, is_retriable):
    error = to_gateway_error(FakeRpcError(code, "m"), "submit", "tx")
    assert retriable(error) is is_retriable
    assert not is_mvcc_conflict(error)


@pytest.mark.parametrize(
    ("code", "conflict"),
    [
        ("MVCC_READ_CONFLICT", True),
        ("PHANTOM_READ_CONFLICT", True),
        ("ENDORSEMENT_POLICY_FAILURE", False),
        ("DUPLICATE_TXID", False),
        ("BAD_CREATOR_SIGNATURE", False),
    ],
)
def test_commit_error_codes(code, conflict):
    error = CommitError("tx9", code, 12)
    assert error.code == code
    assert error.block_number == 12
    assert error.transaction_id == "tx9"
    assert error.grpc_code is None
    assert code in str(error) and "tx9" in str(error)
    assert is_mvcc_conflict(error) is conflict
    assert retriable(error) is conflict


def test_foreign_errors_are_not_retriable():
    assert not retriable(ValueError("x"))
    assert not is_mvcc_conflict(ValueError("x"))


def test_all_step_errors_are_gateway_errors():
    for cls in (EndorseError, SubmitError, CommitStatusError, CommitError):
        assert issubclass(cls, GatewayError)
