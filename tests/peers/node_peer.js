// Slack's official Node Socket Mode client (@slack/socket-mode) against `phantom-fsm sim`.
// Usage: node node_peer.js API_URL APP_TOKEN SECONDS
// Prints one JSON line per fact: {"peer":"node","event":...}. Acks every envelope it gets.
'use strict';
const { SocketModeClient } = require('@slack/socket-mode');

const [apiUrl, appToken, seconds] = process.argv.slice(2);
const say = (event, extra = {}) =>
  console.log(JSON.stringify({ peer: 'node', event, ...extra }));

const client = new SocketModeClient({
  appToken,
  clientOptions: { slackApiUrl: apiUrl },
  logLevel: 'error',
});

let connects = 0;
client.on('connected', () => say('connected', { n: ++connects }));
client.on('disconnected', () => say('disconnected'));
client.on('slack_event', async ({ ack, envelope_id, type, body, retry_num }) => {
  await ack();
  say('acked', { envelope_id, type, event_id: body && body.event_id, retry_num });
});

const version = require('@slack/socket-mode/package.json').version;
say('start', { version });
client.start().catch((e) => {
  say('start_failed', { error: String(e) });
  process.exit(2);
});
setTimeout(async () => {
  await client.disconnect().catch(() => {});
  say('done', { connects });
  process.exit(0);
}, Number(seconds) * 1000);
