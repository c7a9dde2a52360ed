"""Every route x every role, CSRF on every form, XSS in every field shown back, IDOR.

The route table is read from ``app.url_map``: a route added without an entry in
:data:`EXPECTED` fails the first test, so no new page can skip its guard.
"""

from __future__ import annotations

import re

import pytest
from web_fixtures import BASE, World, csrf, make_app, post, sign_in_donor, sign_in_staff

ROLES = ("anonymous", "donor", "operator", "clinician", "regulator", "admin")
ALL = set(ROLES)
STAFF = {"operator", "clinician", "regulator", "admin"}
# endpoint -> (path to GET, roles that get 200). Everyone else: a redirect to sign in when
# anonymous, 403 when signed in with another role.
EXPECTED = {
    "healthz": ("/healthz", ALL),
    "static": ("/static/traza.css", ALL),
    "trace.trace": (None, ALL),  # capability pages: tested in test_web_trace.py
    "trace.evidence": (None, ALL),
    "trace.verification": (None, ALL),
    "auth.donor_login": ("/entrar", ALL),
    "auth.donor_code": ("/entrar/codigo", ALL),
    "auth.staff_login": ("/personal/entrar", ALL),
    "auth.logout": (None, ALL),  # POST only
    "review.index": ("/revision/", {"donor"}),
    "review.image": ("/revision/imagen/{sha}/0.png", {"donor"}),
    "review.accept": (None, {"donor"}),
    "review.request_changes": (None, {"donor"}),
    "review.refuse": ("/revision/rechazar", {"donor"}),
    "staff.home": ("/personal/", STAFF),
    "staff.intake": ("/personal/ingreso", {"operator"}),
    "staff.findings": ("/personal/hallazgos", {"clinician"}),
    "redaction.index": ("/staff/redaction", {"operator"}),
    "redaction.upload": (None, {"operator"}),
    "redaction.record": ("/staff/redaction/{did}", {"operator"}),
    "redaction.submit": (None, {"operator"}),
    "redaction.page_image": ("/staff/redaction/{did}/pages/1.png", {"operator"}),
    "regulator.search": ("/regulator/", {"regulator"}),
    "regulator.chart": ("/regulator/chart.svg", {"regulator"}),
    "regulator.export_csv": ("/regulator/export.csv", {"regulator"}),
    "regulator.export_json": ("/regulator/export.json", {"regulator"}),
    "regulator.history": ("/regulator/donations/{did}", {"regulator"}),
    "regulator.integrity": ("/regulator/donations/{did}/integrity", {"regulator"}),
    "regulator.block": ("/regulator/blocks/1", {"regulator"}),
    "regulator.transaction": ("/regulator/tx/" + "a" * 64, {"regulator"}),
    "regulator.audit_log": ("/regulator/audit", {"regulator"}),
    "regulator.audit_export": ("/regulator/audit.json", {"regulator"}),
}
# Pages whose own answer to an allowed role is tested in their own file (test_web_redaction):
# here only that the guard lets that role through.
OWN_TESTS = {"redaction.record", "redaction.page_image", "regulator.search", "regulator.chart",
             "regulator.export_csv", "regulator.export_json", "regulator.history",
             "regulator.integrity", "regulator.block", "regulator.transaction",
             "regulator.audit_log", "regulator.audit_export"}
# POST forms: path, the page whose form it is, the roles allowed to post it.
FORMS = {
    "auth.donor_login": "/entrar",
    "auth.donor_code": "/entrar/codigo",
    "auth.staff_login": "/personal/entrar",
    "auth.logout": "/salir",
    "review.accept": "/revision/aceptar",
    "review.request_changes": "/revision/cambios",
    "review.refuse": "/revision/rechazar",
    "staff.intake": "/personal/ingreso",
    "staff.findings": "/personal/hallazgos",
    "redaction.upload": "/staff/redaction",
    "redaction.submit": "/staff/redaction/d-000000000000000000000000",
}


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.db.dispose()


@pytest.fixture
def app(world):
    return make_app(world)


def signed_in(app, world, role: str, donor=None):
    client = app.test_client()
    if role == "donor":
        r = sign_in_donor(client, world, donor or world.add_donor(7))
        assert r.status_code == 302
    elif role != "anonymous":
        secret = world.add_staff(f"u-{role}", role)
        assert sign_in_staff(client, f"u-{role}", secret).status_code == 302
    return client


