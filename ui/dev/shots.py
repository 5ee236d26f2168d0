#!/usr/bin/env python3
"""Screenshots of every screen of the UI against the mock shell (ui/serve.py --mock), through
chromedriver's plain WebDriver HTTP API (no selenium needed). For looking at the design; the real
end-to-end test drives the built app with tauri-driver.

Usage: python3 ui/dev/shots.py OUT_DIR [base_url] [--bn]"""
import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots"
BASE = next((a for a in sys.argv[2:] if a.startswith("http")), "http://127.0.0.1:8765/")
BN = "--bn" in sys.argv
AXE = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--axe=")), None)
FOUND = []
PORT = 9517


def req(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method,
                               headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path} {body}: {e.read()[:400]!r}")


def main():
    os.makedirs(OUT, exist_ok=True)
    drv = subprocess.Popen(["chromedriver", f"--port={PORT}"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]}}}}
        sid = req("POST", "/session", caps)["value"]["sessionId"]
        s = f"/session/{sid}"

        def size(w, h):
            req("POST", f"{s}/window/rect", {"width": w, "height": h})

        def go(url):
            req("POST", f"{s}/url", {"url": url})
            time.sleep(0.8)

        def click(id_):
            # Scrolled to the middle first: at phone width the tab bar covers the bottom edge.
            req("POST", f"{s}/execute/sync", {"script": "document.getElementById(arguments[0])"
                ".scrollIntoView({block: 'center'})", "args": [id_]})
            el = req("POST", f"{s}/element", {"using": "css selector", "value": f"#{id_}"})["value"]
            eid = list(el.values())[0]
            req("POST", f"{s}/element/{eid}/click", {})
            time.sleep(0.5)

        def typ(id_, text):
            el = req("POST", f"{s}/element", {"using": "css selector", "value": f"#{id_}"})["value"]
            eid = list(el.values())[0]
            req("POST", f"{s}/element/{eid}/value", {"text": text})
            time.sleep(0.3)

        def shot(name):
            png = base64.b64decode(req("GET", f"{s}/screenshot")["value"])
            with open(os.path.join(OUT, name + ".png"), "wb") as f:
                f.write(png)
            if AXE:
                with open(AXE, encoding="utf-8") as f:
                    req("POST", f"{s}/execute/sync", {"script": f.read() + "; return true;", "args": []})
                res = req("POST", f"{s}/execute/async", {"script": (
                    "const done = arguments[arguments.length - 1];"
                    "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
                    "v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map("
                    "n => n.target.join(' '))}))));"), "args": []})["value"]
                if os.environ.get("AXE_ALL"):
                    print(name, [(v["impact"], v["id"]) for v in res])
                for v in res:
                    if v["impact"] in ("critical", "serious"):
                        FOUND.append((name, v))
                        print(f"{name}: {v['impact']} {v['id']}: {v['help']} {v['nodes']}")

        def js(script):
            return req("POST", f"{s}/execute/sync", {"script": script, "args": []})["value"]

        for (w, h, tag) in [(1280, 800, "wide"), (390, 844, "phone")]:
            size(w, h)
            lang = "bn" if BN else "en"
            go(BASE + "?state=no_wallet")
            js(f"localStorage.setItem('spondon.lang', '{lang}')")
            go(BASE + "?state=no_wallet")
            typ("create-passphrase", "correct horse battery")
            shot(f"{tag}-01-first-run")
            click("first-run-restore")
            shot(f"{tag}-01b-restore")
            go(BASE + "?state=locked")
            shot(f"{tag}-02-unlock")
            go(BASE + "?state=unlocked")
            shot(f"{tag}-03-records")
            click("sync-button")
            time.sleep(0.4)
            shot(f"{tag}-03b-sync")
            time.sleep(2)
            click("record-r1")
            click("proof-toggle")
            shot(f"{tag}-04-record")
            click("record-back")
            click("record-r2")
            shot(f"{tag}-04b-prescription")
            click("nav-hospitals")
            shot(f"{tag}-05-hospitals")
            click("nav-share")
            click("doctor-0")
            click("scope-lab_result")
            typ("share-passphrase", "x")
            shot(f"{tag}-06-share")
            click("share-create")
            time.sleep(1.2)
            shot(f"{tag}-06b-share-qr")
            if tag == "phone":
                click("nav-more")
                shot(f"{tag}-07a-more")
            click("nav-grants")
            shot(f"{tag}-07-grants")
            if tag == "phone":
                click("nav-more")
            click("nav-access")
            shot(f"{tag}-08-access")
            if tag == "phone":
                click("nav-more")
            click("nav-export")
            click("export-select-all")
            shot(f"{tag}-09-export")
            if tag == "phone":
                click("nav-more")
            click("nav-import")
            shot(f"{tag}-10-import")
            if tag == "phone":
                click("nav-more")
            click("nav-settings")
            shot(f"{tag}-11-settings")
        req("DELETE", s)
    finally:
        drv.terminate()
    if AXE:
        print(f"axe: {len(FOUND)} critical or serious violations")


if __name__ == "__main__":
    main()
