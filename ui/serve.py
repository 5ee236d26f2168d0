#!/usr/bin/env python3
"""Serves ui/dist for looking at the UI in a browser, with the app's strict CSP as a header (so a
violation shows up here as it would in the app). With --mock, the page also loads ui/dev/mock-tauri.js
(a stand-in for the shell with sample data). Usage: python3 ui/serve.py [--mock] [port]"""
import functools
import http.server
import os
import sys

CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
       "font-src 'self'; img-src 'self' data:")


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript",
                      ".woff2": "font/woff2"}

    def do_GET(self):
        path = self.path.split("?")[0]
        if MOCK and path in ("/", "/index.html"):
            with open(os.path.join(DIST, "index.html"), encoding="utf-8") as f:
                html = f.read().replace(
                    '<script type="module" src="boot.js">',
                    '<script src="mock-tauri.js"></script>\n  <script type="module" src="boot.js">')
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if MOCK and path == "/mock-tauri.js":
            with open(os.path.join(HERE, "dev", "mock-tauri.js"), "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self):
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


HERE = os.path.dirname(os.path.abspath(__file__))
DIST = os.path.join(HERE, "dist")
MOCK = "--mock" in sys.argv

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--mock"]
    port = int(args[0]) if args else 8765
    handler = functools.partial(Handler, directory=DIST)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
