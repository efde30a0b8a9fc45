"""A small Bolt for Python app in HTTP mode, unmodified for Socket Mode: `.ci/bridge.sh` runs it
behind `phantom-fsm run --forward-url` against `phantom-fsm sim`.

Usage: python bolt_app.py SIGNING_SECRET API_URL BOT_TOKEN PORT
Prints one JSON line per handler call: {"peer": "bolt-python", "handler": ...}. The second
slash command it sees answers only after 3.5 s (slower than Slack's ack deadline).
"""

import json
import re
import sys
import threading
import time
from importlib.metadata import version

from slack_bolt import App
from slack_sdk import WebClient

_OUT = threading.Lock()
_COMMANDS = [0]


def say(handler, **extra):
    line = json.dumps({"peer": "bolt-python", "handler": handler, **extra}) + "\n"
    with _OUT:
        sys.stdout.write(line)
        sys.stdout.flush()


def main():
    secret, api_url, bot_token, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    app = App(
        signing_secret=secret,
        client=WebClient(token=bot_token, base_url=api_url),
        token_verification_enabled=False,
    )

    @app.event("app_mention")
    def mention(body, request):
        retry = request.headers.get("x-slack-retry-num", [None])[0]
        reason = request.headers.get("x-slack-retry-reason", [None])[0]
        say("app_mention", event_id=body["event_id"], retry_num=retry, retry_reason=reason)

    @app.event("message")
    def message(body):
        say("message", event_id=body["event_id"])

    @app.command(re.compile(".*"))
    def command(ack, body):
        with _OUT:
            _COMMANDS[0] += 1
            n = _COMMANDS[0]
        if n == 2:
            time.sleep(3.5)
        ack(f"pong {n}")
        say("command", n=n, trigger_id=body["trigger_id"])

    @app.options(re.compile(".*"))
    def options(ack, body):
        ack(options=[{"text": {"type": "plain_text", "text": "one"}, "value": "1"}])
        say("options", action_id=body["action_id"])

    @app.view(re.compile(".*"))
    def view(ack, body):
        ack(response_action="errors", errors={"sim-input": "not good enough"})
        say("view_submission", view_id=body["view"]["id"])

    say("start", version=version("slack_bolt"))
    app.start(port=port, path="/slack/events")


if __name__ == "__main__":
    main()
