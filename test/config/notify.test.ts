import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { NOTIFY_EVENTS, redactedUrl } from '../../src/config/notify.js';
import { configProblems } from '../support/config-problems.js';

const TOKEN = 'sEcReT-t0ken';

const problems = configProblems;

describe('config: notify', () => {
  test('none by default; with a webhook, every event, its defaults, and the URL kept as a secret', () => {
    const none = parseConfig('', '/etc/x/c.yaml').notify;
    assert.equal(none.webhook, undefined);
    assert.equal(none.exec, undefined);
    assert.equal(none.ping, undefined);
    const c = parseConfig(`notify:\n  webhook:\n    url: https://hooks.example.com/x/${TOKEN}?k=${TOKEN}\n`, '/etc/x/c.yaml').notify;
    assert.deepEqual(c.events, [...NOTIFY_EVENTS]);
    assert.equal(c.queueSize, 100);
    assert.equal(c.webhook!.timeout, 10_000);
    assert.equal(c.webhook!.retries, 5);
    assert.equal(c.webhook!.url.reveal(), `https://hooks.example.com/x/${TOKEN}?k=${TOKEN}`);
    assert.equal(c.webhook!.url.source, 'https://hooks.example.com/…');
    assert.doesNotMatch(JSON.stringify(c), new RegExp(TOKEN));
    assert.doesNotMatch(inspect(c, { depth: 5 }), new RegExp(TOKEN));
  });

  test('redacted: scheme, host and port only', () => {
    assert.equal(redactedUrl(new URL('https://u:p@hooks.example.com:8443/a/b?c=d')), 'https://hooks.example.com:8443/…');
    assert.equal(redactedUrl(new URL('https://hooks.example.com')), 'https://hooks.example.com/');
    assert.equal(redactedUrl(new URL('http://127.0.0.1:9/?t=x')), 'http://127.0.0.1:9/…');
  });

  test('a URL that cannot be used is refused without being repeated', () => {
    const said = problems(`notify:\n  webhook:\n    url: "not a url ${TOKEN}"\n  ping:\n    url: "ftp://example.com/${TOKEN}"\n`);
    assert.deepEqual(said, [
      '/etc/x/c.yaml:3: notify.webhook.url: expected an http:// or https:// URL (the value is not repeated here: it may hold a secret token)',
      '/etc/x/c.yaml:5: notify.ping.url: expected an http:// or https:// URL, not ftp://',
    ]);
  });

  test('http:// only to loopback, unless allowed', () => {
    assert.deepEqual(problems(`notify:\n  webhook:\n    url: http://hooks.example.com/${TOKEN}\n`), [
      '/etc/x/c.yaml:3: notify.webhook.url: http:// sends the events (userids, errors) in clear text to a host that is not loopback; use https://, or set notify.allowInsecure: true',
    ]);
    assert.deepEqual(problems(`notify:\n  allowInsecure: true\n  webhook:\n    url: http://hooks.example.com/${TOKEN}\n`), []);
    assert.deepEqual(problems('notify:\n  ping:\n    url: http://127.0.0.1:8000/ping/abc\n'), []);
    assert.deepEqual(problems('notify:\n  ping:\n    url: http://[::1]:8000/ping/abc\n'), []);
  });

  test('timeouts from 1s to 10m, retries 0 to 10, an absolute program, known events', () => {
    const said = problems(
      [
        'notify:',
        '  events: [user.failing, user.lost]',
        '  webhook:',
        '    url: https://h.example.com/',
        '    timeout: 5ms',
        '    retries: 11',
        '  exec:',
        '    command: [notify-admins]',
        '    timeout: 1h',
        '  ping:',
        '    url: https://hc-ping.com/x',
        '    timeout: 10',
      ].join('\n'),
    );
    assert.equal(said.length, 6, said.join('\n'));
    assert.match(said[0]!, /notify\.events\[1\]: expected one of: user\.failing, /);
    assert.match(said[1]!, /notify\.webhook\.timeout: 5ms is below the least webhook timeout that can work, 1s: /);
    assert.match(said[2]!, /notify\.webhook\.retries: expected a number of retries, 0 to 10/);
    assert.match(said[3]!, /notify\.exec\.command: expected the program as an absolute path/);
    assert.match(said[4]!, /notify\.exec\.timeout: expected a command timeout of at most 10m/);
    assert.match(said[5]!, /notify\.ping\.timeout: expected a ping timeout duration with a unit/);
  });

  test('an exec command is a list of words, never a string for a shell', () => {
    assert.match(problems('notify:\n  exec:\n    command: "/usr/bin/notify --all"\n').join('\n'), /notify\.exec\.command: expected the command as a list of words/);
  });
});
