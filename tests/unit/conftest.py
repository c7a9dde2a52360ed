"""Fixtures for the gateway client unit tests: generated keys, certificates, MSP folders and an
in-process fake Fabric Gateway (gRPC) that checks signatures the way a peer does."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    events_pb2,
    events_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.rpc import status_pb2

from client.gateway import Identity, Signer
from client.gateway.signing import CURVE_ORDERS

P256_ORDER = CURVE_ORDERS["secp256r1"]


def make_cert(
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    *,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    issuer_name: str | None = None,
    dns_names: tuple[str, ...] = (),
    ca: bool = False,
) -> bytes:
    """Return a PEM certificate for ``key`` (self-signed unless an issuer is given)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name or common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]),
            critical=False,
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Return ``key`` as unencrypted PKCS#8 PEM, as fabric-ca-client writes it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Member:
    """A generated client identity: key, certificate and its MSP folder."""

    msp_id: str
    key: ec.EllipticCurvePrivateKey
    cert_pem: bytes
    msp_dir: Path

    @property
    def identity(self) -> Identity:
        return Identity(self.msp_id, self.cert_pem)

    @property
    def signer(self) -> Signer:
        return Signer(self.key)


def write_msp_dir(path: Path, key: ec.EllipticCurvePrivateKey, cert_pem: bytes) -> Path:
    """Write an MSP folder laid out like ``fabric-ca-client enroll`` does."""
    (path / "signcerts").mkdir(parents=True)
    (path / "keystore").mkdir()
    (path / "signcerts" / "cert.pem").write_bytes(cert_pem)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest.hex()
    (path / "keystore" / f"{ski}_sk").write_bytes(key_pem(key))
    return path


