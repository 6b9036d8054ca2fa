import { createHash } from 'node:crypto';
import { USER_STATES } from '../../staleness/user-state.js';

// The status page for people: one self-contained document (the backup server may have no internet, so
// no CDN and no build step). It fetches status/summary (a relative URL, so it works behind a proxy's
// path prefix) every few seconds and draws it with textContent only: userids and errors are never HTML.

const STYLE = `
:root { --fresh: #2e7d32; --stale: #e65100; --missing: #1565c0; --failing: #c62828; --unreadable: #ad1457;
  --orphan: #757575; --conflict: #6a1b9a; --damaged: #7f0000; --ink: #1f2328; --muted: #656d76; --line: #d8dee4; --card: #fff; --bg: #f3f5f7; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 14px 24px; background: #24292f; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header .sub { color: #c9d1d9; }
header .right { margin-left: auto; text-align: right; color: #c9d1d9; font-size: 12px; }
.pill { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 13px; }
.pill.ok { background: var(--fresh); color: #fff; }
.pill.bad { background: var(--failing); color: #fff; }
.pill.warn { background: var(--stale); color: #fff; }
.pill.wait { background: #57606a; color: #fff; }
main, .stack { display: grid; gap: 16px; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 32px; }
.banner { padding: 10px 14px; border-radius: 6px; border: 1px solid; }
.banner.bad { background: #ffebe9; border-color: #ff8182; }
.banner.note, .banner.warn { background: #fff8c5; border-color: #d4a72c; }
.banner ul { margin: 4px 0 0; padding-left: 20px; }
.tiles { display: grid; grid-template-columns: repeat(8, 1fr); gap: 12px; }
.tile { background: var(--card); border: 1px solid var(--line); border-top: 4px solid var(--c); border-radius: 6px; padding: 10px 12px; }
.tile .n { font-size: 30px; font-weight: 700; color: var(--c); font-variant-numeric: tabular-nums; }
.tile .name { font-weight: 600; }
.tile .what { color: var(--muted); font-size: 12px; }
.tile.zero .n { color: #afb8c1; }
.row { display: grid; grid-template-columns: 3fr 2fr; gap: 16px; align-items: start; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; min-width: 0; }
.card h2 { margin: 0 0 10px; font-size: 15px; }
.card h2 .aside { font-weight: 400; color: var(--muted); font-size: 13px; margin-left: 6px; }
.muted { color: var(--muted); }
.hist { display: flex; align-items: flex-end; gap: 10px; height: 190px; padding-top: 22px; }
.col { flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: flex-end; height: 100%; position: relative; }
.col .count { font-weight: 600; font-variant-numeric: tabular-nums; margin-bottom: 3px; }
.col .bar { width: 100%; max-width: 72px; min-height: 2px; background: var(--fresh); border-radius: 3px 3px 0 0; }
.col.stale .bar { background: var(--stale); }
.col.never .bar { background: var(--orphan); }
.col.never { margin-left: 12px; }
.col.limit::before { content: ""; position: absolute; left: -6px; top: -20px; bottom: 0; border-left: 2px dashed var(--failing); }
.col.limit::after { content: attr(data-limit); position: absolute; left: -2px; top: -22px; font-size: 11px; color: var(--failing); white-space: nowrap; }
.labels { display: flex; gap: 10px; border-top: 1px solid var(--line); padding-top: 4px; }
.labels span { flex: 1; text-align: center; font-size: 12px; color: var(--muted); white-space: nowrap; }
.labels span.never { margin-left: 12px; }
.progress { height: 14px; background: #eaeef2; border-radius: 7px; overflow: hidden; margin: 6px 0 8px; }
.progress div { height: 100%; background: var(--fresh); }
.big { font-size: 26px; font-weight: 700; color: var(--missing); font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); padding: 4px 8px 4px 0; }
td { border-bottom: 1px solid #eaeef2; padding: 5px 8px 5px 0; vertical-align: top; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.fill { width: 100%; max-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.fill.wrap { white-space: normal; overflow-wrap: anywhere; }
td.err { color: #57606a; }
.tool-problem { margin: 0 0 8px; color: var(--failing); font-weight: 600; }
#maintenance dl { margin-bottom: 10px; }
.state { display: inline-block; padding: 0 7px; border-radius: 999px; color: #fff; font-size: 12px; font-weight: 600; background: var(--c); }
.empty { color: var(--muted); font-style: italic; }
footer { text-align: center; color: var(--muted); font-size: 12px; }
footer a { color: inherit; }
@media (max-width: 900px) { .tiles { grid-template-columns: repeat(4, 1fr); } .row { grid-template-columns: 1fr; } }
`;

