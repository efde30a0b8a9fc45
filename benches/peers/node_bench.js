// Slack's official Node Socket Mode client, acking every envelope on receipt, printing nothing.
// Driven by `bench measure` through SLACK_API_URL / SLACK_APP_TOKEN.
'use strict';
const { SocketModeClient } = require('@slack/socket-mode');
const client = new SocketModeClient({
  appToken: process.env.SLACK_APP_TOKEN,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
  logLevel: 'error',
});
client.on('slack_event', async ({ ack }) => { await ack(); });
client.start().catch((e) => { console.error(String(e)); process.exit(2); });
