"""The only module that calls gRPC stubs: deadlines per call and failures mapped to typed errors.

Fabric Gateway (``internal/pkg/gateway`` in Fabric) reports which peers or orderers failed as
``gateway.ErrorDetail`` messages packed in a ``google.rpc.Status`` that gRPC carries in the
trailing metadata entry ``grpc-status-details-bin``; they are decoded here into
:class:`~client.gateway.errors.ErrorDetail`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import events_pb2, events_pb2_grpc
from google.protobuf.message import DecodeError
from google.rpc import status_pb2

from .errors import (
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    GatewayError,
    SubmitError,
)

STATUS_DETAILS_KEY = "grpc-status-details-bin"

# Error type raised when the call of each step fails.
STEP_ERRORS: dict[str, type[GatewayError]] = {
    "evaluate": GatewayError,
    "endorse": EndorseError,
    "submit": SubmitError,
    "commit status": CommitStatusError,
    "chaincode events": GatewayError,
    "deliver": GatewayError,
}


@dataclass(frozen=True)
class Timeouts:
    """Deadline in seconds of each unary call; streams (events, blocks) have none.

    Defaults follow what a gateway peer needs on a loaded network: evaluation runs the
    chaincode on one peer (5 s); endorsement may run it on one peer per org and retry
    (15 s; the peer's own ``gateway.endorsementTimeout`` is 30 s); submit only hands the
    transaction to an orderer (5 s); commit status waits for the block (60 s).
    """

    evaluate: float = 5.0
    endorse: float = 15.0
    submit: float = 5.0
    commit_status: float = 60.0


def error_details(error: grpc.RpcError) -> list[ErrorDetail]:
    """Return the ``gateway.ErrorDetail`` entries attached to a failed call's status."""
    metadata = getattr(error, "trailing_metadata", lambda: None)() or ()
    details: list[ErrorDetail] = []
    for key, value in metadata:
        if key != STATUS_DETAILS_KEY:
            continue
        status = status_pb2.Status()
        try:
            status.ParseFromString(value)
        except DecodeError:
            continue
        for packed in status.details:
            # Match on the type name only: older protos named the package "protos".
            if not packed.type_url.endswith(".ErrorDetail"):
                continue
            detail = gateway_pb2.ErrorDetail()
            try:
                detail.ParseFromString(packed.value)
            except DecodeError:
                continue
            details.append(ErrorDetail(detail.address, detail.msp_id, detail.message))
    return details


def to_gateway_error(
    error: grpc.RpcError, step: str, transaction_id: str | None = None
) -> GatewayError:
    """Return the typed error for a failed gRPC call made during ``step``."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = (error.details() if hasattr(error, "details") else None) or str(error)
    subject = f" for transaction {transaction_id}" if transaction_id else ""
    return STEP_ERRORS[step](
        f"{step} failed{subject}: {code.name}: {message}",
        transaction_id=transaction_id,
        details=error_details(error),
        grpc_code=code,
    )


T = TypeVar("T")


class Stream(Generic[T]):
    """A server stream that raises typed errors and ends quietly once cancelled."""

    def __init__(self, call: grpc.Call, step: str) -> None:
        self._call = call
        self._step = step
        self._cancelled = False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        try:
            return next(self._call)  # type: ignore[call-overload]
        except grpc.RpcError as error:
            if self._cancelled or error.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise to_gateway_error(error, self._step) from error

    def cancel(self) -> None:
        """Stop the stream; a pending or later ``next`` ends the iteration."""
        self._cancelled = True
        self._call.cancel()


class GatewayClient:
    """Calls the peer's Gateway and Deliver services over one gRPC channel."""

    def __init__(self, channel: grpc.Channel, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        self._gateway = gateway_pb2_grpc.GatewayStub(channel)
        self._deliver = events_pb2_grpc.DeliverStub(channel)

    def evaluate(self, request: gateway_pb2.EvaluateRequest) -> gateway_pb2.EvaluateResponse:
        try:
            return self._gateway.Evaluate(request, timeout=self.timeouts.evaluate)
        except grpc.RpcError as error:
            raise to_gateway_error(error, "evaluate", request.transaction_id) from error

    def endorse(self, request: gateway_pb2.EndorseRequest) -> gateway_pb2.EndorseResponse:
        try:
            return self._gateway.Endorse(request, timeout=self.timeouts.endorse)
        except grpc.RpcError as error:
            raise to_gateway_error(error, "endorse", request.transaction_id) from error

    def submit(self, request: gateway_pb2.SubmitRequest) -> gateway_pb2.SubmitResponse:
        try:
            return self._gateway.Submit(request, timeout=self.timeouts.submit)
        except grpc.RpcError as error:
            raise to_gateway_error(error, "submit", request.transaction_id) from error

    def commit_status(
        self, request: gateway_pb2.SignedCommitStatusRequest, transaction_id: str
    ) -> gateway_pb2.CommitStatusResponse:
        try:
            return self._gateway.CommitStatus(request, timeout=self.timeouts.commit_status)
        except grpc.RpcError as error:
            raise to_gateway_error(error, "commit status", transaction_id) from error

    def chaincode_events(
        self, request: gateway_pb2.SignedChaincodeEventsRequest
    ) -> Stream[gateway_pb2.ChaincodeEventsResponse]:
        return Stream(self._gateway.ChaincodeEvents(request), "chaincode events")

    def deliver(self, envelope: common_pb2.Envelope) -> Stream[events_pb2.DeliverResponse]:
        # Deliver is bidirectional; one seek request is enough and the peer keeps sending
        # blocks after the client half-closes (it reads the next request only when done).
        return Stream(self._deliver.Deliver(iter([envelope])), "deliver")

    def deliver_with_private_data(
        self, envelope: common_pb2.Envelope
    ) -> Stream[events_pb2.DeliverResponse]:
        return Stream(self._deliver.DeliverWithPrivateData(iter([envelope])),
                      "deliver with private data")
