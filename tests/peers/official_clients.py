"""Faithfulness check: Slack's official Socket Mode clients against `phantom-fsm sim`.

Runs one peer (a small script using Slack's own client), waits for it to connect and ack
pushed envelopes, asks the simulator for a `refresh_requested` disconnect, pushes three mixed
envelopes during the refresh, waits for the peer to reconnect and ack again, lets Slack's
retries settle, then checks the simulator's own log: the acks are there with their latency,
and a new link was opened after the disconnect. It reports how many envelopes the simulator
counted as lost (Slack keeps no backlog, never retries commands and interactions, and a link
dropped without a close handshake swallows what is sent to it). Every wait is bounded.

Usage: official_clients.py CONTROL_URL API_URL APP_TOKEN NAME -- PEER_COMMAND...
Prints a one-line JSON summary; exits non-zero (with the reason) on any failure.
Standard library only.
"""

import json
import queue
import subprocess
import sys
import threading
import time
import urllib.request

STEP_TIMEOUT = 30.0  # seconds for each wait
SETTLE_TIMEOUT = 60.0  # seconds for pending acks and scheduled retries to run out
PEER_SECONDS = 150  # the peer exits by itself after this, whatever happens


def control(base, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def fail(name, reason, lines):
    print(f"FAIL [{name}]: {reason}", file=sys.stderr)
    for line in lines[-40:]:
        print(f"  peer> {line}", file=sys.stderr)
    sys.exit(1)


class Peer:
    """The peer process and the JSON lines it prints."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        self.lines = []
        self.events = []
        self.queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append(event)
            self.queue.put(event)

    def wait(self, name, what, pred):
        deadline = time.monotonic() + STEP_TIMEOUT
        while not pred(self.events):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and self.queue.empty():
                fail(name, f"timed out waiting for {what}", self.lines)
            try:
                self.queue.get(timeout=min(left, 0.5))
            except queue.Empty:
                pass

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def count(events, kind):
    return sum(1 for e in events if e.get("event") == kind)


def main():
    args = sys.argv[1:]
    split = args.index("--")
    control_url, api_url, app_token, name = args[:split]
    peer_cmd = args[split + 1 :] + [api_url, app_token, str(PEER_SECONDS)]

    state = control(control_url, "state")
    since, lost_before = state["last_seq"], state["lost"]
    peer = Peer(peer_cmd)
    try:
        peer.wait(name, "the first hello", lambda ev: count(ev, "connected") >= 1)
        control(control_url, "push", {"count": 3, "kind": "mixed"})
        peer.wait(name, "3 acks", lambda ev: count(ev, "acked") >= 3)
        acks_before = count(peer.events, "acked")
        resp = control(control_url, "disconnect", {"reason": "refresh_requested"})
        if resp.get("links", 0) < 1:
            fail(name, f"no link took the disconnect: {resp}", peer.lines)
        # Traffic does not stop for a refresh: what does the client lose?
        control(control_url, "push", {"count": 3, "kind": "mixed"})
        peer.wait(name, "a reconnect", lambda ev: count(ev, "connected") >= 2)
        control(control_url, "push", {"count": 3, "kind": "events_api"})
        peer.wait(
            name,
            "acks after the reconnect",
            lambda ev: count(ev, "acked") >= acks_before + 3,
        )
        settle(control_url, name, peer)
    finally:
        peer.stop()
    summary = verify(control_url, since, name, peer)
    lost_after = control(control_url, "state")["lost"]
    summary["lost_by_simulator"] = {k: lost_after[k] - lost_before.get(k, 0) for k in lost_after}
    print(json.dumps(summary))


def settle(control_url, name, peer):
    """Wait until no envelope awaits an ack and no retry is scheduled."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        state = control(control_url, "state")
        if state["pending_acks"] == 0 and state["scheduled_retries"] == 0:
            return
        if time.monotonic() > deadline:
            fail(name, f"retries did not settle: {state}", peer.lines)
        time.sleep(0.2)


def verify(control_url, since, name, peer):
    """Check the simulator's own log against what the peer says it did."""
    records = control(control_url, f"log?since={since}&limit=100000")["records"]
    acks = {r["envelope_id"]: r for r in records if r["kind"] == "ack"}
    acked_by_peer = [e["envelope_id"] for e in peer.events if e.get("event") == "acked"]
    missing = [i for i in acked_by_peer if i not in acks]
    if missing:
        fail(name, f"acks the peer sent but the simulator never saw: {missing}", peer.lines)
    on_time = [a for a in acks.values() if a["outcome"] == "on_time"]
    if len(on_time) < 3:
        fail(name, f"only {len(on_time)} on-time acks in the simulator's log", peer.lines)
    disconnects = [
        r
        for r in records
        if r["kind"] == "frame_sent"
        and r["frame"] == "disconnect"
        and r["reason"] == "refresh_requested"
    ]
    if not disconnects:
        fail(name, "the simulator never sent refresh_requested", peer.lines)
    d = disconnects[0]
    reopened = [
        r
        for r in records
        if r["kind"] == "link_opened" and r["seq"] > d["seq"] and r["link"] != d["link"]
    ]
    if not reopened:
        fail(name, "no new link was opened after refresh_requested", peer.lines)
    new_link = reopened[0]["link"]
    acks_on_new = [a for a in acks.values() if a["link"] == new_link and a["outcome"] == "on_time"]
    if not acks_on_new:
        fail(name, f"no on-time ack on the new link L{new_link}", peer.lines)
    opens = [
        r
        for r in records
        if r["kind"] == "call" and r["method"] == "apps.connections.open" and r["ok"]
    ]
    start = next((e for e in peer.events if e.get("event") == "start"), {})
    kinds = lambda k: [r for r in records if r["kind"] == k]
    ghost_frames = [r for r in kinds("frame_sent") if r.get("lost") and r.get("envelope_id")]
    latencies = sorted(a["latency_us"] for a in on_time)
    return {
        "peer": name,
        "version": start.get("version"),
        "acks_seen_by_simulator": len(acks),
        "on_time_acks": len(on_time),
        "ack_outcomes": sorted({a["outcome"] for a in acks.values()}),
        "median_ack_latency_us": latencies[len(latencies) // 2],
        "with_payload": any(a["with_payload"] for a in acks.values()),
        "apps_connections_open_calls": len(opens),
        "disconnected_link": d["link"],
        "reconnected_link": new_link,
        "reconnect_ms": reopened[0]["at_ms"] - d["at_ms"],
        "acks_on_new_link": len(acks_on_new),
        "undeliverable_no_link": len(kinds("undeliverable")),
        "sent_to_dead_links": len(ghost_frames),
        "retries_scheduled": len(kinds("retry_scheduled")),
        "retried_events_acked": len([e for e in peer.events if e.get("retry_num")]),
        "ack_payload_errors": len(kinds("ack_payload_error")),
    }


if __name__ == "__main__":
    main()
