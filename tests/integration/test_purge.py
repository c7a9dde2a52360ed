"""Issue 11, item 6: the sweeper erases stalled donations, and their donor link is gone.

A consented donation whose last step is older than its consent's retention, and a
registered one that never got a consent, are swept (``traza donation sweep``'s code) on the
real network: each is revoked with ``retention-expired`` and erased. Then the donor link is
absent from the intake peer's private data (GetDonorLink), from the private data every
peer delivers with its blocks (DeliverWithPrivateData, as each org's own identity), and from
a peer that was down during the purge once it has caught up. Positive control: before the
purge the same scan finds the link on the intake org's peer.

Only the intake org's peer holds a link (one peer per org, a collection per intake org:
DESIGN.md "Private data"), so "a peer down during the purge" is another org's peer: the
intake peer must endorse the purge (collection endorsement policy) and cannot be down.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from client import sweeper
from client.errors import NotFound
from client.settings import Settings, open_pipeline
from client.workflow import PipelineConfig
from network import channel
from network.process import wait_for

from .helpers import start_node, stop_node

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def settings(fabric, tmp_path_factory):
    home = tmp_path_factory.mktemp("sweeper")
    return Settings(home=home, profiles_dir=fabric.run / "profiles",
                    objects_file=fabric.run / "minio" / "hospital.json",
                    database_url=f"sqlite:///{home / 'traza.db'}",
                    pipeline=PipelineConfig(intake_org="hospital"))


def private_data(profiles, org: str, fabric) -> bytes:
    """Every private write set ``org``'s peer delivers with its blocks, to its own service."""
    profile = profiles(org)
    height = channel.height(fabric, fabric.org(org).peers[0])
    with profile.gateway() as gw, gw.get_network(profile.channel).blocks(
            0, height - 1, private_data=True) as blocks:
        return b"".join(b"".join(v.SerializeToString() for v in item.private_data_map.values())
                        for item in blocks)


def test_stalled_donations_are_erased_and_their_links_purged_everywhere(
        settings, fabric, profiles):
    with open_pipeline(settings) as p:
        ledger = p.ledger.donations(p.config.service_actor)
        stalled = p.register("sweeper.uno@correo.example").donation_id
        p.consent(stalled, retention_months=1)
        fresh = p.register("sweeper.dos@correo.example").donation_id
        p.consent(fresh, retention_months=120)
        unconsented = p.register("sweeper.tres@correo.example").donation_id
        links = {d: ledger.donor_link(d) for d in (stalled, fresh, unconsented)}
        planted = {d: {link["contactRef"].encode(), link["donorPseudonym"].encode()}
                   for d, link in links.items()}
        # Positive control: the scan finds each link on the intake org's peer.
        before = private_data(profiles, "hospital", fabric)
        assert all(v in before for vs in planted.values() for v in vs)

        later = datetime.now(UTC) + timedelta(days=45)  # past 1 month and 30 days unconsented
        due = sweeper.find_stalled(p, later)
        assert {d.donation_id for d in due} >= {stalled, unconsented}
        assert fresh not in {d.donation_id for d in due}
        mine = [d for d in due if d.donation_id in (stalled, unconsented)]
        assert {(d.donation_id, d.retention_months) for d in mine} == {
            (stalled, 1), (unconsented, None)}

        imss = fabric.org("imss").peers[0]
        stop_node(fabric, imss)  # a peer down during the purge
        try:
            swept = sweeper.sweep(p, later)
        finally:
            start_node(fabric, imss)
        assert {stalled, unconsented} <= {d.donation_id for d in swept}

        for d in (stalled, unconsented):
            record = ledger.get(d)
            assert record["state"] == "ERASED"
            assert record["revocation"]["data"]["decision"]["reasonCode"] == "retention-expired"
            with pytest.raises(NotFound):
                ledger.donor_link(d)
        assert ledger.get(fresh)["state"] == "CONSENTED"
        assert ledger.donor_link(fresh)["contactRef"] == links[fresh]["contactRef"]
        left = {d.donation_id for d in sweeper.find_stalled(p, later)}
        assert not left & {stalled, unconsented}  # nothing left to sweep of them

    # The peer that was down catches up with the purge's block.
    target = channel.height(fabric, fabric.org("hospital").peers[0])
    wait_for("the restarted peer to catch up",
             lambda: channel.height(fabric, imss) >= target, timeout=90)
    gone = planted[stalled] | planted[unconsented]
    for org in ("hospital", "university", "imss"):
        data = private_data(profiles, org, fabric)
        assert not [v for v in gone if v in data], org
    # The fresh donation's link is still delivered: the scan still sees what is there.
    assert all(v in private_data(profiles, "hospital", fabric) for v in planted[fresh])
