"""Issue 4 on the real network, through the Python client: the donation lifecycle."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from client.donations import Evidence, Source
from client.donor import new_id
from client.errors import CODES, Conflict, InvalidInput, NotFound, Unauthorized, WrongState
from client.gateway import CommitError

from .donation_flow import HAPPY, Flow, h, wait_state

pytestmark = pytest.mark.timeout(600)


def test_happy_path_to_stored_purges_the_link(as_):
    flow = Flow(as_)
    states = [flow.run(step, org, user).state for step, org, user in HAPPY]
    assert states == ["REGISTERED", "REGISTERED", "CONSENTED", "ACQUIRED", "DEIDENTIFIED",
                      "DIAGNOSED", "UNDER_REVIEW", "ACCEPTED", "STORED"]
    record = wait_state(as_, "hospital", flow.id, "STORED")
    assert record["state"] == "STORED" and record["intakeMsp"] == "HospitalMSP"
    with as_("hospital", "operator1") as d:
        assert record["lastEvent"]["data"]["storage"]["linkPurged"] is True
        # After the purge no peer returns the link ...
        with pytest.raises(NotFound):
            d.donor_link(flow.id)
        # ... and the donor still proves the donation is theirs with the salt they hold.
        assert d.verify_commitment(flow.donor) is True
        history = d.history(flow.id)
    steps = [v["event"]["step"] for v in reversed(history)]
    assert steps == ["RegisterDonation", "Consent", "Acquire", "Deidentify", "Diagnose",
                     "SubmitForReview", "Accept", "Store"]
    for org in ("university", "imss"):
        with as_(org, "operator1") as d, pytest.raises((NotFound, Unauthorized)):
            d.donor_link(flow.id)


def test_link_is_readable_by_the_intake_org_only_before_the_purge(as_):
    flow = Flow(as_)
    flow.run("register", user="operator1")
    flow.run("link", user="operator1")
    with as_("hospital", "operator1") as d:
        link = d.donor_link(flow.id)
        assert link["donorPseudonym"] == flow.donor.donor_pseudonym
        assert d.get(flow.id)["commitment"] == flow.donor.commitment
    with as_("university", "operator1") as d, pytest.raises(Unauthorized):
        d.donor_link(flow.id)
    from client.donor import DonorSecret

    stranger = DonorSecret(flow.id, new_id("p"), flow.donor.salt, "x")
    with as_("imss", "regulator1") as d:
        assert d.verify_commitment(stranger) is False


def test_two_change_request_loops(as_):
    flow = Flow(as_)
    for step, org, user in HAPPY[:5]:
        flow.run(step, org, user)
    for _ in range(2):
        flow.run("review")
        assert flow.run("changes").state == "CHANGES_REQUESTED"
        assert flow.run("deidentify", "university").state == "DEIDENTIFIED"
    flow.run("review")
    assert flow.run("accept").state == "ACCEPTED"
    step = flow.run("store")
    assert step.state == "STORED"
    record = wait_state(as_, "imss", flow.id, "STORED")
    assert record["changeRounds"] == 2
    assert record["deidentifiedSha256"] == sorted(flow.deidentified) or \
        set(record["deidentifiedSha256"]) == set(flow.deidentified)


STAGES = ["register", "consent", "acquire", "deidentify", "diagnose", "review", "changes",
          "accept"]
ORDER = ["register", "link", "consent", "acquire", "deidentify", "diagnose", "review"]


@pytest.mark.parametrize("stage", STAGES)
def test_revocation_at_each_stage_then_erase(as_, stage):
    flow = Flow(as_)
    path = ORDER[: ORDER.index(stage) + 1] if stage in ORDER else ORDER + [stage]
    for step in path:
        flow.run(step, "imss" if step == "diagnose" else None,
                 "clinician1" if step == "diagnose" else "service1")
    assert flow.run("revoke").state == "REVOKED"
    erased = flow.run("erase")
    assert erased.state == "ERASED"
    deletion = erased.evidence["data"]["deletion"]
    assert deletion["linkPurged"] is True
    assert wait_state(as_, "hospital", flow.id, "ERASED")["state"] == "ERASED"
    with as_("hospital", "operator1") as d:
        with pytest.raises(NotFound):
            d.donor_link(flow.id)
        with pytest.raises(WrongState, match=r"is ERASED"):
            d.revoke(flow.id)


@pytest.mark.parametrize(("step", "org", "user", "message"), [
    ("acquire", None, "clinician1", "needs traza.role operator or service, caller has clinician"),
    ("acquire", None, "regulator1", "caller has regulator"),
    ("acquire", None, "norole1", "caller has none"),
    ("consent", "university", "operator1", "needs the donation's intake org HospitalMSP"),
    ("acquire", "university", "operator1", "needs the donation's intake org HospitalMSP"),
])
def test_unauthorized_role_or_org_is_refused(as_, step, org, user, message):
    flow = Flow(as_)
    flow.run("register", user="operator1")
    if step == "acquire":
        flow.run("consent")
    with pytest.raises(Unauthorized, match=message):
        flow.run(step, org, user)


def test_erase_is_the_intake_orgs_alone(as_):
    flow = Flow(as_)
    flow.run("register", user="operator1")
    flow.run("consent")
    flow.run("revoke")
    for org in ("university", "imss"):
        with pytest.raises(Unauthorized, match=r"^UNAUTHORIZED: step Erase needs the donation's "
                                               r"intake org HospitalMSP"):
            flow.run("erase", org)
    assert flow.run("erase").state == "ERASED"


def test_diagnose_needs_a_clinician(as_):
    flow = Flow(as_)
    for step, org, user in HAPPY[:5]:
        flow.run(step, org, user)
    with pytest.raises(Unauthorized, match="needs traza.role clinician, caller has operator"):
        flow.run("diagnose", "imss", "operator1")


def test_wrong_state_names_the_expected_state(as_):
    flow = Flow(as_)
    flow.run("register")
    with pytest.raises(WrongState, match=rf"^WRONG_STATE: donation {flow.id} is REGISTERED: "
                                         r"step Store needs state ACCEPTED$") as err:
        flow.run("store")
    assert err.value.code == "WRONG_STATE"


def test_unknown_donation_is_not_found(as_):
    unknown = new_id("d")
    with as_("hospital") as d, pytest.raises(NotFound, match=f"{unknown} does not exist"):
        d.get(unknown)


@pytest.mark.parametrize(("call", "message"), [
    (lambda d, i: d.acquire(i, ["not-a-hash"], Source("synthetic")), "originalSha256"),
    (lambda d, i: d.acquire(i, [h()], Source("human")), "ageBand"),
    (lambda d, i: d.revoke(i, reason_code="maria.lopez@correo.mx"), "reasonCode"),
    (lambda d, i: d.revoke(i, reason_code="GARCIA LOPEZ"), "reasonCode"),
])
def test_bad_input_is_refused_and_changes_nothing(as_, call, message):
    flow = Flow(as_)
    flow.run("register")
    flow.run("consent")
    with as_("hospital") as d:
        with pytest.raises(InvalidInput, match=message) as err:
            call(d, flow.id)
        assert "@" not in str(err.value) and "GARCIA" not in str(err.value)
        assert d.get(flow.id)["state"] == "CONSENTED"


def test_replayed_request_id_returns_the_first_result_and_writes_nothing(as_):
    flow = Flow(as_)
    flow.run("register")
    flow.run("consent")
    first = flow.run("acquire", request_id="r-" + flow.id[2:])
    again = flow.run("acquire", request_id="r-" + flow.id[2:])
    assert again.evidence == first.evidence
    assert again.transaction_id != first.transaction_id
    with as_("hospital") as d:
        steps = [v["event"]["step"] for v in d.history(flow.id)]
    assert steps.count("Acquire") == 1


def test_concurrent_conflicting_updates_one_commits_one_conflicts(as_):
    flow = Flow(as_)
    for step, org, user in HAPPY[:5]:
        flow.run(step, org, user)
    flow.run("review")
    # Endorse both decisions on the same UNDER_REVIEW version, then order both.
    with as_("hospital", retries=0) as d:
        contract = d.contract
        # Request ids are "r-" and random hex: the donation's own plus one digit pair per step.
        rid = {"Accept": f"r-{flow.id[2:]}0a", "RequestChanges": f"r-{flow.id[2:]}0c"}
        txs = [contract.new_proposal(name, arguments=[rid[name], flow.id, "{}"]).endorse()
               for name in ("Accept", "RequestChanges")]
        commits = [None, None]

        def submit(i: int) -> None:
            commits[i] = txs[i].submit()

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [c.status() for c in commits]
    assert sorted(s.successful for s in statuses) == [False, True]
    loser = next(s for s in statuses if not s.successful)
    assert loser.code == "MVCC_READ_CONFLICT"
    with pytest.raises(CommitError) as err:
        loser.raise_for_status()
    from client.errors import from_gateway

    assert isinstance(from_gateway(err.value), Conflict)
    # Retrying the loser with its request id is safe: the contract now refuses the step.
    winner = "Accept" if statuses[0].successful else "RequestChanges"
    with as_("hospital") as d, pytest.raises(WrongState):
        if winner == "Accept":
            d.request_changes(flow.id, request_id=rid["RequestChanges"])
        else:
            d.accept(flow.id, request_id=rid["Accept"])


def test_minor_needs_guardian_consent(as_):
    flow = Flow(as_)
    flow.run("register")
    flow.run("consent")  # an adult's consent
    with as_("hospital") as d, pytest.raises(InvalidInput, match="minor"):
        d.acquire(flow.id, flow.originals, Source("human", "0-17"))
    flow.run("consent", minor=True, guardian_evidence=Evidence("signature", h("g")))
    with as_("hospital") as d:
        assert d.acquire(flow.id, flow.originals, Source("human", "0-17")).state == "ACQUIRED"
        versions = d.consents(flow.id)["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["supersedes"] == 1 and versions[1]["minor"] is True


def test_lifecycle_table_is_readable(as_):
    with as_("imss", "regulator1") as d:
        table = d.lifecycle()
    steps = {(t["from"], t["step"], t["to"]) for t in table["transitions"]}
    assert ("ACCEPTED", "Store", "STORED") in steps
    assert ("REVOKED", "Erase", "ERASED") in steps
    assert set(table["finalStates"]) == {"STORED", "ERASED"}
    assert table["openStates"] == table["states"][:8] and "REVOKED" not in table["openStates"]
    # The codes the peer returns are the file both sides read.
    listed = json.loads((Path(__file__).resolve().parents[2] / "chaincode" / "contract"
                         / "error_codes.json").read_text())["codes"]
    assert table["errorCodes"] == listed
    assert sorted(c["code"] for c in listed) == sorted(CODES)
    access = {a["transaction"]: a for a in table["access"]}
    assert access["GetDonorLink"]["org"] == "intake" and access["GetLifecycle"]["org"] == "anyone"
    link = next(t for t in table["transitions"] if t["step"] == "LinkDonor")
    assert link["privateOnly"] is True and link["org"] == "intake"


def test_regulator_queries_by_state_org_date_and_counts(as_):
    import datetime as dt

    flow = Flow(as_)
    flow.run("register")
    flow.run("consent")
    with as_("university", "regulator1") as d:
        page = d.by_state("CONSENTED", page_size=200)
        ids = {r["donationId"] for r in page.records}
        while page.bookmark and flow.id not in ids:
            page = d.by_state("CONSENTED", page_size=200, bookmark=page.bookmark)
            ids |= {r["donationId"] for r in page.records}
        assert flow.id in ids
        first = d.by_org("HospitalMSP", page_size=1)
        assert len(first.records) == 1 and first.bookmark
        second = d.by_org("HospitalMSP", page_size=1, bookmark=first.bookmark)
        assert second.records != first.records
        today = dt.datetime.now(dt.UTC).date().isoformat()
        steps = d.by_date_range(today, today, page_size=200)
        assert steps.records
        counts = d.counts()
        row = next(c for c in counts["counts"]
                   if c["mspId"] == "HospitalMSP" and c["state"] == "CONSENTED")
        assert row["count"] >= 1 and counts["total"] >= row["count"]


def test_one_chaincode_event_per_step_with_ids_and_hashes_only(as_, profiles):
    import json as _json

    flow = Flow(as_)
    first = flow.run("register")
    for step in ("consent", "acquire"):
        flow.run(step)
    service = profiles("imss", "regulator1")
    with service.gateway() as gw, gw.get_network(service.channel).chaincode_events(
            "traza", start_block=first.block_number) as events:
        mine = []
        for event in events:
            payload = _json.loads(event.payload)
            if payload.get("donationId") == flow.id:
                mine.append((event.event_name, payload["to"], event.transaction_id))
            if len(mine) == 3:
                break
    assert [m[:2] for m in mine] == [("RegisterDonation", "REGISTERED"),
                                     ("Consent", "CONSENTED"), ("Acquire", "ACQUIRED")]
    assert mine[0][2] == first.transaction_id
