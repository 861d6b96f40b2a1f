// The dashboard benchmarks of issue 6, in headless Chromium against a private Vigie
// (the vigie-bench-dashboard program: crates/e2e's Stack serving the built dashboard, with a
// gateway that posts generated events at a chosen rate):
//   1. page open → live: `--loads` fresh page loads (a new browser context each, so nothing is
//      cached), each timed from navigation start until the indicator says live in every event
//      room, the feed shows the rooms' seeded history and the incident table its seeded rows
//      (`ready`); `side_panels` is when the open-incidents list and the map are built, and
//      `everything` the later of the two;
//   2. soak: the page open while the gateway posts `--rate` events/s for `--minutes`; long tasks
//      (PerformanceObserver) and, every `--sample` seconds after a forced GC, the JS heap, the
//      wasm memory, DOM nodes, main-thread time (CDP Performance.getMetrics) and REST calls.
// Usage: node run.mjs [--loads 20] [--minutes 10] [--rate 100] [--sample 10] [--out FILE] [--css CSS] [--count-dom] [--show-room ROOM]
//                     [--trace FILE [--profile FILE]] [--soak-trace FILE [--soak-trace-seconds 60]]
// Environment: VIGIE_BENCH_STACK (the program), VIGIE_BENCH_DIST (the built dashboard),
// CHROMIUM (default /usr/bin/chromium), VIGIE_BENCH_LOG (the stack's stderr; default /dev/null).
import { spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: flags } = parseArgs({
  options: {
    loads: { type: 'string', default: '20' },
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '100' },
    sample: { type: 'string', default: '10' },
    out: { type: 'string' },
    // Extra CSS for the soak's page, for diagnosis experiments (docs/benchmarks/dashboard.md).
    css: { type: 'string' },
    // Count the soak page's element creations by tag (diagnosis: which parts re-render).
    'count-dom': { type: 'boolean', default: false },
    // The soak's page shows this room's feed alone (e.g. `accidents`), so the other rooms'
    // events are counted as unread, not shown.
    'show-room': { type: 'string' },
    // One more page load, traced (Chrome trace written to FILE): its main-thread timeline.
    trace: { type: 'string' },
    // With --trace: that load's V8 CPU profile too (FILE, .cpuprofile), and its functions by
    // self time in the JSON. Build with names (`data-keep-debug` and `-g` for wasm-opt) to see
    // the wasm's functions.
    profile: { type: 'string' },
    // The soak's last `--soak-trace-seconds` (60) traced (Chrome trace written to FILE): its
    // tasks over 50 ms, each with the work inside by self time, and the window's totals.
    'soak-trace': { type: 'string' },
    'soak-trace-seconds': { type: 'string', default: '60' },
  },
});
const loads = Number(flags.loads);
const minutes = Number(flags.minutes);
const rate = Number(flags.rate);
const sampleSeconds = Number(flags.sample);
const required = (name) => process.env[name] ?? fail(`${name} is not set (run.sh sets it)`);
function fail(message) {
  throw new Error(message);
}

// Rows of a first history page (src/api.rs PAGE_SIZE).
const LIVE_WINDOW = 50;
const PAGE_SIZE = 50;
// Long tasks the goal forbids: over 50 ms.
const LONG_TASK_MS = 50;

// ---- The stack: started first, stopped last (closing its stdin stops it cleanly). ----

const stack = spawn(required('VIGIE_BENCH_STACK'), ['--dist', required('VIGIE_BENCH_DIST')], {
  stdio: ['pipe', 'pipe', openSync(process.env.VIGIE_BENCH_LOG ?? '/dev/null', 'a')],
});
const stackExited = new Promise((resolve) => stack.on('exit', (code, signal) => resolve(code ?? signal)));
let stopping = false;
const stackFailed = stackExited.then((status) => {
  if (!stopping) fail(`the stack exited (${status}); see VIGIE_BENCH_LOG`);
  return new Promise(() => {});
});
stackFailed.catch(() => {});
const stackLines = createInterface({ input: stack.stdout })[Symbol.asyncIterator]();
async function stackSays() {
  const next = await Promise.race([stackLines.next(), stackFailed]);
  if (next.done) fail('the stack closed its output');
  return JSON.parse(next.value);
}
async function stopStack() {
  stopping = true;
  stack.stdin.end();
  const timer = setTimeout(() => stack.kill('SIGTERM'), 60_000);
  await stackExited;
  clearTimeout(timer);
}

