"""The typed donation client (client/donations.py) against a fake contract."""

from __future__ import annotations

import json

import grpc
import pytest

from client.donations import Consent, Donations, Evidence, Source
from client.donor import DonorSecret, commitment
from client.errors import Conflict, InvalidInput, WrongState
from client.gateway import CommitError, EndorseError, ErrorDetail


class FakeCommit:
    def __init__(self, result: dict, fail: Exception | None) -> None:
        self.result = json.dumps(result).encode()
        self.transaction_id = "tx"
        self._fail = fail

    def status(self):
        fail = self._fail

        class S:
            block_number = 3

            def raise_for_status(self):
                if fail:
                    raise fail
        return S()


class FakeContract:
    """Records submits; fails the first ones with the given errors."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls: list[tuple] = []

    def submit_async(self, name, *, arguments, transient=None, endorsing_orgs=()):
        self.calls.append((name, list(arguments), transient))
        fail = self.failures.pop(0) if self.failures else None
        if isinstance(fail, EndorseError):
            raise fail
        return FakeCommit({"step": name, "to": "X"}, fail)


def test_mvcc_conflict_is_retried_with_the_same_request_id():
    contract = FakeContract(CommitError("t1", "MVCC_READ_CONFLICT", 2))
    step = Donations(contract, backoff=0).accept("d-1", request_id="r-1")
    assert step.block_number == 3
    assert [c[1][0] for c in contract.calls] == ["r-1", "r-1"]


def test_conflict_after_all_retries_is_raised():
    contract = FakeContract(*[CommitError("t", "MVCC_READ_CONFLICT", 2)] * 3)
    with pytest.raises(Conflict):
        Donations(contract, retries=2, backoff=0).accept("d-1")
    assert len(contract.calls) == 3


def test_refused_step_is_not_retried():
    message = ("chaincode response 500, WRONG_STATE: donation d-1 is REGISTERED: step Store "
               "needs state ACCEPTED")
    refusal = EndorseError("endorse failed", transaction_id="t", grpc_code=grpc.StatusCode.ABORTED,
                           details=(ErrorDetail("a", "HospitalMSP", message),))
    contract = FakeContract(refusal)
    with pytest.raises(WrongState, match="needs state ACCEPTED"):
        Donations(contract, backoff=0).store("d-1", ["a" * 64])
    assert len(contract.calls) == 1


def test_arguments_are_the_contracts_json():
    contract = FakeContract()
    d = Donations(contract)
    d.acquire("d-1", ["a" * 64], Source("human", "40-64", "C50.9"), request_id="r-2")
    name, args, _ = contract.calls[0]
    assert name == "Acquire" and args[:2] == ["r-2", "d-1"]
    assert json.loads(args[2]) == {"originalSha256": ["a" * 64], "source": {
        "kind": "human", "ageBand": "40-64", "conditionCode": "C50.9"}}


def test_donor_link_goes_only_in_transient_data():
    donor = DonorSecret.new("d-1", "p-1")
    contract = FakeContract()
    Donations(contract).link_donor(donor, contact_ref="c-1")
    name, args, transient = contract.calls[0]
    assert name == "LinkDonor" and len(args) == 2 and "p-1" not in " ".join(args)
    assert json.loads(transient["donor_link"]) == {
        "contactRef": "c-1", "donorPseudonym": "p-1", "salt": donor.salt.hex()}


def test_register_puts_only_hashes_on_the_channel():
    donor = DonorSecret.new("d-1", "p-1")
    contract = FakeContract()
    Donations(contract).register(donor)
    data = json.loads(contract.calls[0][1][2])
    assert data == {"commitment": commitment(donor.salt, "p-1", "d-1"),
                    "qrTokenSha256": donor.qr_token_sha256}
    assert donor.qr_token not in contract.calls[0][1][2]


def test_reissue_qr_sends_only_the_new_hash_with_its_request_id():
    new = DonorSecret.new("d-1", "p-1")
    contract = FakeContract()
    step = Donations(contract).reissue_qr("d-1", new.qr_token_sha256, request_id="r-9")
    name, args, transient = contract.calls[0]
    assert (name, args[:2], transient) == ("ReissueQR", ["r-9", "d-1"], None)
    assert json.loads(args[2]) == {"qrTokenSha256": new.qr_token_sha256}
    assert new.qr_token not in args[2]
    assert step.evidence["step"] == "ReissueQR"


def test_reissue_qr_refusal_is_typed():
    message = ("chaincode response 500, INVALID_INPUT: donation d-1: qrTokenSha256 must differ "
               "from the current one (a re-issue replaces the token)")
    refusal = EndorseError("endorse failed", transaction_id="t", grpc_code=grpc.StatusCode.ABORTED,
                           details=(ErrorDetail("a", "HospitalMSP", message),))
    contract = FakeContract(refusal)
    with pytest.raises(InvalidInput, match="must differ"):
        Donations(contract, backoff=0).reissue_qr("d-1", "b" * 64)
    assert len(contract.calls) == 1


def test_minor_consent_needs_guardian_evidence():
    form = dict(form_id="f", form_version="1", form_sha256="a" * 64,
                acceptance=Evidence("otp", "b" * 64), legal_regime="LGPDPPSO", minor=True)
    with pytest.raises(ValueError, match="guardian"):
        Consent(**form).to_json()
    data = Consent(**form, guardian_evidence=Evidence("signature", "c" * 64)).to_json()
    assert data["guardianConsent"] is True and data["guardianEvidence"]["kind"] == "signature"


def test_commitment_needs_32_byte_salt():
    with pytest.raises(ValueError, match="32 random bytes"):
        commitment(b"short", "p", "d")
