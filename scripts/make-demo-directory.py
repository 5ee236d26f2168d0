#!/usr/bin/env python3
"""Builds assets/demo/smart-examples-directory.json (VCI directory format) from the SMART Health
Cards specification's published example issuer JWKS and CRL in testdata/shc/issuer/."""
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
well_known = root / "testdata/shc/issuer/.well-known"
jwks = json.loads((well_known / "jwks.json").read_text())
crls = [json.loads(p.read_text()) for p in sorted((well_known / "crl").glob("*.json"))]
directory = {
    "issuerInfo": [
        {
            "issuer": {
                "iss": "https://spec.smarthealth.cards/examples/issuer",
                "name": "SMART Health Card specification example issuer",
            },
            "keys": jwks["keys"],
            "crls": crls,
        }
    ]
}
out = root / "assets/demo/smart-examples-directory.json"
out.write_text(json.dumps(directory, indent=2) + "\n")
print(f"wrote {out.relative_to(root)}")