const SCRIPT = `
'use strict';
var REFRESH_MS = 10000;
var BAR_PX = 140;
var STATES = ${JSON.stringify(USER_STATES)};
var skew = 0;

function $(id) { return document.getElementById(id); }
function el(tag, props, children) {
  var e = document.createElement(tag);
  Object.keys(props || {}).forEach(function (k) {
    if (k === 'text') e.textContent = props[k];
    else if (k === 'class') e.className = props[k];
    else if (k.indexOf('data-') === 0 || k === 'title') e.setAttribute(k, props[k]);
    else e[k] = props[k];
  });
  (children || []).forEach(function (c) { if (c) e.appendChild(c); });
  return e;
}
function now() { return Date.now() + skew; }
function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
/** Two largest units, as the CLI shows ages: 3d 4h, 5h 2m, 42s. */
function age(seconds) {
  if (seconds === null || seconds === undefined) return 'never';
  var units = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  var s = Math.max(0, Math.floor(seconds));
  for (var i = 0; i < units.length; i++) {
    if (s < units[i][1] && i < units.length - 1) continue;
    var whole = Math.floor(s / units[i][1]);
    var next = units[i + 1];
    var part = next ? Math.floor((s - whole * units[i][1]) / next[1]) : 0;
    return whole + units[i][0] + (part > 0 ? ' ' + part + next[0] : '');
  }
  return '0s';
}
function clock(iso) {
  if (!iso) return '-';
  var d = new Date(iso);
  var time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return d.toDateString() === new Date(now()).toDateString() ? time : d.toLocaleDateString() + ' ' + time;
}
function relative(iso) {
  if (!iso) return '-';
  var diff = (Date.parse(iso) - now()) / 1000;
  if (Math.abs(diff) < 1) return 'now';
  return diff > 0 ? 'in ' + age(diff) : age(-diff) + ' ago';
}
function when(iso) { return iso ? clock(iso) + ' (' + relative(iso) + ')' : '-'; }
function statePill(state) {
  var p = el('span', { class: 'state', text: state });
  p.style.setProperty('--c', 'var(--' + state + ')');
  return p;
}
function attemptText(a) {
  if (!a) return '-';
  return a.outcome + ' ' + relative(a.startedAt) + (a.error ? ': ' + a.error : '');
}
function replace(id, node) { var old = $(id); old.replaceChildren(node); }
function table(headers, rows, empty) {
  if (rows.length === 0) return el('p', { class: 'empty', text: empty });
  return el('table', {}, [
    el('thead', {}, [el('tr', {}, headers.map(function (h) { return el('th', { text: h[0], class: h[1] || '' }); }))]),
    el('tbody', {}, rows.map(function (cells) { return el('tr', {}, cells); })),
  ]);
}
/** [name, value] rows as a definition list, each value findable by its name (data-key). */
function facts(rows) {
  return el('dl', {}, rows.flatMap(function (r) { return [el('dt', { text: r[0] }), el('dd', { text: r[1], 'data-key': r[0] })]; }));
}

function td(text, cls, title) { return el('td', { text: String(text), class: cls || '', title: title || String(text) }); }

/**
 * Red when /healthz answers 503 ("unhealthy"), or when a backup is damaged ("critical", as the Nagios check
 * says: part of it cannot be restored) though the scheduler itself works; amber while users need an admin
 * (failing, unreadable, in conflict, stale); green only when none of these.
 */
var ATTENTION = ['damaged', 'failing', 'unreadable', 'conflict', 'stale'];
var LEVELS = { bad: ['bad', 'unhealthy'], critical: ['bad', 'critical'], warn: ['warn', 'needs attention'], ok: ['ok', 'healthy'] };
function drawHealth(s) {
  var pill = $('health');
  var f = s.fleet;
  var attention = f ? ATTENTION.filter(function (state) { return f.counts[state] > 0; }).map(function (state) { return plural(f.counts[state], 'user') + ' ' + state; }) : [];
  var level = !s.health.healthy ? 'bad' : f && f.counts.damaged > 0 ? 'critical' : attention.length > 0 ? 'warn' : 'ok';
  pill.className = 'pill ' + LEVELS[level][0];
  pill.setAttribute('data-level', level);
  pill.textContent = LEVELS[level][1];
  var reasons = $('reasons');
  reasons.hidden = level === 'ok';
  reasons.className = 'banner ' + LEVELS[level][0];
  reasons.replaceChildren.apply(reasons, (s.health.healthy ? [] : [el('strong', { text: 'Unhealthy (/healthz answers 503):' }),
    el('ul', {}, s.health.reasons.map(function (r) { return el('li', { text: r }); }))]).concat(attention.length === 0 ? [] : [
    el('strong', { text: 'Users that need attention:' }), el('ul', {}, attention.map(function (r) { return el('li', { text: r }); }))]));
}

function drawTiles(f) {
  var what = {
    fresh: 'backed up within ' + age(f.maxAgeSeconds), stale: 'older than ' + age(f.maxAgeSeconds), missing: 'no backup yet',
    failing: 'attempts keep failing', unreadable: 'index cannot be read', orphan: 'on no IMAP server', conflict: 'on two IMAP servers',
    damaged: 'deep verification found it wrong',
  };
  replace('tiles', el('div', { class: 'tiles' }, STATES.map(function (state) {
    var n = f.counts[state];
    var tile = el('div', { class: 'tile' + (n === 0 ? ' zero' : ''), 'data-state': state }, [
      el('div', { class: 'n', text: String(n), 'data-count': state }),
      el('div', { class: 'name', text: state }),
      el('div', { class: 'what', text: what[state] }),
    ]);
    tile.style.setProperty('--c', 'var(--' + state + ')');
    return tile;
  })));
  $('total').textContent = plural(f.totalUsers, 'user') + ' · discovery ' + f.discovery;
  $('total').setAttribute('data-total', String(f.totalUsers));
  $('behind').textContent = f.behindSentence;
  $('behind').setAttribute('data-messages', String(f.behind.messages));
  // Only once anything was deep-verified or is damaged: without maintenance, nothing to say.
  $('deep').hidden = !f.deepVerifySentence;
  $('deep').textContent = f.deepVerifySentence || '';
}

function drawHistogram(f) {
  var most = Math.max.apply(null, [1].concat(f.ageBuckets.map(function (b) { return b.users; })));
  var firstStale = f.ageBuckets.findIndex(function (b) { return b.stale; });
  var cols = f.ageBuckets.map(function (b, i) {
    var never = i === f.ageBuckets.length - 1;
    var col = el('div', { class: 'col' + (b.stale ? ' stale' : '') + (never ? ' never' : '') + (i === firstStale ? ' limit' : ''), 'data-bucket': b.label, 'data-users': String(b.users) }, [
      el('div', { class: 'count', text: String(b.users) }),
      el('div', { class: 'bar', title: b.users + ' users: ' + b.label }),
    ]);
    if (i === firstStale) col.setAttribute('data-limit', 'maxAge ' + age(f.maxAgeSeconds));
    col.lastChild.style.height = Math.round((b.users / most) * BAR_PX) + 'px';
    return col;
  });
  var labels = f.ageBuckets.map(function (b, i) { return el('span', { text: b.label, class: i === f.ageBuckets.length - 1 ? 'never' : '' }); });
  replace('histogram', el('div', {}, [el('div', { class: 'hist' }, cols), el('div', { class: 'labels' }, labels),
    el('p', { class: 'muted', id: 'buckets-note', text: f.ageBucketsNote })]));
}

function drawBootstrap(f, s) {
  var b = f.bootstrap;
  // First-backup progress: full once nobody waits for a first backup.
  var share = b.users === 0 ? 1 : (b.users - b.missing) / b.users;
  var bar = el('div', { class: 'progress', title: Math.round(share * 100) + '%' }, [el('div')]);
  bar.firstChild.style.width = share * 100 + '%';
  var other = b.withoutBackupOtherwise > 0 ? plural(b.withoutBackupOtherwise, 'user') + ' without a backup are not waiting for a first one (failing, unreadable or in conflict: see the problems)' : '';
  var next = b.missing > 0
    ? (b.nextGroupAt && Date.parse(b.nextGroupAt) > now() ? 'next group ' + when(b.nextGroupAt)
      : s.scheduler.runningSince ? 'a group may be running now' : 'next group with the next cycle')
    : other ? 'no first backup waiting; ' + other : 'every user has a first backup';
  replace('bootstrap', el('div', {}, [
    el('div', {}, [el('span', { class: 'big', text: String(b.missing), 'data-missing': String(b.missing) }), el('span', { text: ' missing users left' })]),
    bar,
    el('div', { class: 'muted', id: 'bootstrap-words', text: b.backedUp + ' of ' + b.users + ' users have a backup · ' + next }),
  ]));
}

function bytes(n) {
  var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  var i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(1)) + units[i];
}

function drawPacing(s) {
  var p = s.pacing;
  $('pacing-card').hidden = p.windows.length === 0 && !p.firstBackupBudget;
  var rows = p.windows.map(function (w) {
    return [w.key + ' ' + w.window, w.open ? 'open, closes ' + when(w.closesAt) : 'closed, opens ' + when(w.opensAt)];
  });
  var b = p.firstBackupBudget;
  if (b) rows.push(['first-backup budget', bytes(b.usedBytes) + ' of ' + b.maxBytes + ' used this ' + (b.per === 'day' ? 'day' : 'window')]);
  replace('pacing', facts(rows));
}

/** The maintenance lane (ctl_backups verify and compact), when maintenance is on. */
function drawMaintenance(s) {
  var m = s.maintenance;
  $('maintenance-card').hidden = !m;
  if (!m) return;
  var windowText = m.window === null ? 'at any time' : m.window + ': ' + (m.open ? 'open, closes ' + when(m.closesAt) : 'closed, opens ' + when(m.opensAt));
  var running = m.running.length === 0 ? 'nothing' : m.running.map(function (r) { return r.verb + ' ' + r.userid + ' (' + r.reason + ') since ' + clock(r.since); }).join('; ');
  var due = Object.keys(m.due).map(function (reason) { return reason + ' ' + m.due[reason]; }).join(' · ');
  var opening = m.rollingUsed + ' of ' + m.share + ' rolling verifications' + (m.deferred > 0 ? '; ' + m.deferred + ' due deferred to the next openings' : '');
  var rows = [['Window', windowText], ['Running now', running], ['Due', due], ['This opening', opening]];
  replace('maintenance', el('div', {}, [
    m.toolProblem ? el('p', { class: 'tool-problem', id: 'tool-problem', text: 'ctl_backups cannot run: ' + m.toolProblem }) : null,
    facts(rows),
    table([['Started'], ['User'], ['Run'], ['Outcome']], m.recent.map(function (r) {
      var outcome = r.endedAt === null ? 'running' : (r.outcome || '-') + (r.detail ? ': ' + r.detail : '');
      return [td(clock(r.startedAt)), td(r.userid), td(r.verb + ' (' + r.why + ')'), td(outcome, r.outcome === 'ok' ? 'fill' : 'fill err wrap')];
    }), 'no maintenance run yet'),
  ]));
}

function drawScheduler(s) {
  var sc = s.scheduler;
  var rows = [
    ['Now', sc.runningSince ? 'running a cycle since ' + clock(sc.runningSince) : 'idle'],
    ['Next cycle', sc.runningSince ? 'after this one' : when(sc.nextCycleAt)],
    ['Last success', when(sc.lastSuccessAt)],
    ['Schedule', sc.schedule],
    ['Up since', when(sc.startedAt)],
  ];
  replace('scheduler', facts(rows));
}

function drawUsers(f) {
  replace('stalest', table([['User'], ['State'], ['Age', 'num'], ['Server'], ['Last attempt']], f.stalest.map(function (u) {
    return [td(u.userid), el('td', {}, [statePill(u.state)]), td(age(u.ageSeconds), 'num'), td(u.server || '-'), td(attemptText(u.lastAttempt), 'fill err')];
  }), 'no user has a backup yet'));
  var more = f.problemsTotal - f.problems.length;
  replace('problems', el('div', {}, [
    table([['User'], ['State'], ['Age', 'num'], ['Last error']], f.problems.map(function (u) {
      return [td(u.userid), el('td', {}, [statePill(u.state)]), td(age(u.ageSeconds), 'num'), td(u.error || (u.lastAttempt && u.lastAttempt.error) || '-', 'fill err wrap')];
    }), 'no damaged, failing, unreadable or conflicting users'),
    more > 0 ? el('p', { class: 'muted', text: 'and ' + more + ' more: see status?state=damaged,failing,unreadable,conflict' }) : null,
  ]));
  $('problems-count').textContent = f.problemsTotal ? plural(f.problemsTotal, 'user') : '';
}

function drawCycles(s) {
  replace('cycles', table([['Started'], ['Why'], ['Took', 'num'], ['Attempted', 'num'], ['Failed', 'num'], ['Result']], s.scheduler.cycles.map(function (c) {
    var result = c.result === 'error' ? 'error: ' + c.error : c.result === 'failure' ? 'failure: ' + c.because.join('; ') : 'success';
    return [td(clock(c.startedAt)), td(c.why), td(c.seconds < 10 ? c.seconds.toFixed(1) + 's' : age(c.seconds), 'num'), td(c.attempted, 'num'), td(c.failed, 'num'), td(result, c.result === 'success' ? 'fill' : 'fill err')];
  }), 'no cycle has finished yet'));
  replace('servers', table([['Server'], ['Status'], ['Last error']], s.servers.map(function (v) {
    var probe = v.pausedUntil && Date.parse(v.pausedUntil) > now() ? 'next probe ' + clock(v.pausedUntil) : 'probed with the next cycle';
    return [td(v.name), td(v.paused ? 'paused until a probe succeeds; ' + probe : 'ok'), td(v.lastError || '-', 'fill err')];
  }), 'no IMAP server configured'));
}

function render(s) {
  drawHealth(s);
  drawScheduler(s);
  drawPacing(s);
  drawMaintenance(s);
  drawCycles(s);
  var f = s.fleet;
  document.querySelectorAll('.needs-fleet').forEach(function (e) { e.hidden = !f; });
  $('waiting').hidden = !!f;
  if (f) {
    document.body.setAttribute('data-classified-at', f.classifiedAt);
    $('asof').textContent = 'states as of the cycle at ' + clock(f.classifiedAt) + '; ages as of now';
    var notes = $('notes');
    notes.hidden = f.notes.length === 0;
    notes.replaceChildren(el('ul', {}, f.notes.map(function (n) { return el('li', { text: n }); })));
    drawTiles(f);
    drawHistogram(f);
    drawBootstrap(f, s);
    drawUsers(f);
    $('stale-limit').textContent = 'stale from ' + age(f.maxAgeSeconds);
  }
  $('updated').textContent = 'updated ' + clock(s.now);
  document.body.setAttribute('data-ready', '1');
}

async function refresh() {
  try {
    var response = await fetch('status/summary', { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    var s = await response.json();
    skew = Date.parse(s.now) - Date.now();
    render(s);
    $('offline').hidden = true;
  } catch (err) {
    $('offline').textContent = 'Cannot reach the scheduler (' + err.message + '); showing what it said last.';
    $('offline').hidden = false;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Only this page's own script and style may run, and it may only talk to its own origin. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xbackup-scheduler status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>xbackup-scheduler</h1><span class="sub">backups on this backup server</span>
  <span id="health" class="pill wait">loading</span>
  <div class="right"><div id="asof"></div><div id="updated"></div></div>
</header>
<main>
  <div id="offline" class="banner bad" hidden></div>
  <div id="reasons" class="banner bad" hidden></div>
  <p id="waiting" class="banner note" hidden>No cycle has looked at the fleet yet: the first one is scanning the backup server and asking the IMAP servers.</p>
  <div id="notes" class="banner note" hidden></div>
  <section class="card needs-fleet" hidden><h2>Users by state <span id="total" class="aside"></span></h2><div id="tiles"></div><p id="behind" class="aside"></p><p id="deep" class="aside" hidden></p></section>
  <div class="row">
    <section class="card needs-fleet" hidden><h2>Backup ages <span id="stale-limit" class="aside"></span></h2><div id="histogram"></div></section>
    <div class="stack">
      <section class="card needs-fleet" hidden><h2>First backups</h2><div id="bootstrap"></div></section>
      <section class="card"><h2>Scheduler</h2><div id="scheduler"></div></section>
      <section class="card" id="pacing-card" hidden><h2>Windows</h2><div id="pacing"></div></section>
      <section class="card" id="maintenance-card" hidden><h2>Maintenance</h2><div id="maintenance"></div></section>
    </div>
  </div>
  <div class="row needs-fleet" hidden>
    <section class="card"><h2>Stalest backups</h2><div id="stalest"></div></section>
    <section class="card"><h2>Failing and other problems <span id="problems-count" class="aside"></span></h2><div id="problems"></div></section>
  </div>
  <div class="row">
    <section class="card"><h2>Recent cycles</h2><div id="cycles"></div></section>
    <section class="card"><h2>IMAP servers</h2><div id="servers"></div></section>
  </div>
  <footer>Refreshes every 10 s · <a href="status">status</a> (JSON, every user) · <a href="metrics">metrics</a> · <a href="healthz">healthz</a></footer>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
