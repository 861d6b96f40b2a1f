// Parses the same event stanzas (groupchat message: body, Vigie <event/> payload, origin-id,
// the room's stanza-id) with Vigie's wasm core and with Strophe.js, each through the path a
// WebSocket frame takes in a real client, and reads the body and the payload's fields.
import init, { Viewer, event_stanza } from './pkg/vigie_bench_browser.js';
import { Strophe } from './strophe/strophe.esm.js';

const EVENT_NS = 'urn:vigie:event:1';
const FIELDS = ['id', 'kind', 'status', 'severity', 'zone', 'vehicles', 'lat', 'lon', 'occurred_at', 'detail'];

function readStanza(message) {
  let read = message.getElementsByTagName('body')[0].textContent.length;
  const event = message.getElementsByTagNameNS(EVENT_NS, 'event')[0];
  for (const field of FIELDS) read += event.getAttribute(field).length;
  return read;
}

// Strophe.js 5: a connection marked connected and authenticated, fed through its WebSocket
// protocol's onmessage (DOMParser per frame, then the handler chain), with one groupchat handler.
function strophe(frames) {
  const connection = new Strophe.Connection('ws://127.0.0.1:9/xmpp-websocket');
  connection.connected = true;
  connection.authenticated = true;
  let read = 0;
  connection.addHandler((message) => { read += readStanza(message); return true; }, null, 'message', 'groupchat');
  const start = performance.now();
  for (const data of frames) connection._proto._onMessage({ data });
  return { seconds: (performance.now() - start) / 1000, read };
}

// The floor under any DOM-based client: DOMParser alone, then the same reads.
function domParser(frames) {
  const parser = new DOMParser();
  let read = 0;
  const start = performance.now();
  for (const frame of frames) read += readStanza(parser.parseFromString(frame, 'text/xml').documentElement);
  return { seconds: (performance.now() - start) / 1000, read };
}

function vigie(frames) {
  const viewer = new Viewer();
  let read = 0;
  const start = performance.now();
  for (const frame of frames) read += viewer.handle_frame(frame);
  const seconds = (performance.now() - start) / 1000;
  viewer.free();
  return { seconds, read };
}

const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];

window.runBench = async (count, rounds) => {
  await init();
  const frames = Array.from({ length: count }, (_, n) => event_stanza(n));
  const contenders = { vigie, strophe, domParser };
  const warmup = frames.slice(0, 2000);
  for (const run of Object.values(contenders)) run(warmup);
  const results = {};
  for (const name of Object.keys(contenders)) results[name] = { rates: [], read: null };
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const { seconds, read } = run(frames);
      results[name].rates.push(count / seconds);
      results[name].read = read;
    }
  }
  const reads = new Set(Object.values(results).map((result) => result.read));
  if (reads.size !== 1) throw new Error(`contenders read different text: ${JSON.stringify(results)}`);
  const summary = { stanzas: count, rounds, userAgent: navigator.userAgent };
  for (const [name, result] of Object.entries(results)) summary[name] = Math.round(median(result.rates));
  summary.ratioVsStrophe = +(summary.vigie / summary.strophe).toFixed(1);
  summary.ratioVsDomParser = +(summary.vigie / summary.domParser).toFixed(1);
  document.getElementById('out').textContent = JSON.stringify(summary, null, 2);
  return summary;
};
