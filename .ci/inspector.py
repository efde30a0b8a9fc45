#!/usr/bin/env python3
"""Drive the live inspector (/debug/ui) in headless Chromium over the WebDriver HTTP protocol.

Usage: inspector.py BIN SCREENSHOT

Starts `BIN sim` and `BIN run` against it, then chromedriver, and checks in the browser:
  1. the socket diagram's `connected` node is lit within a few seconds of loading the page;
  2. a refresh handover (the sim's /_sim/disconnect, reason refresh_requested) shows as
     handovers = 1 without a reload, and a dropped link (/_sim/drop) puts
     `connected -> reconnecting` at the top of the journal tail and lights `connected` again;
  3. the stream drops (the run is restarted on the same port) and the page reconnects by
     itself: the journal shows the new run's `disconnected -> connecting` row;
  4. after the intro DM, the onboarding machine's `complete` node is lit;
  5. the browser console has no error (before the deliberate drop; after it, only the
     refused reconnection attempts of the drop itself).
Saves a screenshot to SCREENSHOT. Every wait polls with a deadline. Stdlib only.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN, SCREENSHOT = sys.argv[1], sys.argv[2]
DEADLINE = 20.0


def log(msg):
    print(f"inspector: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode()
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        raise RuntimeError(f"{method} {url}: HTTP {e.code}: {text[:500]}") from None
    return json.loads(text) if text else None


def wait_for(what, probe, deadline=DEADLINE):
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        try:
            last = probe()
            if last:
                return last
        except (OSError, RuntimeError) as e:
            last = e
        time.sleep(0.1)
    raise SystemExit(f"inspector: FAILED: {what} (within {deadline} s; last: {last!r})")


class Proc:
    def __init__(self, args, name):
        self.out = tempfile.NamedTemporaryFile(prefix=f"inspector-{name}-", delete=False)
        self.p = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)
        self.name = name

    def text(self):
        with open(self.out.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class Browser:
    def __init__(self, driver):
        self.driver = driver
        profile = tempfile.mkdtemp(prefix="inspector-chromium-")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": shutil.which("chromium") or "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1500,1150",
                         f"--user-data-dir={profile}"],
            },
        }}}
        self.session = http("POST", f"{driver}/session", caps, timeout=60)["value"]["sessionId"]
        self.base = f"{driver}/session/{self.session}"

    def go(self, url):
        http("POST", f"{self.base}/url", {"url": url})

    def js(self, script):
        return http("POST", f"{self.base}/execute/sync", {"script": script, "args": []})["value"]

    def find(self, css):
        try:
            return http("POST", f"{self.base}/element", {"using": "css selector", "value": css})
        except RuntimeError:
            return None

    def console(self):
        return http("POST", f"{self.base}/se/log", {"type": "browser"})["value"]

    def screenshot(self, path):
        png = base64.b64decode(http("GET", f"{self.base}/screenshot")["value"])
        with open(path, "wb") as f:
            f.write(png)

    def quit(self):
        try:
            http("DELETE", self.base)
        except (OSError, RuntimeError):
            pass


def journal_top():
    return "(tr => tr ? [...tr.cells].map(c => c.textContent) : null)" \
           "(document.querySelector('#journal tr'))"


def lit(machine):
    return f"(n => n && n.dataset.state)(document.querySelector('#m-{machine} g.node.lit'))"


def main():
    data_dir = tempfile.mkdtemp(prefix="inspector-data-")
    sim = Proc([BIN, "sim", "--listen", "127.0.0.1:0", "--rate", "2"], "sim")
    procs = [sim]
    browser = None
    try:
        lines = wait_for("the simulator's token line", lambda: (
            len(sim.text().splitlines()) >= 3 and sim.text().splitlines()))
        api_url = lines[0].removeprefix("api_url=")
        control = lines[1].removeprefix("control_url=")
        tokens = dict(kv.split("=", 1) for kv in lines[2].split())
        listen = f"127.0.0.1:{free_port()}"
        base = f"http://{listen}"

        def start_run():
            # The simulator's installing user: the run sends the intro DM, so the onboarding
            # diagram has a state to light.
            env = dict(os.environ, SLACK_APP_TOKEN=tokens["app_token"],
                       SLACK_BOT_TOKEN=tokens["bot_token"],
                       SLACK_INSTALLER_USER_ID="U0SIMUSER1")
            p = subprocess.Popen([BIN, "run", "--slack-api-url", api_url, "--data-dir", data_dir,
                                  "--listen", listen], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            wait_for("phantom-fsm run serving /health",
                     lambda: http("GET", f"{base}/health", timeout=2))
            return p

        run = start_run()
        port = free_port()
        driver = Proc(["chromedriver", f"--port={port}"], "chromedriver")
        procs.append(driver)
        driver_url = f"http://127.0.0.1:{port}"
        wait_for("chromedriver ready", lambda: http("GET", f"{driver_url}/status",
                                                    timeout=2)["value"]["ready"])
        browser = Browser(driver_url)
        browser.go(f"{base}/debug/ui")

        # 1. The connected node is lit.
        started = time.monotonic()
        wait_for("the connected node lit", lambda: browser.find(
            '#m-socket_mode g.node.lit[data-state="connected"]'), deadline=10)
        log(f"connected lit {time.monotonic() - started:.1f} s after loading the page")
        wait_for("the stream live", lambda: browser.js(
            "return document.getElementById('stream').textContent") == "live")

        # 2. A refresh handover, then a dropped link, both without a reload.
        marker = browser.js("window.__marker = 1; return 1")
        http("POST", f"{control}disconnect",
             {"reason": "refresh_requested", "cut_after_ms": 10000})
        wait_for("handovers = 1 on the page", lambda: browser.js(
            "return document.getElementById('handovers').textContent") == "1")
        wait_for("links 1 / 0 / 0 after the handover", lambda: browser.js(
            "return document.getElementById('links').textContent") == "1 / 0 / 0")
        http("POST", f"{control}drop", {})
        wait_for("connected -> reconnecting in the journal tail", lambda: any(
            r == "connected → reconnecting" for r in browser.js(
                "return [...document.querySelectorAll('#journal tr')].map(r => r.cells[2].textContent)")))
        wait_for("connected lit again", lambda: browser.js(f"return {lit('socket_mode')}")
                 == "connected")
        assert browser.js("return window.__marker") == marker, "the page was reloaded"
        top = browser.js(f"return {journal_top()}")
        log(f"journal top after the drop: {top}")

        # 4. Onboarding: the run was given the installer, so the intro DM is sent and the
        # ledger's `complete` node lit.
        state = http("GET", f"{base}/debug/state")
        assert any(m["machine"] == "onboarding" for m in state["machines"]), \
            "the onboarding machine is not in /debug/state"
        wait_for("onboarding complete lit", lambda: browser.js(
            f"return {lit('onboarding')}") == "complete")
        log("onboarding complete lit")

        # 5. No console error so far.
        errors = [e for e in browser.console() if e.get("level") == "SEVERE"]
        if errors:
            raise SystemExit(f"inspector: FAILED: console errors: {errors}")
        browser.screenshot(SCREENSHOT)
        log(f"screenshot saved to {SCREENSHOT}")

        # 3. The stream drops (restart on the same port); the page reconnects by itself.
        seq_before = browser.js("return +document.querySelector('#journal tr').dataset.seq")
        run.terminate()
        run.wait(timeout=15)
        wait_for("the page sees the stream down", lambda: browser.js(
            "return document.getElementById('stream').textContent") == "down")
        run = start_run()
        wait_for("the stream live again", lambda: browser.js(
            "return document.getElementById('stream').textContent") == "live")
        wait_for("the new run's rows in the journal", lambda: browser.js(
            "return [...document.querySelectorAll('#journal tr')].some(r => "
            f"+r.dataset.seq > {seq_before} && r.cells[2].textContent === 'disconnected → connecting')"))
        wait_for("connected lit after the restart", lambda: browser.find(
            '#m-socket_mode g.node.lit[data-state="connected"]'))
        assert browser.js("return window.__marker") == marker, "the page was reloaded"
        others = [e for e in browser.console() if e.get("level") == "SEVERE"
                  and "/debug/events" not in e.get("message", "")]
        if others:
            raise SystemExit(f"inspector: FAILED: console errors after the drop: {others}")
        run.terminate()
        run.wait(timeout=15)
        log("passed")
    finally:
        if browser:
            browser.quit()
        for p in procs:
            p.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


main()
