"""Walking a donation through its lifecycle on the test network, step by step."""

from __future__ import annotations

import hashlib
import secrets

from client.donations import Consent, Donations, Evidence, Source
from client.donor import DonorSecret, new_id

INTAKE = "hospital"  # the org whose operator registers donors in these tests


def h(label: str = "") -> str:
    """A fresh SHA-256 hex (stands for an object, form or signature hash)."""
    return hashlib.sha256((label + secrets.token_hex(8)).encode()).hexdigest()


def consent(**overrides) -> Consent:
    values = dict(form_id="consent-general", form_version="3", form_sha256=h("form"),
                  acceptance=Evidence("otp", h("otp")), legal_regime="LGPDPPSO")
    values.update(overrides)
    return Consent(**values)


class Flow:
    """One donation and the steps that move it, as the right org and role for each."""

    def __init__(self, as_, intake: str = INTAKE) -> None:
        self.as_ = as_
        self.intake = intake
        self.donor = DonorSecret.new(new_id("d"), new_id("p"))
        self.id = self.donor.donation_id
        self.originals = [h("orig"), h("orig")]
        self.deidentified: list[str] = []
        self.state = ""
        self.last_org = ""

    def run(self, step: str, org: str | None = None, user: str = "service1", **kw):
        org = org or self.intake
        if self.state and org != self.last_org:
            # The previous step committed on the last org's peer; let this org's catch up.
            wait_state(self.as_, org, self.id, self.state)
        with self.as_(org, user) as d:
            result = getattr(self, f"_{step}")(d, **kw)
        self.state, self.last_org = result.state or self.state, org
        return result

    def _register(self, d: Donations, **kw):
        return d.register(self.donor, **kw)

    def _link(self, d: Donations):
        return d.link_donor(self.donor, contact_ref=new_id("c"))

    def _consent(self, d: Donations, **kw):
        return d.consent(self.id, consent(**kw))

    def _acquire(self, d: Donations, **kw):
        return d.acquire(self.id, self.originals, Source("human", "40-64", "C50.9"), **kw)

    def _deidentify(self, d: Donations):
        self.deidentified = [h("deid"), h("deid")]
        return d.deidentify(self.id, self.deidentified, profile_id="library",
                            profile_version="2", report_sha256=h("report"))

    def _diagnose(self, d: Donations):
        return d.diagnose(self.id, h("sig"), finding_code="C50.9")

    def _review(self, d: Donations):
        return d.submit_for_review(self.id, new_id("s"))

    def _changes(self, d: Donations):
        return d.request_changes(self.id, comment_sha256=h("comment"), reason_code="blur-face")

    def _accept(self, d: Donations):
        return d.accept(self.id)

    def _store(self, d: Donations):
        return d.store(self.id, self.deidentified)

    def _revoke(self, d: Donations):
        return d.revoke(self.id, reason_code="changed-mind")

    def _erase(self, d: Donations):
        staged = d.get(self.id)["stagedSha256"]
        return d.erase(self.id, staged, key_destroyed=bool(staged))


# The happy path as (step, org or None for the intake org, user).
HAPPY = [("register", None, "operator1"), ("link", None, "operator1"),
         ("consent", None, "operator1"), ("acquire", None, "operator1"),
         ("deidentify", "university", "service1"), ("diagnose", "imss", "clinician1"),
         ("review", None, "service1"), ("accept", None, "service1"),
         ("store", None, "service1")]


def wait_state(as_, org: str, donation_id: str, state: str, timeout: float = 15) -> dict:
    """Read the donation through ``org`` until its peer has committed ``state``.

    A commit status comes from the submitting org's peer; another org's peer commits the
    same block a moment later, so cross-org reads right after a step must wait for it.
    """
    import time

    deadline = time.monotonic() + timeout
    with as_(org, "regulator1") as d:
        while True:
            record = d.get(donation_id)
            if record["state"] == state or time.monotonic() > deadline:
                return record
            time.sleep(0.2)