// ---- In-page probes, installed before the page's own scripts. ----

/** Marks (performance.now(), ms since navigation start) when each sign of "live" first shows. */
function openProbe(expect) {
  const marks = {};
  window.__vigieOpen = marks;
  // Awaited by run.mjs: page.waitForFunction would evaluate Playwright's 300 KB injected script
  // in the page while it starts (~50 ms of its main thread on this machine).
  let resolveReady;
  window.__vigieOpenReady = new Promise((resolve) => { resolveReady = resolve; });
  const mark = (name) => {
    if (name in marks) return;
    marks[name] = performance.now();
    // Also in a trace (--trace), which places the marks on its timeline.
    performance.mark(`vigie:${name}`);
  };
  addEventListener('TrunkApplicationStarted', () => mark('wasm_started'));
  // The XMPP session's steps, seen from its WebSocket; every frame's time and start in
  // `__vigieFrames` (kept for the traced load).
  const frames = [];
  window.__vigieFrames = frames;
  const frame = (direction, data) => frames.push(`${performance.now().toFixed(1)} ${direction} ${String(data).slice(0, 90)}`);
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      mark('ws_created');
      this.addEventListener('open', () => mark('ws_open'));
      this.addEventListener('message', (message) => {
        frame('<', message.data);
        mark('ws_first_message');
        if (!('live' in marks)) marks.ws_messages_until_live = (marks.ws_messages_until_live ?? 0) + 1;
      });
    }

    send(data) {
      frame('>', data);
      super.send(data);
    }
  };
  const check = () => {
    const link = document.querySelector('[data-testid=link]');
    if (link) mark('first_render');
    if (link?.classList.contains('online') && link.textContent.includes(`${expect.rooms} rooms`)) mark('live');
    const history = document.querySelectorAll('[data-testid=live-feed] li[data-origin=history]');
    if (history.length >= expect.historyCards) mark('feed_history');
    // The table draws only the rows in view: its page is there once it counts them all and draws some.
    const table = document.querySelector('[data-testid=history]');
    const tableRows = table?.hasAttribute('aria-rowcount')
      ? +table.getAttribute('aria-rowcount') - 1
      : document.querySelectorAll('[data-testid=history] tr[data-incident-id]').length; // builds before session 14
    if (tableRows >= expect.tableRows && (expect.tableRows === 0 || table.querySelector('tr[data-incident-id]'))) mark('table');
    if (document.querySelector('[data-testid=open-incidents]') && document.querySelector('[data-testid=map-markers]')) mark('side_panels');
    if ('live' in marks && 'feed_history' in marks && 'table' in marks) mark('ready');
    // The load ends once the side panels (open incidents, map, chat, account) are built too.
    if ('ready' in marks && 'side_panels' in marks) {
      mark('everything');
      observer.disconnect();
      resolveReady();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}

/** Counts elements created (directly or by cloning a template) by tag name, attribute writes
 * (`set:NAME`) and text writes (`text`), in `__vigieDom`. */
function domCounter() {
  const counts = {};
  window.__vigieDom = counts;
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    counts[`set:${name}`] = (counts[`set:${name}`] ?? 0) + 1;
    return setAttribute.call(this, name, value);
  };
  for (const [proto, property] of [[Node.prototype, 'nodeValue'], [Node.prototype, 'textContent'], [CharacterData.prototype, 'data']]) {
    const { get, set } = Object.getOwnPropertyDescriptor(proto, property);
    Object.defineProperty(proto, property, {
      get, configurable: true,
      set(value) { counts.text = (counts.text ?? 0) + 1; set.call(this, value); },
    });
  }
  const count = (node) => {
    if (node?.nodeType !== 1) return;
    counts[node.localName] = (counts[node.localName] ?? 0) + 1;
    for (const child of node.querySelectorAll('*')) counts[child.localName] = (counts[child.localName] ?? 0) + 1;
  };
  for (const [proto, name] of [[Document.prototype, 'createElement'], [Document.prototype, 'createElementNS'],
    [Node.prototype, 'cloneNode'], [Document.prototype, 'importNode']]) {
    const native = proto[name];
    proto[name] = function (...args) {
      const node = native.apply(this, args);
      count(node);
      return node;
    };
  }
}

