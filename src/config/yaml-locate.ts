import { isMap, isScalar, LineCounter, type Document, type Node } from 'yaml';

/** Finds the line of a value (or, for a key that is missing, of its nearest parent) in a parsed YAML document. */
export function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key?: string): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true) as Node | undefined;
    if (!node?.range) continue;
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) return lines.linePos(keyNode.range[0]).line;
    }
    return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** `servers[0].port` rather than `servers.0.port`: the way an admin reads the file. */
export function dottedPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
