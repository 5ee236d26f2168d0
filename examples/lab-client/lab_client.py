#!/usr/bin/env python3
"""A laboratory information system (LIS) pushing a CBC report to a Spondon peer over FHIR.

It plays the hospital system of docs/peer.md, "Hospital systems: FHIR push":

  1. makes (or loads) its private key, EC P-384 for ES384 (or RSA 2048 for RS384), and prints
     its public JWKS for the peer's admin (`jwks`);
  2. the admin registers it (`register`, with an admin staff token): POST /staff/systems, which
     answers its client_id;
  3. it reads /.well-known/smart-configuration, signs a client assertion (RFC 7523) and gets a
     five-minute access token at the token endpoint (SMART Backend Services);
  4. it POSTs a transaction Bundle with a DiagnosticReport (CBC panel) and its Observations
     (LOINC codes, UCUM units, reference ranges), and the report's PDF as a Binary with the
     DocumentReference that names it, to /fhir; then it sends the same Bundle again, as a retry
     after a lost answer would: the peer answers the first result and issues nothing.

Only the Python standard library and `cryptography` (Debian: python3-cryptography).

    lab_client.py jwks --key lis.pem
    lab_client.py register --peer URL --key lis.pem --admin-token spst_... [--scope ...]
    lab_client.py push --peer URL --key lis.pem --client-id ID --health-id 1234-5678-9012-34 \
        [--pdf report.pdf | --no-pdf]

`--peer` is where to connect (http://127.0.0.1:8443 in a test). The assertion's `aud` is the
token endpoint the peer publishes in its SMART configuration (its public URL), whatever address
the client connects to. Output is JSON on stdout.
"""

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HEALTH_ID_SYSTEM = "https://spondon.health/fhir/sid/health-id"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPES = ("system/DiagnosticReport.c system/Observation.c "
          "system/DocumentReference.c system/Binary.c")
RECORD_CATEGORY = "https://spondon.health/fhir/CodeSystem/record-category"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_bytes(n: int, length: int = 0) -> bytes:
    length = length or (n.bit_length() + 7) // 8
    return n.to_bytes(length, "big")


def load_or_make_key(path: str, alg: str):
    """The private key in `path` (PEM, PKCS#8), made on first use with mode 0600."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)
    if alg == "ES384":
        key = ec.generate_private_key(ec.SECP384R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def alg_of(key) -> str:
    return "ES384" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS384"


def kid_of(key) -> str:
    """A kid derived from the public key (so it is stable for a key file)."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return b64url(digest.finalize()[:16])


def public_jwks(key) -> dict:
    """The public JWK Set the admin registers: no private member ever leaves this process."""
    pub = key.public_key().public_numbers()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = {"kty": "EC", "crv": "P-384", "x": b64url(int_bytes(pub.x, 48)),
               "y": b64url(int_bytes(pub.y, 48))}
    else:
        jwk = {"kty": "RSA", "n": b64url(int_bytes(pub.n)), "e": b64url(int_bytes(pub.e))}
    jwk.update({"kid": kid_of(key), "alg": alg_of(key), "use": "sig"})
    return {"keys": [jwk]}


def sign_jwt(key, claims: dict) -> str:
    header = {"alg": alg_of(key), "kid": kid_of(key), "typ": "JWT"}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA384()))
        r, s = decode_dss_signature(der)
        sig = int_bytes(r, 48) + int_bytes(s, 48)  # JWS: fixed-width r || s
    else:
        sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA384())
    return signing_input + "." + b64url(sig)


def http(method: str, url: str, body: bytes = b"", headers=None):
    """(status, headers, parsed JSON body) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, data=body if method != "GET" else None, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        return e.code, dict(e.headers), payload


def connect_url(peer: str, public_url: str) -> str:
    """`public_url`'s path on the address we connect to."""
    return peer.rstrip("/") + urllib.parse.urlsplit(public_url).path


