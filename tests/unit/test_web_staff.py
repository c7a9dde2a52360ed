"""Staff pages (intake upload limits, findings) and whose identity each step is taken as."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pydicom
import pytest
from web_fixtures import CT, World, make_app, post, sign_in_staff

from client.ledger import Actor, Ledger
from client.workflow import PipelineConfig
from web.identity import actor_of, config_for
from web.principal import Principal
from web.render import RenderError, frame_count, presets_for, to_png

DID = "d-" + "a" * 24


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.db.dispose()


def _client(world, role, org="hospital", **config):
    app = make_app(world, **config)
    client = app.test_client()
    assert sign_in_staff(client, f"p-{role}", world.add_staff(f"p-{role}", role, org)
                         ).status_code == 302
    return client


def _upload(client, files, **form):
    data = {"donation_id": DID, "source": "human", "age_band": "40-64", **form,
            "files": files}
    return post(client, "/personal/ingreso", data, content_type="multipart/form-data")


def test_intake_takes_dicom_and_zips_signed_by_the_operator(world):
    client = _client(world, "operator")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/1.dcm", CT)
        z.writestr("a/2.dcm", CT)
    r = _upload(client, [(io.BytesIO(CT), "maria_lopez.dcm", "application/dicom"),
                         (io.BytesIO(buf.getvalue()), "estudios.zip", "application/zip")])
    assert r.status_code == 200, r.get_data(as_text=True)
    person = Actor("hospital", "w-p-operator")
    assert [(s[0], s[2]) for s in world.steps] == [("Acquire", person), ("Deidentify", person)]
    assert world.steps[0][3] == {"files": 3, "source": {"kind": "human", "ageBand": "40-64"}}


@pytest.mark.parametrize(("files", "form", "status"), [
    ([(io.BytesIO(b"no soy DICOM" * 20), "nota.txt", "text/plain")], {}, 400),
    ([(io.BytesIO(b"x" * 200), "falso.dcm", "application/dicom")], {}, 400),
    ([(io.BytesIO(CT), "a.dcm", "application/dicom")], {"donation_id": "maria"}, 400),
    ([(io.BytesIO(CT), "a.dcm", "application/dicom")], {"age_band": "33"}, 400),
    ([(io.BytesIO(CT), "a.dcm", "application/dicom")], {"condition_code": "cáncer"}, 400),
    ([(io.BytesIO(CT), f"{i}.dcm", "application/dicom") for i in range(3)], {}, 400),
])
def test_intake_refuses_bad_uploads_and_changes_nothing(world, files, form, status):
    client = _client(world, "operator", upload_files=2)
    r = _upload(client, files, **form)
    assert r.status_code == status and world.steps == []


def test_intake_refuses_a_zip_with_an_unsafe_member(world):
    client = _client(world, "operator")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../fuera.dcm", CT)
    r = _upload(client, [(io.BytesIO(buf.getvalue()), "a.zip", "application/zip")])
    assert r.status_code == 400 and world.steps == []


def test_intake_refuses_an_upload_over_the_size_limit(world):
    client = _client(world, "operator", upload_mb=1)
    r = _upload(client, [(io.BytesIO(CT + b"\0" * (1024 * 1024)), "a.dcm", "application/dicom")])
    assert r.status_code == 413 and world.steps == []


def test_findings_are_taken_as_the_clinician_of_any_org(world):
    client = _client(world, "clinician", org="university")
    r = post(client, "/personal/hallazgos",
             {"donation_id": DID, "finding_code": "R91.8", "text": "nódulo de 4 mm"})
    assert r.status_code == 200
    assert [(s[0], s[2]) for s in world.steps] == [
        ("Diagnose", Actor("university", "w-p-clinician"))]
    r = post(client, "/personal/hallazgos",
             {"donation_id": DID, "finding_code": "R91.8",
              "text": "paciente María Guadalupe Hernández López, CURP HELM850312MDFRPR09"})
    assert r.status_code == 400 and len(world.steps) == 1


def test_whose_identity_each_principal_signs_with():
    base = PipelineConfig(intake_org="hospital", deid_org="university")
    op = Principal("staff", "ana", "operator", "hospital")
    c = config_for(op, base)
    assert c.operator_actor == c.service_actor == c.deid_actor == Actor("hospital", "w-ana")
    other = Principal("staff", "luis", "clinician", "imss")
    assert config_for(other, base) == base and actor_of(other, base) == Actor("imss", "w-luis")
    donor = Principal("donor", DID, "donor", "hospital")
    assert config_for(donor, base) == base
    assert actor_of(donor, base) == Actor("hospital", "service1")


def test_the_ledger_finds_a_person_in_the_identity_folders(tmp_path):
    def profile(folder, org, user, msp):
        (folder / org).mkdir(parents=True, exist_ok=True)
        (folder / org / f"{user}.json").write_text(json.dumps({
            "msp": {"id": msp, "dir": f"/x/{user}"},
            "gateway": {"address": "127.0.0.1:1", "tls_ca": "/x/ca.pem"}}))
    net, wallet = tmp_path / "profiles", tmp_path / "wallet"
    profile(net, "hospital", "service1", "HospitalMSP")
    profile(wallet, "hospital", "w-ana", "HospitalMSP")
    profile(wallet, "hospital", "service1", "EvilMSP")  # the network's own comes first
    ledger = Ledger(net, identity_dirs=[wallet])
    assert ledger.profile(Actor("hospital", "w-ana")).msp_dir.name == "w-ana"
    assert ledger.profile(Actor("hospital", "service1")).msp_id == "HospitalMSP"
    with pytest.raises(ValueError, match="no profile for w-bob"):
        ledger.profile(Actor("hospital", "w-bob"))
    with pytest.raises(ValueError):
        Ledger(net).profile(Actor("hospital", "w-ana"))


def _multiframe(n: int) -> bytes:
    """CT_small with ``n`` frames of different content (no test file download)."""
    ds = pydicom.dcmread(io.BytesIO(CT))
    frame = ds.pixel_array
    ds.NumberOfFrames = n
    ds.PixelData = np.stack([np.roll(frame, 17 * i, axis=1) for i in range(n)]).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def test_render_presets_frames_and_errors():
    assert presets_for("CT")[0] == "soft" and presets_for("MR") == ("auto", "full")
    multi = _multiframe(3)
    assert frame_count(multi) == 3
    first, last = to_png(multi, frame=0), to_png(multi, frame=frame_count(multi) - 1)
    assert first[:4] == last[:4] == b"\x89PNG" and first != last
    with pytest.raises(RenderError, match="out of"):
        to_png(multi, frame=frame_count(multi))
    with pytest.raises(RenderError):
        to_png(b"not dicom at all")
    assert to_png(CT, preset="lung") != to_png(CT, preset="bone")