@pytest.fixture
def gateway_member(tmp_path: Path) -> Member:
    """A UniversityMSP user with a P-256 key and a self-signed certificate in an MSP folder."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert_pem = make_cert(key, "operator1")
    msp_dir = write_msp_dir(tmp_path / "msp", key, cert_pem)
    return Member("UniversityMSP", key, cert_pem, msp_dir)


def verify_signed(creator: bytes, data: bytes, signature: bytes) -> None:
    """Check ``signature`` over ``data`` like a peer: creator's key, SHA-256, low-S.

    Raises ``InvalidSignature`` or ``AssertionError``.
    """
    serialized = identities_pb2.SerializedIdentity.FromString(creator)
    cert = x509.load_pem_x509_certificate(serialized.id_bytes)
    cert.public_key().verify(signature, data, ec.ECDSA(hashes.SHA256()))
    _, s = decode_dss_signature(signature)
    assert s <= P256_ORDER // 2, "signature is not low-S"


def abort_with_details(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    message: str,
    details: tuple[gateway_pb2.ErrorDetail, ...] = (),
) -> None:
    """Fail the call the way Fabric Gateway does: a google.rpc.Status with ErrorDetails."""
    status = status_pb2.Status(code=code.value[0], message=message)
    for detail in details:
        status.details.add().Pack(detail)
    context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    context.abort(code, message)


@dataclass
class Failure:
    code: grpc.StatusCode
    message: str
    details: tuple[gateway_pb2.ErrorDetail, ...] = ()


def prepared_transaction(proposal: proposal_pb2.Proposal, result: bytes) -> common_pb2.Envelope:
    """Return the unsigned envelope a gateway assembles from an endorsed proposal."""
    header = common_pb2.Header.FromString(proposal.header)
    cpp = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    cpp_no_transient = proposal_pb2.ChaincodeProposalPayload(input=cpp.input)
    action = proposal_pb2.ChaincodeAction(
        response=proposal_response_pb2.Response(status=200, payload=result)
    )
    response_payload = proposal_response_pb2.ProposalResponsePayload(
        extension=action.SerializeToString()
    )
    action_payload = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=cpp_no_transient.SerializeToString(),
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=response_payload.SerializeToString()
        ),
    )
    transaction = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=header.signature_header, payload=action_payload.SerializeToString()
            )
        ]
    )
    payload = common_pb2.Payload(header=header, data=transaction.SerializeToString())
    return common_pb2.Envelope(payload=payload.SerializeToString())


def invocation_of(signed: proposal_pb2.SignedProposal) -> tuple[str, list[bytes]]:
    """Return (function name, arguments) of a signed proposal."""
    proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
    cpp = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(cpp.input)
    name, *args = spec.chaincode_spec.input.args
    return name.decode(), list(args)


def creator_of(signed: proposal_pb2.SignedProposal) -> bytes:
    proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    return common_pb2.SignatureHeader.FromString(header.signature_header).creator


@dataclass
class FakeGateway(gateway_pb2_grpc.GatewayServicer, events_pb2_grpc.DeliverServicer):
    """A Gateway + Deliver service that verifies every signature and answers from settings.

    ``result(name, args)`` gives the chaincode result; ``failures[method]`` makes a method
    fail; ``commit_code`` is the validation code CommitStatus reports; ``evaluate_status`` the
    chaincode status Evaluate returns; ``deliver_status`` the status ending a Deliver stream;
    ``event_blocks`` is a list of (block number, [(tx id, event name, payload)]) served by
    ChaincodeEvents honouring the start position and after_transaction_id; ``blocks`` are
    served by Deliver.
    """

    result: Callable[[str, list[bytes]], bytes] = lambda name, args: b"ok:" + name.encode()
    failures: dict[str, Failure] = field(default_factory=dict)
    commit_code: int = transaction_pb2.VALID
    evaluate_status: int = 200
    deliver_status: int = common_pb2.SUCCESS
    delay: dict[str, float] = field(default_factory=dict)
    event_blocks: list[tuple[int, list[tuple[str, str, bytes]]]] = field(default_factory=list)
    blocks: list[common_pb2.Block] = field(default_factory=list)
    requests: dict[str, list] = field(default_factory=dict)
    submitted: dict[str, common_pb2.Envelope] = field(default_factory=dict)
    events_cancelled: threading.Event = field(default_factory=threading.Event)

    def _enter(self, method: str, request, context: grpc.ServicerContext) -> None:
        self.requests.setdefault(method, []).append(request)
        if method in self.delay:
            threading.Event().wait(self.delay[method])
        failure = self.failures.get(method)
        if failure is not None:
            abort_with_details(context, failure.code, failure.message, failure.details)

    def Evaluate(self, request, context):  # noqa: N802 (gRPC method name)
        self._enter("Evaluate", request, context)
        signed = request.proposed_transaction
        verify_signed(creator_of(signed), signed.proposal_bytes, signed.signature)
        name, args = invocation_of(signed)
        return gateway_pb2.EvaluateResponse(
            result=proposal_response_pb2.Response(
                status=self.evaluate_status,
                message="" if self.evaluate_status < 400 else f"no such record for {name}",
                payload=self.result(name, args),
            )
        )

    def Endorse(self, request, context):  # noqa: N802
        self._enter("Endorse", request, context)
        signed = request.proposed_transaction
        verify_signed(creator_of(signed), signed.proposal_bytes, signed.signature)
        name, args = invocation_of(signed)
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        envelope = prepared_transaction(proposal, self.result(name, args))
        return gateway_pb2.EndorseResponse(prepared_transaction=envelope)

    def Submit(self, request, context):  # noqa: N802
        self._enter("Submit", request, context)
        envelope = request.prepared_transaction
        payload = common_pb2.Payload.FromString(envelope.payload)
        creator = common_pb2.SignatureHeader.FromString(payload.header.signature_header).creator
        verify_signed(creator, envelope.payload, envelope.signature)
        self.submitted[request.transaction_id] = envelope
        return gateway_pb2.SubmitResponse()

    def CommitStatus(self, request, context):  # noqa: N802
        self._enter("CommitStatus", request, context)
        inner = gateway_pb2.CommitStatusRequest.FromString(request.request)
        verify_signed(inner.identity, request.request, request.signature)
        if inner.transaction_id not in self.submitted:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no transaction {inner.transaction_id}")
        return gateway_pb2.CommitStatusResponse(result=self.commit_code, block_number=7)

    def ChaincodeEvents(self, request, context):  # noqa: N802
        self._enter("ChaincodeEvents", request, context)
        context.add_callback(self.events_cancelled.set)
        inner = gateway_pb2.ChaincodeEventsRequest.FromString(request.request)
        verify_signed(inner.identity, request.request, request.signature)
        position = inner.start_position
        start = position.specified.number if position.HasField("specified") else None
        for block_number, events in self.event_blocks:
            if start is not None and block_number < start:
                continue
            skipping = block_number == start and bool(inner.after_transaction_id)
            selected = []
            for tx_id, name, payload in events:
                if not skipping:
                    selected.append(
                        chaincode_event_pb2.ChaincodeEvent(
                            chaincode_id=inner.chaincode_id,
                            tx_id=tx_id,
                            event_name=name,
                            payload=payload,
                        )
                    )
                elif tx_id == inner.after_transaction_id:
                    skipping = False
            if selected:
                yield gateway_pb2.ChaincodeEventsResponse(
                    events=selected, block_number=block_number
                )
        # Like a peer, keep the stream open waiting for new blocks until cancelled.
        self.events_cancelled.wait(10)

    def Deliver(self, request_iterator, context):  # noqa: N802
        for envelope in request_iterator:
            self.requests.setdefault("Deliver", []).append(envelope)
            payload = common_pb2.Payload.FromString(envelope.payload)
            creator = common_pb2.SignatureHeader.FromString(payload.header.signature_header).creator
            verify_signed(creator, envelope.payload, envelope.signature)
            seek = ab_pb2.SeekInfo.FromString(payload.data)
            start, stop = seek.start.specified.number, seek.stop.specified.number
            if self.deliver_status == common_pb2.SUCCESS:
                for block in self.blocks:
                    if start <= block.header.number <= stop:
                        yield events_pb2.DeliverResponse(block=block)
            yield events_pb2.DeliverResponse(status=self.deliver_status)


@dataclass
class FakeServer:
    gateway: FakeGateway
    server: grpc.Server
    port: int


def start_fake_server(
    gateway: FakeGateway, credentials: grpc.ServerCredentials | None = None
) -> FakeServer:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    gateway_pb2_grpc.add_GatewayServicer_to_server(gateway, server)
    events_pb2_grpc.add_DeliverServicer_to_server(gateway, server)
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    return FakeServer(gateway, server, port)


@pytest.fixture
def fake_gateway() -> Iterator[FakeServer]:
    """A running in-process fake gateway peer on an insecure loopback port."""
    fake = start_fake_server(FakeGateway())
    yield fake
    fake.gateway.events_cancelled.set()
    fake.server.stop(grace=None)


@pytest.fixture
def gateway_channel(fake_gateway: FakeServer) -> Iterator[grpc.Channel]:
    """An insecure channel to the fake gateway."""
    with grpc.insecure_channel(f"127.0.0.1:{fake_gateway.port}") as channel:
        yield channel


class GatewayKit:
    """Test helpers handed out by the ``gateway_kit`` fixture (so tests need not import
    conftest, whatever the package layout of tests/)."""

    make_cert = staticmethod(make_cert)
    key_pem = staticmethod(key_pem)
    write_msp_dir = staticmethod(write_msp_dir)
    verify_signed = staticmethod(verify_signed)
    prepared_transaction = staticmethod(prepared_transaction)
    start_fake_server = staticmethod(start_fake_server)
    Failure = Failure
    FakeGateway = FakeGateway
    P256_ORDER = P256_ORDER


@pytest.fixture
def gateway_kit() -> type[GatewayKit]:
    """Certificate, MSP and fake-server helpers for the gateway tests."""
    return GatewayKit