def get_token(peer: str, key, client_id: str, scope: str) -> dict:
    status, _, config = http("GET", peer.rstrip("/") + "/.well-known/smart-configuration")
    if status != 200:
        raise SystemExit(f"smart-configuration: {status} {config}")
    token_url = config["token_endpoint"]
    now = int(time.time())
    assertion = sign_jwt(key, {
        "iss": client_id, "sub": client_id, "aud": token_url,
        "exp": now + 240, "jti": str(uuid.uuid4()),
    })
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
    }).encode()
    status, _, tok = http("POST", connect_url(peer, token_url), form,
                          {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise SystemExit(f"token: {status} {tok}")
    return tok


def quantity(value, unit, code):
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def observation(full_url, loinc, display, value, unit, code, low, high, health_id):
    return {
        "fullUrl": full_url,
        "resource": {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
            "subject": {"identifier": {"system": HEALTH_ID_SYSTEM, "value": health_id}},
            "valueQuantity": quantity(value, unit, code),
            "referenceRange": [{"low": quantity(low, unit, code),
                                "high": quantity(high, unit, code)}],
        },
        "request": {"method": "POST", "url": "Observation"},
    }


def cbc_pdf(health_id: str) -> bytes:
    """A one-page PDF of the report (what a LIS prints); uncompressed, Helvetica."""
    text = f"CBC report for Health ID {health_id}: Hb 11.2 g/dL, WBC 7.8, PLT 95 (low), RBC 4.1"
    content = f"BT /F1 12 Tf 72 770 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def document_entries(health_id: str, pdf: bytes, title: str) -> list:
    """The PDF as a Binary and the DocumentReference whose attachment url names it."""
    binary_url = f"urn:uuid:{uuid.uuid4()}"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return [
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "resource": {
                "resourceType": "DocumentReference", "status": "current",
                "type": {"coding": [{"system": LOINC, "code": "58410-2",
                                     "display": "CBC panel - Blood by Automated count"}],
                         "text": "Complete blood count"},
                "category": [{"coding": [{"system": RECORD_CATEGORY, "code": "lab_result"}]}],
                "subject": {"identifier": {"system": HEALTH_ID_SYSTEM, "value": health_id}},
                "description": "CBC report from the lab system",
                "content": [{"attachment": {"contentType": "application/pdf", "url": binary_url,
                                            "title": title, "creation": now}}],
            },
            "request": {"method": "POST", "url": "DocumentReference"},
        },
        {
            "fullUrl": binary_url,
            "resource": {"resourceType": "Binary", "contentType": "application/pdf",
                         "data": base64.b64encode(pdf).decode("ascii")},
            "request": {"method": "POST", "url": "Binary"},
        },
    ]


def cbc_bundle(health_id: str, order_id: str, pdf=None) -> dict:
    """A CBC panel: the report and four results, identified by the lab's order number."""
    tests = [
        ("718-7", "Hemoglobin [Mass/volume] in Blood", 11.2, "g/dL", "g/dL", 12.0, 15.5),
        ("6690-2", "Leukocytes [#/volume] in Blood", 7.8, "10*3/uL", "10*3/uL", 4.0, 11.0),
        ("777-3", "Platelets [#/volume] in Blood", 95, "10*3/uL", "10*3/uL", 150, 450),
        ("789-8", "Erythrocytes [#/volume] in Blood", 4.1, "10*6/uL", "10*6/uL", 3.9, 5.2),
    ]
    obs = [observation(f"urn:uuid:{uuid.uuid4()}", *t, health_id=health_id) for t in tests]
    report = {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": {
            "resourceType": "DiagnosticReport", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "58410-2",
                                 "display": "CBC panel - Blood by Automated count"}]},
            "subject": {"identifier": {"system": HEALTH_ID_SYSTEM, "value": health_id}},
            "result": [{"reference": o["fullUrl"]} for o in obs],
        },
        "request": {"method": "POST", "url": "DiagnosticReport"},
    }
    docs = document_entries(health_id, pdf, f"cbc-{order_id}.pdf") if pdf else []
    return {
        "resourceType": "Bundle", "type": "transaction",
        "identifier": {"system": "https://lis.dmch.example/orders", "value": order_id},
        "entry": [report] + obs + docs,
    }