/** Collects long tasks and long animation frames (with their scripts), keeps the wasm memory,
 * and once a second notes how far behind the newest card is (its ULID holds its time). */
function soakProbe() {
  const soak = { longTasks: [], frames: [], lags: [], memory: null, sampling: false };
  window.__vigieSoak = soak;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) soak.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration <= 50) continue;
      soak.frames.push({
        start: e.startTime,
        duration: e.duration,
        blocking: e.blockingDuration,
        render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
        style_layout: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
        scripts: e.scripts.map((s) => ({
          invoker: s.invoker, type: s.invokerType, duration: s.duration,
          forced_layout: s.forcedStyleAndLayoutDuration, source: s.sourceFunctionName,
        })),
      });
    }
  }).observe({ type: 'long-animation-frame', buffered: true });
  addEventListener('TrunkApplicationStarted', (e) => { soak.memory = e.detail.wasm.memory; });
  const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  setInterval(() => {
    if (!soak.sampling) return;
    const id = document.querySelector('[data-testid=live-feed] li[data-event-id]')?.dataset.eventId;
    if (!id) return;
    let ms = 0;
    for (const c of id.slice(0, 10)) ms = ms * 32 + CROCKFORD.indexOf(c);
    soak.lags.push(Date.now() - ms);
  }, 1000);
}

// ---- Statistics. ----

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (x, digits = 1) => (x === undefined || x === null ? x : Number(x.toFixed(digits)));
const summary = (values) => values.length === 0 ? null : ({
  p50: round(percentile(values, 50)), p95: round(percentile(values, 95)),
  min: round(Math.min(...values)), max: round(Math.max(...values)),
});
/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? null : sxy / sxx;
}
const MB = 1024 * 1024;

// ---- The benchmarks. ----

/** The app's files as gzip -9 sends them: wasm + js + css (the goal), and index.html apart. */
function transferSize(dist) {
  const sizes = {};
  for (const file of readdirSync(dist)) {
    if (/\.(wasm|js|css|html)$/.test(file)) sizes[file] = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  }
  const app = Object.entries(sizes).filter(([file]) => !file.endsWith('.html')).reduce((s, [, n]) => s + n, 0);
  return { ...sizes, app_wasm_js_css: app, app_kib: round(app / 1024) };
}

/** Adds `--css` to the page, if given. */
async function addCss(page) {
  if (!flags.css) return;
  await page.addInitScript((css) => {
    addEventListener('DOMContentLoaded', () => document.head.append(Object.assign(document.createElement('style'), { textContent: css })));
  }, flags.css);
}

/** Opens the page once in a fresh context and returns its marks and resource timings; with
 * `tracePath`, records a Chrome trace of the load there and adds its main-thread timeline. */
async function openOnce(browser, ready, expect, tracePath) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.addInitScript(openProbe, expect);
  await addCss(page);
  // With a trace, also the WebSocket frames as the network saw them (ms since the document's
  // request), to tell the server's time from the page's.
  const networkFrames = [];
  let stopProfile;
  if (tracePath) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    let origin;
    cdp.on('Network.requestWillBeSent', (e) => { origin ??= e.timestamp; });
    const log = (direction) => (e) => networkFrames.push(
      `${((e.timestamp - origin) * 1000).toFixed(1)} ${direction} ${e.response.payloadData.slice(0, 90)}`);
    cdp.on('Network.webSocketFrameReceived', log('<'));
    cdp.on('Network.webSocketFrameSent', log('>'));
    const at = (what) => (e) => networkFrames.push(`${((e.timestamp - origin) * 1000).toFixed(1)} ${what}`);
    cdp.on('Network.webSocketCreated', at('socket created'));
    cdp.on('Network.webSocketWillSendHandshakeRequest', at('handshake sent'));
    cdp.on('Network.webSocketHandshakeResponseReceived', at('handshake answered'));
    if (flags.profile) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
      stopProfile = async () => (await cdp.send('Profiler.stop')).profile;
    }
    await browser.startTracing(page, { path: tracePath, categories: TRACE_CATEGORIES });
  }
  await page.goto(ready.url);
  let timer;
  await Promise.race([
    page.evaluate(() => window.__vigieOpenReady),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('the page was not live after 30 s')), 30_000); }),
  ]).finally(() => clearTimeout(timer));
  const run = await page.evaluate(() => {
    const navigation = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource')
      .filter((r) => /\.(wasm|js|css)$/.test(new URL(r.name).pathname))
      .map((r) => ({
        file: new URL(r.name).pathname, transfer: r.transferSize, encoded: r.encodedBodySize,
        decoded: r.decodedBodySize, start: r.startTime, end: r.responseEnd,
      }));
    const api = (path) => performance.getEntriesByType('resource')
      .find((r) => new URL(r.name).pathname === path)?.responseEnd;
    return {
      ...window.__vigieOpen,
      config_fetched: api('/api/v1/config'),
      incidents_fetched: api('/api/v1/incidents'),
      response_end: navigation.responseEnd,
      dom_content_loaded: navigation.domContentLoadedEventEnd,
      resources,
    };
  });
  if (tracePath) {
    run.timeline = mainThreadTimeline(JSON.parse(await browser.stopTracing()), run);
    run.frames = await page.evaluate(() => window.__vigieFrames);
    run.network_frames = networkFrames;
    if (stopProfile) {
      const profile = await stopProfile();
      await writeFile(flags.profile, JSON.stringify(profile));
      run.profile_self_ms = selfTimes(profile);
    }
  }
  await context.close();
  return run;
}