def test_every_route_is_in_the_table(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert endpoints == set(EXPECTED), "a new route needs its row in EXPECTED (and a guard)"
    posts = {r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    assert posts == set(FORMS), "a new form needs its row in FORMS (CSRF is tested on it)"


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(app, world, role):
    donor = world.add_donor(3)
    client = signed_in(app, world, role, donor)
    for endpoint, (path, allowed) in EXPECTED.items():
        if path is None:
            continue
        r = client.get(path.format(sha=donor.deidentified_sha256, did=donor.donation_id),
                       base_url=BASE)
        if role in allowed and endpoint in OWN_TESTS:
            assert r.status_code not in (302, 401, 403), (endpoint, role, r.status_code)
        elif role in allowed:
            assert r.status_code == 200, (endpoint, role, r.status_code)
            if r.mimetype == "text/html":  # the CSP has no unsafe-inline: nothing inline
                html = r.get_data(as_text=True)
                assert "<script" not in html and "<style" not in html, endpoint
                assert re.search(r' (on[a-z]+|style)=', html) is None, endpoint
        elif role == "anonymous":
            assert r.status_code == 302, (endpoint, role)
            target = "/entrar" if allowed == {"donor"} else "/personal/entrar"
            assert r.headers["Location"].split("?")[0].endswith(target), endpoint
        else:
            assert r.status_code == 403, (endpoint, role, r.status_code)
    for endpoint, path in FORMS.items():  # a POST of another role is refused, not done
        allowed = EXPECTED[endpoint][1]
        if role in allowed or endpoint.startswith("auth."):
            continue
        r = post(client, path, form="/entrar")
        assert r.status_code in (302, 403), (endpoint, role)
    assert not [s for s in world.steps if role not in ("donor", "operator", "clinician")]


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_a_post_without_its_csrf_token_is_refused(app, world, endpoint):
    donor = world.add_donor(5)
    who = ({"staff.intake": "operator", "staff.findings": "clinician"}.get(endpoint)
           or ("donor" if endpoint.startswith("review.") else None)
           or ("operator" if endpoint.startswith("redaction.") else "anonymous"))
    client = signed_in(app, world, who, donor)
    for data in ({}, {"csrf_token": "forged-" + "x" * 40}):
        r = client.post(FORMS[endpoint], data=data, base_url=BASE)
        assert r.status_code == 400, (endpoint, data)
    assert world.steps == []
    # and a cross-site Origin is refused even with the token
    token = csrf(client, "/entrar")
    r = client.post(FORMS[endpoint], data={"csrf_token": token}, base_url=BASE,
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and world.steps == []


XSS = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>'


def _no_markup(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "onerror=alert" not in html or "&lt;img" in html


def test_xss_in_every_field_is_escaped(app, world):
    donor = world.add_donor(9)
    # shown back: the donor's own original values (a name with markup), the changes table
    import io

    import pydicom
    with world.db.session() as s:
        from client.db.models import StagedObject
        obj = s.get(StagedObject, next(
            o.name for o in world.staged.of(s, donor.donation_id, "original")))
        ds = pydicom.dcmread(io.BytesIO(world.staged.staging.objects[obj.name]))
        ds.PatientName = XSS
        buf = io.BytesIO()
        ds.save_as(buf)
        world.staged.staging.objects[obj.name] = buf.getvalue()
    client = signed_in(app, world, "donor", donor)
    html = client.get("/revision/", base_url=BASE).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    _no_markup(html)
    # every form field posted back into a page
    r = post(client, "/revision/cambios", {"comment": XSS * 100})
    assert r.status_code == 400
    _no_markup(r.get_data(as_text=True))
    for path, fields in (("/personal/entrar", ("username", "password", "code")),
                         ("/entrar/codigo", ("code",)), ("/entrar", ("email",))):
        r = post(app.test_client(), path, {f: XSS for f in fields})
        _no_markup(r.get_data(as_text=True))
    op = signed_in(app, world, "operator")
    for path, fields in (("/personal/ingreso", ("donation_id", "condition_code", "age_band")),):
        r = post(op, path, {f: XSS for f in fields})
        assert r.status_code == 400
        _no_markup(r.get_data(as_text=True))
    cl = signed_in(app, world, "clinician")
    r = post(cl, "/personal/hallazgos", {"donation_id": XSS, "finding_code": XSS, "text": XSS})
    assert r.status_code == 400
    _no_markup(r.get_data(as_text=True))
    # the next= of the staff sign-in is no open redirect and is escaped
    r = app.test_client().get('/personal/entrar?next="><script>x</script>', base_url=BASE)
    assert "<script>x" not in r.get_data(as_text=True)


def test_donor_a_cannot_reach_donor_b(app, world):
    a, b = world.add_donor(11), world.add_donor(12)
    client = signed_in(app, world, "donor", a)
    html = client.get("/revision/", base_url=BASE).get_data(as_text=True)
    assert a.donation_id in html and b.donation_id not in html
    assert b.planted[0] not in html and a.planted[0] in html
    for sha in (b.original_sha256, b.deidentified_sha256):
        r = client.get(f"/revision/imagen/{sha}/0.png", base_url=BASE)
        assert r.status_code == 404
    assert client.get(f"/revision/imagen/{a.original_sha256}/0.png",
                      base_url=BASE).status_code == 200
    # a decision is always on the signed-in donor's own donation
    post(client, "/revision/aceptar", form="/revision/")
    assert [(s[0], s[1]) for s in world.steps] == [("Accept", a.donation_id)]
    assert world.chain[b.donation_id]["state"] == "UNDER_REVIEW"


def test_after_a_decision_the_originals_are_not_viewable(app, world):
    donor = world.add_donor(13)
    client = signed_in(app, world, "donor", donor)
    client.get("/revision/", base_url=BASE)
    url = f"/revision/imagen/{donor.original_sha256}/0.png"
    assert client.get(url, base_url=BASE).status_code == 200
    r = post(client, "/revision/cambios", {"comment": "oculten la fecha"}, form="/revision/")
    assert r.status_code == 302
    assert world.steps[-1][0] == "RequestChanges" and world.steps[-1][3] == {
        "comment": "oculten la fecha"}
    assert client.get(url, base_url=BASE).status_code == 404
    html = client.get("/revision/", base_url=BASE).get_data(as_text=True)
    assert donor.planted[0] not in html and "cambios solicitados por el donante" in html


def test_refuse_needs_a_confirmation_that_says_what_follows(app, world):
    donor = world.add_donor(14)
    client = signed_in(app, world, "donor", donor)
    page = client.get("/revision/rechazar", base_url=BASE).get_data(as_text=True)
    assert "no se puede deshacer" in page and world.steps == []
    r = post(client, "/revision/rechazar")
    assert r.status_code == 200 and "se borró" in r.get_data(as_text=True)
    assert [s[0] for s in world.steps] == ["Erase"]
    assert client.get("/revision/", base_url=BASE).status_code == 302  # signed out


def test_review_page_shows_consent_pairs_masks_and_frames(app, world):
    donor = world.add_donor(15)
    client = signed_in(app, world, "donor", donor)
    for query in ("?frame=-1", "?frame=99", "?frame=x&preset=<b>"):
        assert client.get(f"/revision/{query}", base_url=BASE).status_code == 200
    html = client.get("/revision/", base_url=BASE).get_data(as_text=True)
    assert "traza-donacion" in html and "2.0" in html  # the consent form on chain
    assert f"/revision/imagen/{donor.original_sha256}/0.png?preset=soft" in html
    assert f"/revision/imagen/{donor.deidentified_sha256}/0.png?preset=soft&amp;mask=1" in html
    assert re.search(r"<td><code>PatientName</code></td><td>eliminado</td>", html)
    assert re.search(r"<td><code>PatientID</code></td><td>sustituido por un seudónimo</td>", html)
    plain = client.get(f"/revision/imagen/{donor.deidentified_sha256}/0.png",
                       base_url=BASE).data
    masked = client.get(f"/revision/imagen/{donor.deidentified_sha256}/0.png?mask=1",
                        base_url=BASE).data
    assert plain[:4] == masked[:4] == b"\x89PNG" and plain != masked
    bone = client.get(f"/revision/imagen/{donor.original_sha256}/0.png?preset=bone",
                      base_url=BASE).data
    assert bone != client.get(f"/revision/imagen/{donor.original_sha256}/0.png",
                              base_url=BASE).data
    assert client.get(f"/revision/imagen/{donor.original_sha256}/1.png",
                      base_url=BASE).status_code == 404  # one frame only


def test_the_english_toggle_is_kept(app, world):
    client = app.test_client()
    assert "Escriba su código" not in client.get("/entrar/codigo?lang=en",
                                                  base_url=BASE).get_data(as_text=True)
    html = client.get("/entrar/codigo", base_url=BASE).get_data(as_text=True)
    assert "Type your code" in html
    html = app.test_client().get("/entrar/codigo", base_url=BASE).get_data(as_text=True)
    assert "Escriba su código" in html