def push(peer: str, token: str, bundle: dict):
    return http("POST", peer.rstrip("/") + "/fhir", json.dumps(bundle).encode(), {
        "Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json",
    })


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["jwks", "register", "push"])
    ap.add_argument("--key", required=True, help="private key file (PEM), made if missing")
    ap.add_argument("--alg", choices=["ES384", "RS384"], default="ES384",
                    help="key type for a new key (default ES384, EC P-384)")
    ap.add_argument("--peer", help="base URL to connect to, e.g. https://dmch.example")
    ap.add_argument("--admin-token", help="register: an admin staff token (the admin's step)")
    ap.add_argument("--name", default="DMCH laboratory (LIS)")
    ap.add_argument("--scope", default=SCOPES)
    ap.add_argument("--client-id")
    ap.add_argument("--health-id")
    ap.add_argument("--order-id", default=None, help="Bundle.identifier value (default: new)")
    ap.add_argument("--pdf", help="push: the report's PDF (default: a generated one-page PDF)")
    ap.add_argument("--no-pdf", action="store_true", help="push: the results only, no PDF")
    args = ap.parse_args()
    key = load_or_make_key(args.key, args.alg)

    if args.command == "jwks":
        print(json.dumps(public_jwks(key), indent=2))
        return 0
    if not args.peer:
        ap.error("--peer is required")
    if args.command == "register":
        if not args.admin_token:
            ap.error("register needs --admin-token (an admin staff token)")
        status, _, out = http("POST", args.peer.rstrip("/") + "/staff/systems", json.dumps({
            "name": args.name, "jwks": public_jwks(key), "scopes": args.scope.split(),
        }).encode(), {"Authorization": f"Bearer {args.admin_token}",
                      "Content-Type": "application/json"})
        if status != 201:
            raise SystemExit(f"register: {status} {out}")
        print(json.dumps(out))
        return 0

    if not (args.client_id and args.health_id):
        ap.error("push needs --client-id and --health-id")
    tok = get_token(args.peer, key, args.client_id, args.scope)
    pdf = None
    if not args.no_pdf:
        if args.pdf:
            with open(args.pdf, "rb") as f:
                pdf = f.read()
        else:
            pdf = cbc_pdf(args.health_id)
    bundle = cbc_bundle(args.health_id, args.order_id or f"CBC-{uuid.uuid4()}", pdf)
    started = time.monotonic()
    status, _, first = push(args.peer, tok["access_token"], bundle)
    latency_ms = (time.monotonic() - started) * 1000
    if status != 200:
        raise SystemExit(f"push: {status} {json.dumps(first)}")
    # The retry a lost answer would cause: the same Bundle, answered with the first result.
    status2, headers2, again = push(args.peer, tok["access_token"], bundle)
    replayed = {k.lower(): v for k, v in headers2.items()}.get("idempotent-replayed") == "true"
    ids = sorted({e["response"]["location"].split("/")[-1] for e in first["entry"]})
    kinds = sorted({x["valueCode"] for e in first["entry"] for x in e["response"]["extension"]
                    if x["url"].endswith("/record-kind")})
    log_indices = sorted({x["valueUnsignedInt"] for e in first["entry"]
                          for x in e["response"]["extension"] if x["url"].endswith("/log-index")})
    print(json.dumps({
        "client_id": args.client_id, "granted_scope": tok["scope"],
        "record_ids": ids, "record_kinds": kinds, "log_indices": log_indices,
        "retry_status": status2, "retry_replayed": replayed, "retry_same": again == first,
        "push_ms": round(latency_ms, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
