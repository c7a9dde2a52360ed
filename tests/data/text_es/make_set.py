"""Write the labelled Mexican-Spanish PHI set: ``dev.jsonl`` and ``test.jsonl``.

Every snippet is synthetic: templates written for Traza (radiology reports, notas de
evolución, DICOM descriptors, referral letters, OCR text of scanned forms) filled with
made-up people, numbers and places. Identifiers come from the shared generators of
:mod:`client.synthetic` (CURP and RFC with their check digits, NSS by Luhn, phones, e-mails,
accession numbers); the pools and templates are this set's own. Dev and test use
**different templates and different name pools**; the test pool holds names that are
not in ``anonymizer/_es_lexicon.py`` so recall is not measured on memorised names.

Each line: ``{"id", "split", "kind", "text", "spans": [[start, end, category], ...]}``.
Run ``python -m tests.data.text_es.make_set`` from the repository root to regenerate (seeded,
deterministic; the files must come out byte-identical unless the set is meant to change).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from client import synthetic
from client.synthetic import plain, upper_plain

HERE = Path(__file__).parent

# --- pools --------------------------------------------------------------------------


def _split(words: str) -> list[str]:
    return words.split()


DEV_GIVEN = _split("María José Juan Luis Carlos Ana Sofía Jorge Patricia Verónica Alejandro "
             "Guadalupe Fernando Leticia Rafael Adriana Ernesto Claudia Rodrigo Silvia "
             "Miguel Ángel Mariana Gerardo Teresa")
DEV_SURNAMES = _split("Hernández García Martínez López González Pérez Rodríguez Sánchez Ramírez "
                "Flores Gómez Morales Vázquez Jiménez Gutiérrez Mendoza Aguilar Ortiz "
                "Castillo Chávez Ramos Herrera Medina Salazar Estrada")
TEST_GIVEN = _split("Yatziri Tonatiuh Itzayana Cuauhtémoc Citlalli Xóchitl Axel Ximena Santiago "
              "Valeria Emiliano Regina Nayeli Osvaldo Brenda Heriberto Zoila Anselmo "
              "Eréndira Dagoberto Marisela Rosendo Yuridia Cecilia")
TEST_SURNAMES = _split("Tzompantzi Xicoténcatl Huitzil Cuautle Olguín Zamudio Arizmendi Villaseñor "
                 "Tecpanécatl Mazariegos Quintanilla Bocanegra Ledezma Echeverría Palafox "
                 "Garduño Sosa Trejo Ávila Cervantes Barragán Galindo Peralta Nava")

DEV_HOSPITALS = ["Hospital General de Zona No. 32", "Hospital General de México",
                 "Centro Médico Nacional Siglo XXI", "Hospital Ángeles Pedregal",
                 "HGZ 1", "Hospital Regional de Alta Especialidad del Bajío",
                 "Hospital Juárez de México", "Sanatorio Durango"]
TEST_HOSPITALS = ["Centro Médico Nacional La Raza", "Hospital Civil de Guadalajara",
                  "Hospital General Regional No. 1", "HGR 72",
                  "Hospital Infantil de México Federico Gómez",
                  "Instituto Nacional de Cancerología", "Clínica Santa Fe",
                  "Hospital Universitario de Monterrey"]
DEV_UNITS = ["UMF No. 28", "Unidad de Medicina Familiar No. 7", "Centro de Salud Tlalpan",
             "UMF 64"]
TEST_UNITS = ["UMF No. 15", "Centro de Salud San Rafael", "CS 12",
              "Clínica de Medicina Familiar Oriente", "Unidad de Medicina Familiar No. 94"]
INSTITUTIONS = ["IMSS", "ISSSTE", "Secretaría de Salud", "PEMEX", "SEDENA", "UNAM"]
DEV_STREETS = ["Calle Nogal 45", "Av. Insurgentes Sur 1605", "Calzada de Tlalpan 4800",
               "Privada Morelos 12 Int. 4", "Calle 5 de Mayo 230"]
TEST_STREETS = ["Av. Revolución 1200", "Calle Fresno 18-B", "Blvd. Díaz Ordaz 333",
                "Andador Los Pinos Mz. 4 Lt. 12", "Cerrada de Allende s/n",
                "Avenida Juárez No. 77"]
DEV_COLONIAS = ["Roma Norte", "Del Valle", "Santa María la Ribera", "Narvarte"]
TEST_COLONIAS = ["Lomas de Chapultepec", "San Pedro de los Pinos", "Industrial", "Moctezuma"]
DEV_CITIES = ["Puebla", "Toluca", "Guadalajara", "Monterrey", "Coyoacán", "Tlalpan"]
TEST_CITIES = ["Morelia", "Xalapa", "Mérida", "Iztapalapa", "Hermosillo", "Oaxaca"]
STATES = ["Jalisco", "Nuevo León", "Estado de México", "Veracruz", "Chiapas", "Sonora",
          "Ciudad de México", "Querétaro"]
COUNTRIES = ["México", "Guatemala", "Estados Unidos", "Honduras", "España"]
PROFESSIONS = ["albañil", "comerciante", "profesora", "chofer", "campesino", "contador",
               "enfermera", "ama de casa", "mecánico", "estudiante"]
OTROS = ["Testigo de Jehová", "católica", "náhuatl", "tsotsil", "mixteco"]
MONTHS = _split("enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
          "diciembre")
STATE_CODES = ["DF", "MC", "JC", "NL", "PL", "VZ", "OC", "GT"]


class Gen:
    """Random values for each slot kind, from the dev or the test pools."""

    def __init__(self, rng: random.Random, split: str) -> None:
        self.r = rng
        test = split == "test"
        self.given = TEST_GIVEN if test else DEV_GIVEN
        self.surnames = TEST_SURNAMES if test else DEV_SURNAMES
        if test:  # half the test names are also from the common (in-lexicon) pool
            self.given = self.given + DEV_GIVEN[:8]
            self.surnames = self.surnames + DEV_SURNAMES[:8]
        self.hospitals = TEST_HOSPITALS if test else DEV_HOSPITALS
        self.units = TEST_UNITS if test else DEV_UNITS
        self.streets = TEST_STREETS if test else DEV_STREETS
        self.colonias = TEST_COLONIAS if test else DEV_COLONIAS
        self.cities = TEST_CITIES if test else DEV_CITIES

    def c(self, seq):
        return self.r.choice(seq)

    def person(self):
        g = self.c(self.given)
        if self.r.random() < 0.35:
            g += " " + self.c(self.given)
        return g, self.c(self.surnames), self.c(self.surnames)

    def full(self):
        g, s1, s2 = self.person()
        return f"{g} {s1} {s2}"

    def short(self):
        g, s1, _ = self.person()
        return f"{g.split()[0]} {s1}"

    def pn(self):
        g, s1, s2 = self.person()
        return upper_plain(f"{s1} {s2}^{g}")

    def surname_first(self):
        g, s1, s2 = self.person()
        return upper_plain(f"{s1} {s2}, {g}") if self.r.random() < 0.5 else f"{s1} {s2} {g}"

    def date_text(self):
        return f"{self.r.randint(1, 28)} de {self.c(MONTHS)} de {self.r.randint(1998, 2025)}"

    def date_num(self):
        d, m, y = self.r.randint(1, 28), self.r.randint(1, 12), self.r.randint(1998, 2025)
        sep = self.c("/-")
        return f"{d:02d}{sep}{m:02d}{sep}{y}" if self.r.random() < 0.8 else f"{d}/{m}/{y % 100:02d}"

    def date_month(self):
        return f"{self.c(MONTHS)}{self.c([' ', ' de '])}{self.r.randint(2000, 2025)}"

    def date_dicom(self):
        return f"{self.r.randint(1998, 2025)}{self.r.randint(1, 12):02d}{self.r.randint(1, 28):02d}"

    def age(self):
        return f"{self.r.randint(90, 104)} años"

    def phone(self):
        n, a, b = synthetic.phone(self.r).split()
        return self.c([f"({n}) {a}-{b}", f"{n} {a} {b}", f"+52 {n} {a} {b}", f"{n}{a}{b}",
                       f"{n}-{a}-{b}"])

    def email(self):
        g, s1, _ = self.person()
        domains = ["gmail.com", "hotmail.com", "imss.gob.mx", "yahoo.com.mx"]
        return synthetic.email(self.r, g, s1, domains)

    def url(self):
        return self.c(["https://expediente.hgz32.mx/paciente/88123", "www.clinicasantafe.com.mx",
                       "http://pacs.hospital-angeles.mx/viewer?study=44120"])

    def ip(self):
        return f"192.168.{self.r.randint(0, 254)}.{self.r.randint(1, 254)}"

    def curp(self):
        g, s1, s2 = self.person()
        birth = synthetic.birth_date(self.r)
        sex = {"H": "M", "M": "F"}[self.c("HM")]
        return synthetic.curp(g.split()[0], s1, s2, birth, sex, self.c(STATE_CODES))

    def rfc(self):
        g, s1, s2 = self.person()
        birth = synthetic.birth_date(self.r)
        return synthetic.rfc(g.split()[0], s1, s2, birth, synthetic.rfc_homoclave(self.r))

    def nss(self):
        n = synthetic.nss(self.r)
        return n if self.r.random() < 0.7 else f"{n[:2]}-{n[2:4]}-{n[4:6]}-{n[6:10]}-{n[10]}"

    def elector(self):
        g, s1, s2 = self.person()
        birth = synthetic.birth_date(self.r)
        state = self.r.randint(10, 32)
        sex = {"H": "M", "M": "F"}[self.c("HM")]
        return synthetic.elector_key(g, s1, s2, birth, sex, state, self.r.randint(100, 999))

    def digits(self, n):
        return synthetic.digits(self.r, n)

    def folio(self):
        return self.c([f"{self.r.randint(2015, 2025)}-{self.digits(6)}", self.digits(8),
                       f"F{self.digits(7)}"])

    def accession(self):
        return synthetic.accession(self.r)

    def placa(self):
        L = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return f"{''.join(self.r.choice(L) for _ in range(3))}-{self.digits(3)}-{self.r.choice(L)}"

    def serie(self):
        return self.c([f"PJN{self.digits(6)}H", f"SN{self.digits(8)}",
                       f"A{self.digits(5)}-{self.digits(4)}"])


# kind -> (category, how to make the value)
SLOTS = {
    "P": ("NOMBRE_SUJETO_ASISTENCIA", Gen.full),
    "Pshort": ("NOMBRE_SUJETO_ASISTENCIA", Gen.short),
    "Ppn": ("NOMBRE_SUJETO_ASISTENCIA", Gen.pn),
    "Psf": ("NOMBRE_SUJETO_ASISTENCIA", Gen.surname_first),
    "S": ("NOMBRE_PERSONAL_SANITARIO", Gen.full),
    "Sshort": ("NOMBRE_PERSONAL_SANITARIO", Gen.short),
    "Spn": ("NOMBRE_PERSONAL_SANITARIO", Gen.pn),
    "F": ("FAMILIARES_SUJETO_ASISTENCIA", Gen.full),
    "Fshort": ("FAMILIARES_SUJETO_ASISTENCIA", Gen.short),
    "D": ("FECHAS", Gen.date_text),
    "Dn": ("FECHAS", Gen.date_num),
    "Dm": ("FECHAS", Gen.date_month),
    "Dd": ("FECHAS", Gen.date_dicom),
    "AGE": ("EDAD_SUJETO_ASISTENCIA", Gen.age),
    "SEX": ("SEXO_SUJETO_ASISTENCIA", lambda g: g.c(["Femenino", "Masculino", "F", "M"])),
    "TEL": ("NUMERO_TELEFONO", Gen.phone),
    "FAX": ("NUMERO_FAX", Gen.phone),
    "EMAIL": ("CORREO_ELECTRONICO", Gen.email),
    "URL": ("URL_WEB", Gen.url),
    "IP": ("DIREC_PROT_INTERNET", Gen.ip),
    "CURP": ("ID_SUJETO_ASISTENCIA", Gen.curp),
    "RFC": ("ID_SUJETO_ASISTENCIA", Gen.rfc),
    "INE": ("ID_SUJETO_ASISTENCIA", Gen.elector),
    "EXP": ("ID_SUJETO_ASISTENCIA", lambda g: g.digits(g.r.choice([6, 7, 8]))),
    "NSS": ("ID_ASEGURAMIENTO", Gen.nss),
    "POL": ("ID_ASEGURAMIENTO", lambda g: f"POL-{g.digits(8)}"),
    "BEN": ("NUMERO_BENEF_PLAN_SALUD", lambda g: f"{g.digits(4)}{g.digits(6)}"),
    "FOLIO": ("ID_CONTACTO_ASISTENCIAL", Gen.folio),
    "ACC": ("ID_CONTACTO_ASISTENCIAL", Gen.accession),
    "CED": ("ID_TITULACION_PERSONAL_SANITARIO", lambda g: g.digits(g.r.choice([7, 8]))),
    "MAT": ("ID_EMPLEO_PERSONAL_SANITARIO", lambda g: g.digits(g.r.choice([8, 9]))),
    "PLACA": ("IDENTIF_VEHICULOS_NRSERIE_PLACAS", Gen.placa),
    "SERIE": ("IDENTIF_DISPOSITIVOS_NRSERIE", Gen.serie),
    "BIO": ("IDENTIF_BIOMETRICOS", lambda g: f"HD-{g.digits(7)}"),
    "OID": ("OTRO_NUMERO_IDENTIF", lambda g: g.digits(g.r.choice([9, 10, 12]))),
    "HOSP": ("HOSPITAL", lambda g: g.c(g.hospitals)),
    "UNIT": ("CENTRO_SALUD", lambda g: g.c(g.units)),
    "INST": ("INSTITUCION", lambda g: g.c(INSTITUTIONS)),
    "STREET": ("CALLE", lambda g: g.c(g.streets)),
    "COL": ("TERRITORIO", lambda g: g.c(g.colonias)),
    "CP": ("TERRITORIO", lambda g: g.digits(5)),
    "CITY": ("TERRITORIO", lambda g: g.c(g.cities)),
    "STATE": ("TERRITORIO", lambda g: g.c(STATES)),
    "PAIS": ("PAIS", lambda g: g.c(COUNTRIES)),
    "PROF": ("PROFESION", lambda g: g.c(PROFESSIONS)),
    "OTROS": ("OTROS_SUJETO_ASISTENCIA", lambda g: g.c(OTROS)),
}

_SLOT = re.compile(r"\{(\w+)(?:=([^}]*))?\}")  # {KIND} or {KIND=fixed value}


def fill(template: str, gen: Gen, *, ocr: bool, caps: bool) -> dict:
    """Fill one template; return text and gold spans."""
    text = ""
    spans = []
    pos = 0
    for m in _SLOT.finditer(template):
        text += noisy(template[pos:m.start()], gen.r, ocr, caps)
        category, make = SLOTS[m.group(1)]
        raw = m.group(2) if m.group(2) is not None else make(gen)
        value = noisy(raw, gen.r, ocr, caps, value=True)
        spans.append([len(text), len(text) + len(value), category])
        text += value
        pos = m.end()
    text += noisy(template[pos:], gen.r, ocr, caps)
    return {"text": text, "spans": spans}


def noisy(s: str, r: random.Random, ocr: bool, caps: bool, value: bool = False) -> str:
    if caps:
        s = upper_plain(s) if r.random() < 0.7 else s.upper()
    if not ocr:
        return s
    if r.random() < 0.5:
        s = plain(s)
    out = []
    for ch in s:
        x = r.random()
        if ch == "O" and x < 0.08:
            ch = "0"
        elif ch == "l" and x < 0.05:
            ch = "1"
        elif ch == " " and x < 0.05 and not value:
            ch = "  "
        out.append(ch)
    return "".join(out)


# --- templates ------------------------------------------------------------------------
# (kind, template). "ocr" kinds get OCR noise and often capitals; "dicom" kinds capitals.

DEV_TEMPLATES = [
    ("radiologia", "INFORME DE TOMOGRAFÍA\nPaciente: {P}   Edad: {AGE}   Exp.: {EXP}\n"
     "Fecha del estudio: {D}\nTAC de tórax simple: campos pulmonares con opacidad en vidrio "
     "despulido bilateral, sugestiva de neumonía. Hígado de tamaño normal.\n"
     "Interpretó: Dr. {S}, Céd. Prof. {CED}"),
    ("radiologia", "RX de tórax PA solicitada por la Dra. {S} en {HOSP}. Folio: {FOLIO}. "
     "Silueta cardiaca normal, sin derrame pleural. Se compara con estudio previo del {Dn}."),
    ("nota", "Nota de evolución {Dn}. Paciente {Pshort} de {AGE}, con antecedente de "
     "enfermedad de Parkinson y diabetes mellitus tipo 2. Refiere dolor lumbar. Signo de "
     "Giordano negativo. Se explica plan a su hija {Fshort}, tel. {TEL}."),
    ("nota", "Ingresa por urgencias el {D} procedente de {UNIT} del {INST}. NSS: {NSS}. "
     "Médico tratante: Dr. {Sshort}. Campos pulmonares limpios, abdomen blando."),
    ("dicom", "{Ppn}"),
    ("dicom", "PATIENT COMMENTS: ID {EXP} REF {Spn} STUDY DATE {Dd}"),
    ("dicom", "TAC CRANEO SIMPLE {HOSP}"),
    ("ficha", "Nombre: {P}\nCURP: {CURP}\nRFC: {RFC}\nSexo: {SEX}\nFecha de nacimiento: {Dn}\n"
     "Domicilio: {STREET}, Col. {COL}, C.P. {CP}, {CITY}, {STATE}\nTeléfono: {TEL}\n"
     "Correo: {EMAIL}\nOcupación: {PROF}"),
    ("ficha", "Responsable del paciente: {F} (esposa). Tel. {TEL}. Religión: {OTROS}. "
     "País de nacimiento: {PAIS}."),
    ("ocr", "{INST=INSTITUTO MEXICANO DEL SEGURO SOCIAL}\nHOJA DE REFERENCIA\nNOMBRE: {Psf}\n"
     "NSS: {NSS}  AGREGADO MEDICO: {BEN}\nUNIDAD: {UNIT}\nFECHA: {Dn}\n"
     "MEDICO: {S} MATRICULA {MAT}"),
    ("ocr", "CONSENTIMIENTO INFORMADO\nYo {P}, con credencial INE {INE}, autorizo el "
     "procedimiento en {HOSP} el dia {D}. Testigo (hermano): {F}"),
    ("carta", "Se envía a {P} de {AGE} al servicio de Cardiología del {HOSP}. Contacto del "
     "familiar {F}: {EMAIL}. Fax del servicio: {FAX}."),
    ("carta", "La paciente fue valorada en {CITY}, {STATE} en {Dm}. Cuenta con póliza {POL}. "
     "Portal de resultados: {URL}"),
    ("tecnico", "Equipo de ultrasonido, No. de serie: {SERIE}. Estación {IP}. Marcapasos "
     "implantado, modelo con serie {SERIE}."),
    ("tecnico", "Traslado en ambulancia con placas {PLACA}. Huella dactilar registrada: {BIO}. "
     "Número de referencia {OID}."),
    ("nota", "Se realiza USG abdominal por dolor en hipocondrio derecho, signo de Murphy "
     "positivo. Vesícula con litos. Dolores abdominales de 3 días."),
    ("nota", "Paciente masculino con hipertensión arterial, síndrome de Down y enfermedad de "
     "Crohn. Campos pulmonares bien ventilados. Se solicita BH, QS y EGO."),
    ("radiologia", "MASTOGRAFÍA BILATERAL. BI-RADS 2. {Pshort}, Accession: {ACC}. Fecha {Dn}. "
     "Realizó: Téc. Rad. {Sshort}"),
    ("ocr", "{INST=SECRETARIA DE SALUD}\n{UNIT}\nPACIENTE {Psf} EDAD {AGE}\n"
     "DOMICILIO {STREET} COL {COL} CP {CP}\nTEL {TEL}"),
    ("sr", "Hallazgo: nódulo hepático de 12 mm en segmento VI. Comparado con estudio de {Dm} "
     "realizado en {HOSP}. Reportó {S}."),
    # second batch: narrative, PHI-free clinical text, prescriptions
    ("nota", "Paciente femenina de {AGE}, viuda, vive con su sobrina {F} en {CITY}. Se comenta "
     "con el Dr. {Sshort} de Geriatría. Demencia tipo Alzheimer en tratamiento con Donepezilo."),
    ("radiologia", "Ultrasonido renal: riñón derecho de 10.2 x 4.5 cm, izquierdo de 10.8 x 5.1 "
     "cm, sin litiasis ni hidronefrosis. Vejiga con pared regular. Próstata de 25 cc."),
    ("receta", "RECETA\n{HOSP}\nNombre: {P}  Edad: {AGE}\nParacetamol 500 mg cada 8 horas por "
     "5 días. Ketorolaco 10 mg cada 12 horas.\n{S}\nCédula profesional {CED}"),
    ("carta", "{CITY}, {STATE}, a {D}.\nA quien corresponda: se hace constar que {P} estuvo "
     "hospitalizada en este {HOSP} del {Dn} al {Dn}."),
    ("dicom", "STATION CT01 OPERATOR {Spn} PROTOCOL TORAX ALTA RESOLUCION"),
    ("ficha", "Contacto de emergencia: {F} (hermana), celular {TEL}, correo {EMAIL}. Domicilio: "
     "{STREET}, Col. {COL}, C.P. {CP}, {CITY}."),
]

TEST_TEMPLATES = [
    ("radiologia", "RESONANCIA MAGNÉTICA DE RODILLA DERECHA\nNombre del paciente: {P}\n"
     "No. de expediente: {EXP}\nFecha: {Dn}\nRuptura del menisco medial. Quiste de Baker.\n"
     "Atentamente, Dra. {S} Médico Radiólogo, Cédula {CED}"),
    ("radiologia", "Estudio realizado en {HOSP} ({INST}) el {D}. Accesión {ACC}. Sin "
     "evidencia de tromboembolia pulmonar. Revisó: Dr. {Sshort}."),
    ("nota", "NOTA DE INGRESO. {P}, {AGE}, originaria de {CITY}, {STATE}, ocupación {PROF}. "
     "Acude acompañada por su hijo {Fshort} (cel. {TEL}) por disnea de medianos esfuerzos."),
    ("nota", "Paciente femenina con enfermedad de Alzheimer y síndrome de Cushing. Signo de "
     "Babinski ausente. Escala de Glasgow 15. Campos pulmonares sin estertores."),
    ("nota", "Egreso el {D}. Cita de control en {UNIT}. Dr. {Sshort} (matrícula {MAT}). "
     "Derechohabiente del {INST}, NSS {NSS}."),
    ("dicom", "{Ppn}"),
    ("dicom", "REFERRING: {Spn}  INSTITUTION: {HOSP}  DATE {Dd}"),
    ("dicom", "RM COLUMNA LUMBAR SIMPLE T1 T2 STIR SAGITAL AXIAL"),
    ("ficha", "DATOS DEL DONANTE\nNombre(s): {P}\nCURP: {CURP}\nSexo: {SEX}   Edad: {AGE}\n"
     "Dirección: {STREET}, Colonia {COL}, C.P. {CP}, {CITY}\nCorreo electrónico: {EMAIL}\n"
     "Teléfono celular: {TEL}\nLengua indígena: {OTROS}"),
    ("ficha", "Familiar responsable: {F}. Parentesco: madre. Teléfono: {TEL}. Nacionalidad: "
     "{PAIS}. RFC {RFC}."),
    ("ocr", "{INST=ISSSTE}\nSOLICITUD DE ESTUDIOS DE GABINETE\nNOMBRE {Psf}\nNo. AFILIACION {NSS}\n"
     "CLINICA {UNIT}\nFECHA {Dn}\nMEDICO SOLICITANTE {S} CED PROF {CED}"),
    ("ocr", "CARTA DE CONSENTIMIENTO\nEl que suscribe {P} con clave de elector {INE} y "
     "domicilio en {STREET} Col. {COL}, manifiesta su voluntad de donar sus estudios.\n"
     "{CITY}, a {D}"),
    ("carta", "Estimado Dr. {Sshort}: le refiero a {P} de {AGE} para valoración en {HOSP}. "
     "Puede comunicarse al {TEL} o al fax {FAX}."),
    ("carta", "Resultados disponibles en {URL} a partir de {Dm}. Beneficiario No. {BEN}. "
     "Póliza de gastos médicos {POL}."),
    ("tecnico", "Desfibrilador implantable número de serie {SERIE}, interrogado desde la "
     "consola {IP}. ID biométrico {BIO}."),
    ("tecnico", "Accidente de tránsito: vehículo con placas {PLACA}, arribo en ambulancia. "
     "Folio del ministerio público {OID}."),
    ("nota", "Dolor torácico opresivo, troponinas negativas. Hipertensión de larga evolución. "
     "Signo de Homans negativo. Enfermedad de Graves en tratamiento."),
    ("radiologia", "USG OBSTÉTRICO: embarazo de 32 SDG por FUM {Dn}. Paciente {Pshort}. "
     "Folio {FOLIO}. Elaboró: {S}."),
    ("ocr", "{HOSP=HOSPITAL GENERAL DE TEXCOCO}\nNOMBRE: {Psf}   EDAD: {AGE}   SEXO: {SEX}\n"
     "EXPEDIENTE {EXP}\n"
     "DOMICILIO {STREET}, {CITY}\nTEL {TEL}"),
    ("sr", "Comparación: estudio del {D} en {HOSP}. Lesión estable. Firma electrónica: {S}, "
     "{EMAIL}."),
    # second batch, written before the detector was run on it
    ("nota", "Masculino de {AGE} con EPOC e insuficiencia cardiaca. Lo acompaña su nieta "
     "{F}. Se comenta el caso con la Dra. {Sshort} de Neumología."),
    ("radiologia", "Tomografía de abdomen con contraste: hígado con lesión hipodensa en "
     "segmento VII compatible con quiste simple, Bosniak I. Vía biliar sin dilatación. "
     "Apéndice cecal sin alteraciones. Aorta de calibre normal."),
    ("receta", "Tratamiento: Metformina 850 mg cada 12 horas, Losartán 50 mg cada 24 horas, "
     "Omeprazol 20 mg en ayuno. Control en 3 meses con BH, QS y HbA1c. Médico: Dr. {S}."),
    ("carta", "{CITY}, {STATE}, {D}. Se refiere a {P} al servicio de Ginecología del "
     "{HOSP}. Atentamente, Dr. {Sshort}."),
    ("ocr", "RECETA MEDICA\n{HOSP}\nPACIENTE: {Psf}   EDAD: {AGE}\nFECHA: {Dn}\nDR. {S}\n"
     "CED. PROF. {CED}"),
    ("nota", "El {D} acude {Pshort} a urgencias tras caída de su propia altura en su domicilio "
     "de {CITY}. Refiere dolor en cadera derecha. Radiografía con fractura transtrocantérica."),
]


def build(templates, split, seed, repeats):
    rng = random.Random(seed)
    gen = Gen(rng, split)
    rows = []
    for t_index, (kind, template) in enumerate(templates):
        for k in range(repeats):
            ocr = kind == "ocr"
            caps = kind in {"ocr", "dicom"} and (k % 2 == 0 or kind == "dicom")
            row = fill(template, gen, ocr=ocr and k % 2 == 1, caps=caps)
            rows.append({"id": f"{split}-{t_index:02d}-{k}", "split": split, "kind": kind, **row})
    return rows


def main() -> None:
    for split, templates, seed in (("dev", DEV_TEMPLATES, 11), ("test", TEST_TEMPLATES, 29)):
        rows = build(templates, split, seed, repeats=5)
        with open(HERE / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(split, len(rows), "snippets", sum(len(r["spans"]) for r in rows), "spans")


if __name__ == "__main__":
    main()