async function pageOpen(browser, ready) {
  const expect = {
    rooms: 3,
    // The live feed keeps at most LIVE_WINDOW cards in the DOM (src/components/live.rs).
    historyCards: Math.min(ready.history_cards, LIVE_WINDOW),
    tableRows: Math.min(ready.seeded_incidents, PAGE_SIZE),
  };
  const runs = [];
  // One warm-up load (the server's first reads of dist/ from disk), then the measured ones.
  for (let n = 0; n <= loads; n++) {
    const run = await openOnce(browser, ready, expect);
    if (n > 0) runs.push(run);
  }
  const marks = ['response_end', 'wasm_started', 'first_render', 'config_fetched', 'ws_created', 'ws_open',
    'ws_first_message', 'live', 'incidents_fetched', 'table', 'feed_history', 'ready', 'side_panels', 'everything',
    'ws_messages_until_live'];
  return {
    loads: runs.length,
    expected: expect,
    ms: Object.fromEntries(marks.map((m) => [m, summary(runs.map((r) => r[m]).filter((v) => v !== undefined))])),
    resources: runs[0].resources,
    traced: flags.trace ? await openOnce(browser, ready, expect, flags.trace) : undefined,
  };
}

const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing',
  'v8', 'v8.wasm', 'toplevel', 'loading'];

/** A CPU profile's 40 functions with the most self time (ms), program and idle included. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = {};
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id).callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}`.trim();
    self[name] = (self[name] ?? 0) + (profile.timeDeltas[i] ?? 0);
  });
  return Object.fromEntries(Object.entries(self).sort((a, b) => b[1] - a[1]).slice(0, 40)
    .map(([name, us]) => [name, round(us / 1000)]));
}

/** The renderer main thread of a traced load, until `ready`: its tasks over 2 ms (start in ms
 * since navigation start, duration, and the work inside by self time), and the totals. */
function mainThreadTimeline(trace, marks) {
  const events = trace.traceEvents ?? trace;
  const readyMark = events.find((e) => e.name === 'vigie:ready');
  if (!readyMark) return null;
  const origin = readyMark.ts - marks.ready * 1000;
  const { tasks, totals } = mainThreadTasks(events, readyMark, origin, readyMark.ts);
  const ms = (us) => round(us / 1000);
  const top = (work, n) => Object.entries(work).filter(([, us]) => us >= 500).sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([name, us]) => `${name} ${ms(us)}`).join(', ');
  const busy = tasks.reduce((s, t) => s + t.dur, 0);
  return {
    busy_ms: ms(busy),
    ready_ms: round(marks.ready),
    work_ms: Object.fromEntries(Object.entries(totals).filter(([, us]) => us >= 1000).sort((a, b) => b[1] - a[1])
      .map(([name, us]) => [name, ms(us)])),
    tasks: tasks.filter((t) => t.dur >= 2000).map((t) => `${ms(t.start - origin)} +${ms(t.dur)}: ${top(t.work, 5)}`),
  };
}

/** The soak's traced window (between the `vigie:soak-trace` marks): its tasks over 50 ms, with
 * the work inside each by self time, and the window's totals by kind of work (forced
 * collections included). */
