"""Slack's official Python Socket Mode client (slack_sdk, built-in WebSocket) against
`phantom-fsm sim`.

Usage: python python_peer.py API_URL APP_TOKEN SECONDS
Prints one JSON line per fact: {"peer": "python", "event": ...}. Acks every envelope it gets.
"""

import json
import sys
import threading
import time
from importlib.metadata import version

from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import WebClient


# slack_sdk calls listeners from several threads; print() writes the text and the newline
# separately, so two lines could interleave into one. One locked write per line.
_OUT = threading.Lock()


def say(event, **extra):
    line = json.dumps({"peer": "python", "event": event, **extra}) + "\n"
    with _OUT:
        sys.stdout.write(line)
        sys.stdout.flush()


def main():
    api_url, app_token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    say("start", version=version("slack_sdk"))
    client = SocketModeClient(app_token=app_token, web_client=WebClient(base_url=api_url))

    def on_request(client, req: SocketModeRequest):
        client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
        say(
            "acked",
            envelope_id=req.envelope_id,
            type=req.type,
            event_id=req.payload.get("event_id"),
            retry_num=req.retry_attempt,
        )

    def on_message(client, message, raw):
        if message.get("type") == "hello":
            say("connected", num_connections=message.get("num_connections"))
        elif message.get("type") == "disconnect":
            say("disconnect", reason=message.get("reason"))

    client.socket_mode_request_listeners.append(on_request)
    client.message_listeners.append(on_message)
    client.connect()
    time.sleep(seconds)
    client.close()
    say("done")


if __name__ == "__main__":
    main()
