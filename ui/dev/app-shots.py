#!/usr/bin/env python3
"""Drives the real app window (tauri-driver + WebKitWebDriver, under the current DISPLAY) through
the first run with an empty wallet and grabs the X display after each step (WebKitWebDriver's own
screenshots can come back blank under Xvfb). For looking at the UI in the real webview; the full
end-to-end test (peers, clinic node) is the lead's tests/.

Usage: DISPLAY=:99 SPONDON_WALLET_DIR=/tmp/w SPONDON_KEYSTORE=none \\
         python3 ui/dev/app-shots.py /path/to/spondon-app OUT_DIR [--bn]"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

APP, OUT = sys.argv[1], sys.argv[2]
BN = "--bn" in sys.argv
# Ports of their own, so a run never collides with the end-to-end test (4444/4445).
PORT = 4454
NATIVE_PORT = 4455


def req(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method,
                               headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=120) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path} {body}: {e.read()[:400]!r}")


def main():
    os.makedirs(OUT, exist_ok=True)
    log = open(os.path.join(OUT, "driver.log"), "w")
    drv = subprocess.Popen(["tauri-driver", "--port", str(PORT), "--native-port", str(NATIVE_PORT)], stdout=log, stderr=log)
    try:
        time.sleep(2)
        sid = req("POST", "/session", {"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": APP}}}})["value"]["sessionId"]
        s = f"/session/{sid}"
        time.sleep(3)

        def find(id_):
            el = req("POST", f"{s}/element", {"using": "css selector", "value": f"#{id_}"})["value"]
            return list(el.values())[0]

        def click(id_):
            req("POST", f"{s}/execute/sync", {"script": "document.getElementById(arguments[0])"
                ".scrollIntoView({block: 'center'})", "args": [id_]})
            req("POST", f"{s}/element/{find(id_)}/click", {})
            time.sleep(0.8)

        def typ(id_, text):
            req("POST", f"{s}/element/{find(id_)}/value", {"text": text})
            time.sleep(0.3)

        def shot(name):
            subprocess.run(["import", "-window", "root", os.path.join(OUT, name + ".png")],
                           check=False)

        def size(w, h):  # noqa: E306
            req("POST", f"{s}/window/rect", {"width": w, "height": h, "x": 0, "y": 0})
            time.sleep(0.8)

        world = {}
        if os.environ.get("WORLD_ENV"):
            for line in open(os.environ["WORLD_ENV"]):
                k, _, v = line.strip().partition("=")
                world[k] = v
        pw = "river lantern mango seventy"

        # Resizing the window between shots can kill WebKitWebDriver: one size per run
        # (--phone for 390×844).
        phone = "--phone" in sys.argv

        def wide_and_phone(name):
            shot(("phone-" if phone else "wide-") + name)

        if BN:
            click("lang-switch")
        size(*((390, 844) if phone else (1280, 800)))
        wide_and_phone("01-first-run")
        typ("create-passphrase", pw)
        typ("create-passphrase-repeat", pw)
        click("create-wallet")
        time.sleep(8)
        shot("wide-01c-backup-reminder")
        click("backup-later")
        time.sleep(1)
        wide_and_phone("03-records-empty")
        click("nav-hospitals")
        for h in ["DMCH", "LABAID"]:
            if world.get(f"WORLD_{h}_ENROLL"):
                typ("enroll-code", world[f"WORLD_{h}_ENROLL"])
                click("enroll-button")
                time.sleep(4)
        wide_and_phone("05-hospitals")
        click("nav-records")
        click("sync-button")
        time.sleep(0.5)
        shot("wide-03b-syncing")
        time.sleep(10)
        wide_and_phone("03c-records")
        rows = req("POST", f"{s}/elements", {"using": "css selector", "value": ".record-open"})["value"]
        if rows:
            rid = req("POST", f"{s}/execute/sync", {"script": "return document.querySelector('.record-open').id", "args": []})["value"]
            click(rid)
            time.sleep(1.5)
            if req("POST", f"{s}/elements", {"using": "css selector", "value": "#proof-toggle"})["value"]:
                click("proof-toggle")
            wide_and_phone("04-record")
        click("nav-share")
        time.sleep(1)
        if world.get("WORLD_DOCTOR_CREDENTIAL"):
            click("add-doctor-toggle")
            typ("doctor-credential", open(world["WORLD_DOCTOR_CREDENTIAL"]).read().strip())
            click("doctor-add")
            time.sleep(3)
        click("scope-lab_result")
        click("scope-prescription")
        click("share-duration-preset-1")
        wide_and_phone("06-share")
        typ("share-passphrase", pw)
        click("share-create")
        time.sleep(6)
        wide_and_phone("06b-share-qr")
        for nav in ["grants", "access", "export", "import", "settings"]:
            click("nav-" + nav)
            time.sleep(1.5)
            wide_and_phone("nav-" + nav)
        click("nav-export")
        time.sleep(1)
        click("export-select-all")
        typ("export-passphrase", pw)
        click("export-button")
        time.sleep(12)
        wide_and_phone("09b-exported")
        click("nav-grants")
        time.sleep(1)
        rev = req("POST", f"{s}/execute/sync", {"script": "const b = document.querySelector('.revoke-open'); return b ? b.id : null", "args": []})["value"]
        if rev:
            click(rev)
            typ("revoke-passphrase", pw)
            click("revoke-confirm")
            time.sleep(6)
            wide_and_phone("07b-revoked")
        click("lock-button")
        time.sleep(1)
        typ("unlock-passphrase", "wrong wrong wrong")
        click("unlock-button")
        time.sleep(5)
        wide_and_phone("02-unlock-wrong")
        req("DELETE", s)
    finally:
        drv.terminate()


if __name__ == "__main__":
    main()
