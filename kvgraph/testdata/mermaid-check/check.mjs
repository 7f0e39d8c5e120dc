// Reads a Mermaid flowchart on stdin, parses it with the real Mermaid
// parser and prints what the parser understood as JSON:
//   {"vertices": [[id, text], ...], "edges": [[start, end, text], ...]}
// Entity codes in labels are printed in Mermaid's own syntax (#quot;, #35;),
// so the caller can check that every label survived parsing intact.
// A parse error is printed on stderr with exit code 1.
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

let src = '';
for await (const chunk of process.stdin) src += chunk;

try {
  await mermaid.parse(src);
  const d = await mermaid.mermaidAPI.getDiagramFromText(src);
  // Mermaid swaps entity codes for placeholders before parsing: put the
  // entity syntax back.
  const unph = (s) => String(s).replace(/ﬂ°°(\d+)¶ß/g, '#$1;').replace(/ﬂ°(\w+)¶ß/g, '#$1;');
  const vertices = [...d.db.getVertices().values()].map((v) => [v.id, unph(v.text)]);
  const edges = d.db.getEdges().map((e) => [e.start, e.end, unph(e.text)]);
  process.stdout.write(JSON.stringify({ type: d.type, vertices, edges }));
} catch (e) {
  process.stderr.write(String(e && e.message ? e.message : e));
  process.exit(1);
}
