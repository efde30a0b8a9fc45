"""Slack's official Python Socket Mode client (slack_sdk's aiohttp client), acking every
envelope on receipt, printing nothing. Driven by `bench measure` through SLACK_API_URL /
SLACK_APP_TOKEN."""

import asyncio
import os

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient


async def main():
    web = AsyncWebClient(base_url=os.environ["SLACK_API_URL"])
    client = SocketModeClient(app_token=os.environ["SLACK_APP_TOKEN"], web_client=web)

    async def ack(client, req):
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client.socket_mode_request_listeners.append(ack)
    await client.connect()
    await asyncio.Event().wait()


asyncio.run(main())
