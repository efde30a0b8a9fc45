// A small Bolt for JavaScript app in HTTP mode (its default receiver on /slack/events),
// unmodified for Socket Mode: `.ci/bridge.sh` runs it behind `phantom-fsm run --forward-url`
// against `phantom-fsm sim`.
//
// Usage: node bolt_app.js SIGNING_SECRET API_URL BOT_TOKEN PORT
// Prints one JSON line per handler call: {"peer": "bolt-js", "handler": ...}. The second slash
// command it sees answers only after 3.5 s (slower than Slack's ack deadline).
'use strict';

const { App, LogLevel } = require('@slack/bolt');
const { version } = require('@slack/bolt/package.json');

const [signingSecret, slackApiUrl, token, port] = process.argv.slice(2);

function say(handler, extra = {}) {
  process.stdout.write(`${JSON.stringify({ peer: 'bolt-js', handler, ...extra })}\n`);
}

const app = new App({
  signingSecret,
  token,
  tokenVerificationEnabled: false,
  clientOptions: { slackApiUrl },
  logLevel: LogLevel.WARN,
});

app.event('app_mention', async ({ body, context }) => {
  say('app_mention', {
    event_id: body.event_id,
    retry_num: context.retryNum === undefined ? null : String(context.retryNum),
    retry_reason: context.retryReason === undefined ? null : context.retryReason,
  });
});

app.event('message', async ({ body }) => {
  say('message', { event_id: body.event_id });
});

let commands = 0;
app.command(/.*/, async ({ ack, body }) => {
  commands += 1;
  const n = commands;
  if (n === 2) {
    await new Promise((resolve) => setTimeout(resolve, 3500));
  }
  await ack(`pong ${n}`);
  say('command', { n, trigger_id: body.trigger_id });
});

app.options(/.*/, async ({ ack, body }) => {
  await ack({ options: [{ text: { type: 'plain_text', text: 'one' }, value: '1' }] });
  say('options', { action_id: body.action_id });
});

app.view(/.*/, async ({ ack, body }) => {
  await ack({ response_action: 'errors', errors: { 'sim-input': 'not good enough' } });
  say('view_submission', { view_id: body.view.id });
});

(async () => {
  say('start', { version });
  await app.start(Number(port));
})();