function soakTimeline(trace, startedAt, duringGc) {
  const events = trace.traceEvents ?? trace;
  const [start, end] = ['vigie:soak-trace-start', 'vigie:soak-trace-end'].map((name) => events.find((e) => e.name === name));
  if (!start || !end) return null;
  const found = mainThreadTasks(events, start, start.ts, end.ts);
  // Not the benchmark's own forced collections (`startedAt`: the start mark's performance.now()).
  const tasks = found.tasks.filter((t) => !duringGc({ start: startedAt + (t.start - start.ts) / 1000, duration: t.dur / 1000 }));
  const { totals } = found;
  const ms = (us) => round(us / 1000);
  const top = (work, n) => Object.fromEntries(Object.entries(work).filter(([, us]) => us >= 1000).sort((a, b) => b[1] - a[1])
    .slice(0, n).map(([name, us]) => [name, ms(us)]));
  const busy = tasks.reduce((s, t) => s + t.dur, 0);
  const long = tasks.filter((t) => t.dur > LONG_TASK_MS * 1000);
  return {
    seconds: ms(end.ts - start.ts) / 1000,
    busy_percent: round((100 * busy) / (end.ts - start.ts)),
    tasks: tasks.length,
    over_50ms: long.length,
    work_ms: top(totals, 25),
    long_tasks: long.map((t) => ({ at_s: round((t.start - start.ts) / 1e6), ms: ms(t.dur), work: top(t.work, 8) })),
  };
}

/** The main thread's tasks (top-level slices) of the thread that recorded `mark`, from
 * `origin` to `end` (trace µs), each with its work by self time, and the totals. */
function mainThreadTasks(events, mark, origin, end) {
  const { pid, tid } = mark;
  const slices = events
    .filter((e) => e.pid === pid && e.tid === tid && e.ph === 'X' && e.dur !== undefined && e.ts + e.dur >= origin && e.ts <= end)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  // What a slice is, with the detail that tells scripts apart.
  const label = (e) => {
    const data = e.args?.data ?? {};
    if (e.name === 'EventDispatch') return `EventDispatch(${data.type})`;
    if (e.name === 'FunctionCall') return `FunctionCall(${data.functionName || data.url?.split('/').pop() || '?'})`;
    return e.name;
  };
  const tasks = [];
  const totals = {};
  const stack = [];
  for (const e of slices) {
    while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
    const parent = stack.at(-1);
    if (parent) parent.self -= Math.min(e.dur, parent.ts + parent.dur - e.ts);
    const node = { ts: e.ts, dur: e.dur, self: e.dur, label: label(e), task: parent?.task };
    if (!parent) {
      node.task = { start: e.ts, dur: e.dur, work: {} };
      tasks.push(node.task);
    }
    node.done = () => {
      node.task.work[node.label] = (node.task.work[node.label] ?? 0) + node.self;
      totals[node.label] = (totals[node.label] ?? 0) + node.self;
    };
    stack.push(node);
    e.node = node;
  }
  for (const e of slices) e.node.done();
  return { tasks, totals };
}

// Lighter than a load's: a minute of the soak stays some tens of MB.
const SOAK_TRACE_CATEGORIES = ['devtools.timeline', 'blink.user_timing', 'v8.execute', 'toplevel'];

/** Traces the soak's last `--soak-trace-seconds`, between two marks; the trace is written to
 * `--soak-trace`. */
async function traceSoakEnd(browser, page, started) {
  const seconds = Number(flags['soak-trace-seconds']);
  const from = started + Math.max(0, minutes * 60 - seconds - 2) * 1000;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, from - Date.now())));
  await browser.startTracing(page, { path: flags['soak-trace'], categories: SOAK_TRACE_CATEGORIES });
  const startedAt = await page.evaluate(() => (performance.mark('vigie:soak-trace-start'), performance.now()));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await page.evaluate(() => performance.mark('vigie:soak-trace-end'));
  const events = JSON.parse(await browser.stopTracing());
  return { events, startedAt };
}

