// The vigie contender of the page (www/bench.mjs) alone, in Node's V8: for counting the
// instructions the wasm path takes, which stay stable on a loaded machine where the page's
// timings do not (docs/benchmarks/xmpp-browser.md). Usage, after run.sh built the module:
//   valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null \
//       node count.mjs "$CARGO_TARGET_DIR/vigie-bench-browser/pkg" 10000 parse
// and again with `skip` (the stanzas are made but not parsed): the difference divided by the
// count is the cost of one stanza.
import { readFile } from 'node:fs/promises';

const [pkg, count, mode] = [process.argv[2], Number(process.argv[3] ?? 10000), process.argv[4]];
const { default: init, Viewer, event_stanza } = await import(`${pkg}/vigie_bench_browser.js`);
await init({ module_or_path: await readFile(`${pkg}/vigie_bench_browser_bg.wasm`) });

// The same warm-up as the page, so V8 has tiered the module up before the counted part.
const run = (frames) => {
  const viewer = new Viewer();
  let read = 0;
  for (const frame of frames) read += viewer.handle_frame(frame);
  viewer.free();
  return read;
};
const stanzas = (length) => Array.from({ length }, (_, n) => event_stanza(n));
run(stanzas(2000));
const frames = stanzas(count);
const start = performance.now();
const read = mode === 'skip' ? 0 : run(frames);
console.log(JSON.stringify({ stanzas: count, read, seconds: (performance.now() - start) / 1000 }));
