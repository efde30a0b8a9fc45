"""Slack's own Bolt frameworks in HTTP mode behind `phantom-fsm run --forward-url`, against
`phantom-fsm sim`: the bridge's requests must be exactly what Bolt accepts from Slack.

Usage: python bridge_check.py PHANTOM_BIN PEER -- APP_COMMAND...
The app command gets SIGNING_SECRET API_URL BOT_TOKEN PORT appended and prints one JSON line
per handler call. Standard library only; every wait is bounded; exits non-zero on the first
failed check, printing what it saw.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SECRET = "ci-bridge-signing-secret"
WAIT = 30.0


def log(msg):
    print(f"bridge_check: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(f"FAILED: {msg}")
    sys.exit(1)


class Proc:
    """A child process whose stdout lines are collected by a thread."""

    def __init__(self, cmd, env=None):
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, env=env)
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def until(what, probe, bound=WAIT):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    fail(f"timed out waiting for {what}")


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def line_value(lines, prefix):
    for line in lines:
        if line.startswith(prefix):
            return line[len(prefix):]
    return None


def handler_calls(app, handler=None):
    calls = []
    for line in app.snapshot():
        try:
            fact = json.loads(line)
        except ValueError:
            continue
        if isinstance(fact, dict) and "handler" in fact and fact["handler"] != "start":
            if handler is None or fact["handler"] == handler:
                calls.append(fact)
    return calls


class Runtime:
    """`phantom-fsm run --forward-url` with its own data dir."""

    def __init__(self, binary, sim, app_url, secret):
        self.dir = tempfile.mkdtemp(prefix="bridge-check-")
        self.proc = Proc([binary, "run", "--slack-api-url", sim["api_url"],
                          "--app-token", sim["app_token"], "--bot-token", sim["bot_token"],
                          "--data-dir", self.dir, "--listen", "127.0.0.1:0",
                          "--forward-url", app_url, "--signing-secret", secret,
                          "--log-format", "json"])
        self.listen = until("listen= from phantom-fsm run",
                            lambda: line_value(self.proc.snapshot(), "listen="))
        until("the runtime connected", lambda: self.metric(
            'phantom_slack_socket_state{state="connected"}') == 1.0)

    def metric(self, series):
        try:
            text = http("GET", f"http://{self.listen}/metrics")
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return None

    def stop(self):
        self.proc.stop()
        out = "\n".join(self.proc.snapshot())
        if SECRET in out:
            fail("the signing secret appeared in phantom-fsm's output")


def main():
    binary, peer = sys.argv[1], sys.argv[2]
    app_cmd = sys.argv[sys.argv.index("--") + 1:]

    sim_proc = Proc([binary, "sim", "--listen", "127.0.0.1:0", "--rate", "0",
                     "--retry-scale", "0.01"])
    procs = [sim_proc]
    try:
        lines = until("the simulator's banner", lambda: (lambda l: l if len(l) >= 3 else None)(
            sim_proc.snapshot()))
        api_url = line_value(lines, "api_url=")
        control = line_value(lines, "control_url=").rstrip("/")
        tokens = re.search(r"app_token=(\S+) bot_token=(\S+)", "\n".join(lines))
        sim = {"api_url": api_url, "app_token": tokens.group(1), "bot_token": tokens.group(2)}

        port = free_port()
        app = Proc(app_cmd + [SECRET, api_url, sim["bot_token"], str(port)])
        procs.append(app)
        start = until(f"{peer} to start", lambda: next(
            (json.loads(l) for l in app.snapshot() if '"handler": "start"' in l
             or '"handler":"start"' in l), None))
        log(f"{peer} {start.get('version')} started on port {port}")
        app_url = f"http://127.0.0.1:{port}/slack/events"

        def connectable():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        until(f"{peer} to listen", connectable)

        def push(kind, count=1):
            return json.loads(http("POST", f"{control}/push",
                                   {"count": count, "kind": kind}))["envelope_ids"]

        def ack_of(envelope_id):
            def probe():
                acks = json.loads(http("GET", f"{control}/acks"))["acks"]
                return next((a for a in acks if a["envelope_id"] == envelope_id), None)
            return until(f"the ack of {envelope_id}", probe)

        # 1. A wrong signing secret: Bolt answers 401, no handler runs, counted http_error.
        wrong = Runtime(binary, sim, app_url, "not-the-" + SECRET)
        procs.append(wrong.proc)
        push("events_api", 2)
        push("slash_commands")
        until("three http_error requests", lambda: wrong.metric(
            'phantom_bridge_requests_total{outcome="http_error"}') == 3.0)
        if wrong.metric('phantom_bridge_requests_total{outcome="ok"}') != 0.0:
            fail("a wrongly signed request was accepted")
        wrong.stop()
        if handler_calls(app):
            fail(f"a handler ran for a wrongly signed request: {handler_calls(app)}")
        log("wrong secret: Bolt refused every request (401, counted http_error), no handler ran")

        # 2. The right secret.
        rt = Runtime(binary, sim, app_url, SECRET)
        procs.append(rt.proc)
        push("events_api", 2)
        mentions = until("an app_mention handler call", lambda: handler_calls(app, "app_mention"))
        time.sleep(1.0)  # a duplicate call would show up within this second
        mentions = handler_calls(app, "app_mention")
        ids = [m["event_id"] for m in mentions]
        if len(ids) != len(set(ids)) or len(ids) != 1:
            fail(f"app_mention handler calls: {mentions}")
        if mentions[0]["retry_num"] is not None:
            fail(f"a first delivery carried retry headers: {mentions[0]}")
        log("app_mention: its handler ran once")

        command = push("slash_commands")[0]
        ack = ack_of(command)
        if ack["payload"] != {"text": "pong 1"} or ack["payload_error"] is not None:
            fail(f"slash command ack: {ack}")
        log(f"slash command: ack('pong 1') reached the simulator inside the ack: {ack['payload']}")

        suggestion = push("block_suggestion")[0]
        ack = ack_of(suggestion)
        if not (ack["payload"] or {}).get("options") or ack["payload_error"] is not None:
            fail(f"block_suggestion ack: {ack}")
        log(f"block_suggestion: options inside the ack: {ack['payload']}")

        submission = push("view_submission")[0]
        ack = ack_of(submission)
        payload = ack["payload"] or {}
        if payload.get("response_action") != "errors" or not payload.get("errors") \
                or ack["payload_error"] is not None:
            fail(f"view_submission ack: {ack}")
        log(f"view_submission: response_action errors inside the ack: {payload}")

        slow = push("slash_commands")[0]
        ack = ack_of(slow)
        if ack["payload"] is not None or ack["latency_us"] > 2_600_000:
            fail(f"a handler slower than the deadline: {ack}")
        log(f"slow handler: empty ack after {ack['latency_us'] / 1e6:.2f} s")

        # A retried event: the link goes silent, the envelope is lost, Slack re-delivers it on
        # the new link with retry_attempt >= 1 (reason timeout); Bolt must see the retry headers.
        http("POST", f"{control}/silence", {})
        push("events_api", 2)
        retried = until("an app_mention with retry headers", lambda: next(
            (m for m in handler_calls(app, "app_mention") if m["retry_num"] is not None), None),
            bound=60.0)
        # Which attempt gets through depends on when the runtime notices the silence.
        if retried["retry_num"] not in ("1", "2", "3") or retried["retry_reason"] != "timeout":
            fail(f"retry headers: {retried}")
        log(f"retried event: X-Slack-Retry-Num {retried['retry_num']}, "
            f"X-Slack-Retry-Reason {retried['retry_reason']}")

        ok = rt.metric('phantom_bridge_requests_total{outcome="ok"}')
        refused = rt.metric('phantom_bridge_requests_total{outcome="refused"}')
        if not ok or refused != 0.0:
            fail(f"bridge counts: ok={ok} refused={refused}")
        rt.stop()
        log(f"{peer} {start.get('version')}: passed (ok={ok:.0f})")
    finally:
        for p in reversed(procs):
            p.stop()


if __name__ == "__main__":
    main()