async function soak(browser, ready) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  const apiCalls = {};
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/api/')) apiCalls[path] = (apiCalls[path] ?? 0) + 1;
  });
  await page.addInitScript(soakProbe);
  if (flags['count-dom']) await page.addInitScript(domCounter);
  await addCss(page);
  await page.goto(ready.url);
  await page.waitForFunction(
    () => document.querySelector('[data-testid=link]')?.classList.contains('online') && window.__vigieSoak.memory,
    null, { timeout: 30_000 });
  if (flags['show-room']) {
    await page.click(`[data-testid=rooms] li[data-room^="${flags['show-room']}@"] .room-show`);
  }
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const gcWindows = [];
  const sample = async (minute) => {
    const before = await page.evaluate(() => performance.now());
    await cdp.send('HeapProfiler.collectGarbage');
    const probe = await page.evaluate(() => ({
      now: performance.now(),
      heap: performance.memory.usedJSHeapSize,
      wasm: window.__vigieSoak.memory.buffer.byteLength,
      nodes: document.getElementsByTagName('*').length,
      cards: document.querySelectorAll('[data-testid=live-feed] li.card').length,
      // What holds listeners and nodes besides the feed: to tell growth from a leak.
      // The heading's count; builds before session 14 drew every row.
      open: +(document.querySelector('[data-testid=open-count]')?.textContent.replace(/\D/g, '') || 0)
        || document.querySelectorAll('[data-testid=open-incidents] li').length,
      markers: document.querySelectorAll('[data-testid=map-markers] circle').length,
      bars: document.querySelectorAll('[data-testid=histogram] svg > g').length,
      buttons: document.querySelectorAll('button').length,
      // CSS animations running: one the compositor cannot run alone costs a frame of the main
      // thread's each time the screen refreshes.
      animations: document.getAnimations().length,
    }));
    gcWindows.push([before, probe.now]);
    const { metrics } = await cdp.send('Performance.getMetrics');
    const metric = Object.fromEntries(metrics.map(({ name, value }) => [name, value]));
    return { minute, ...probe, metric, api: { ...apiCalls } };
  };

  const samples = [await sample(0)];
  await page.evaluate(() => { window.__vigieSoak.sampling = true; });
  const load = [os.loadavg()[0]];
  const started = Date.now();
  stack.stdin.write(`publish ${rate} ${minutes * 60}\n`);
  const published = stackSays();
  const traced = flags['soak-trace'] ? traceSoakEnd(browser, page, started) : null;
  for (let k = 1; k * sampleSeconds <= minutes * 60; k++) {
    const due = started + k * sampleSeconds * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    samples.push(await sample((Date.now() - started) / 60_000));
    if (k % Math.max(1, Math.round(60 / sampleSeconds)) === 0) {
      const last = samples.at(-1);
      console.error(`  ${round(last.minute)} min: heap ${round(last.heap / MB)} MB, wasm ${round(last.wasm / MB)} MB, ` +
        `${last.nodes} nodes, load ${round(os.loadavg()[0], 2)}`);
      load.push(os.loadavg()[0]);
    }
  }
  const gateway = await published;
  const trace = await traced;
  await page.evaluate(() => { window.__vigieSoak.sampling = false; });
  const { longTasks, frames, lags, created } = await page.evaluate(() => {
    const { longTasks, frames, lags } = window.__vigieSoak;
    return { longTasks, frames, lags, created: window.__vigieDom };
  });
  await context.close();

  const publishStart = samples[0].now;
  const duringGc = (task) => gcWindows.some(([a, b]) => task.start < b + 5 && task.start + task.duration > a - 5);
  const pageTasks = longTasks.filter((t) => t.start >= publishStart && !duringGc(t));
  const pageFrames = frames.filter((f) => f.start >= publishStart && !duringGc(f));
  const first = samples[0];
  const last = samples.at(-1);
  const warm = samples.filter((s) => s.minute >= Math.min(1, minutes / 2));
  const perMinute = (name) => round(((last.metric[name] ?? 0) - (first.metric[name] ?? 0)) / (last.minute - first.minute));
  const seconds = (last.minute - first.minute) * 60;
  const busy = (name) => round((100 * ((last.metric[name] ?? 0) - (first.metric[name] ?? 0))) / seconds);
  const apiPerMinute = Object.fromEntries(Object.keys(last.api).map((path) =>
    [path, round(((last.api[path] ?? 0) - (first.api[path] ?? 0)) / (last.minute - first.minute))]));
  return {
    minutes, rate, gateway, css: flags.css ?? null,
    trace: trace && soakTimeline(trace.events, trace.startedAt, duringGc),
    // Since the page opened (history included) when --count-dom.
    elements_created: created ?? null,
    long_tasks: {
      over_50ms: pageTasks.filter((t) => t.duration > LONG_TASK_MS).length,
      over_100ms: pageTasks.filter((t) => t.duration > 100).length,
      over_200ms: pageTasks.filter((t) => t.duration > 200).length,
      max_ms: round(Math.max(0, ...pageTasks.map((t) => t.duration))),
      during_forced_gc: longTasks.filter(duringGc).length,
      longest: [...pageTasks].sort((a, b) => b.duration - a.duration).slice(0, 5).map((t) => ({
        at_s: round((t.start - publishStart) / 1000), ms: round(t.duration),
      })),
    },
    long_frames: {
      count: pageFrames.length,
      // Where the long frames' time went, summed: rendering (frame callbacks, style, layout,
      // paint), of which style and layout, and scripts by what called them.
      render_ms: round(pageFrames.reduce((sum, f) => sum + f.render, 0)),
      style_layout_ms: round(pageFrames.reduce((sum, f) => sum + f.style_layout, 0)),
      scripts_ms: Object.fromEntries(Object.entries(pageFrames.flatMap((f) => f.scripts).reduce((sums, script) => {
        const name = `${script.invoker} ${script.source}`.trim();
        sums[name] = (sums[name] ?? 0) + script.duration;
        return sums;
      }, {})).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([name, ms]) => [name, round(ms)])),
      longest: [...pageFrames].sort((a, b) => b.duration - a.duration).slice(0, 3),
    },
    heap_mb: {
      first: round(first.heap / MB, 2), last: round(last.heap / MB, 2),
      max: round(Math.max(...samples.map((s) => s.heap)) / MB, 2),
      slope_mb_per_min_after_1min: round(slope(warm.map((s) => [s.minute, s.heap / MB])), 3),
    },
    wasm_memory_mb: { first: round(first.wasm / MB, 2), last: round(last.wasm / MB, 2) },
    dom_nodes: { first: first.nodes, last: last.nodes, max: Math.max(...samples.map((s) => s.nodes)) },
    feed_cards: { first: first.cards, last: last.cards },
    display_lag_ms: summary(lags),
    main_thread_busy_percent: {
      task: busy('TaskDuration'), script: busy('ScriptDuration'),
      layout: busy('LayoutDuration'), style: busy('RecalcStyleDuration'),
    },
    per_minute: { layouts: perMinute('LayoutCount'), style_recalcs: perMinute('RecalcStyleCount'), api_calls: apiPerMinute },
    event_listeners: { first: first.metric.JSEventListeners, last: last.metric.JSEventListeners },
    load_average_1min: load.map((l) => round(l, 2)),
    samples: samples.map((s) => ({
      minute: round(s.minute, 2), heap_mb: round(s.heap / MB, 2), wasm_mb: round(s.wasm / MB, 2),
      nodes: s.nodes, cards: s.cards, listeners: s.metric.JSEventListeners,
      open: s.open, markers: s.markers, bars: s.bars, buttons: s.buttons, animations: s.animations,
    })),
  };
}

let browser;
try {
  const ready = await stackSays();
  console.error(`stack up at ${ready.url}: ${ready.seeded_events} events seeded (${ready.seeded_incidents} incidents)`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
      '--enable-precise-memory-info'],
  });
  const result = {
    when: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gb: round(os.totalmem() / 2 ** 30),
      chromium: browser.version(), load_average_1min: round(os.loadavg()[0], 2),
    },
    seeded: ready,
    transfer_gzip_bytes: transferSize(required('VIGIE_BENCH_DIST')),
  };
  console.error(`transfer size, gzip -9: ${JSON.stringify(result.transfer_gzip_bytes)}`);
  console.error(`page open → live: ${loads} fresh loads…`);
  result.page_open = await pageOpen(browser, ready);
  console.error(JSON.stringify(result.page_open.ms));
  if (minutes > 0) {
    console.error(`soak: ${rate} events/s for ${minutes} min…`);
    result.soak = await soak(browser, ready);
  }
  const text = JSON.stringify(result, null, 2);
  console.log(text);
  if (flags.out) await writeFile(flags.out, text);
} finally {
  await browser?.close();
  await stopStack();
}
