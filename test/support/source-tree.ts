// Source trees for the architecture checks: the .ts files below a folder, and scratch trees that
// plant what a check must catch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** A scratch folder with files written into it by relative path; `remove` deletes it. */
export function scratchTree(prefix: string): { dir: string; write(file: string, text: string): void; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    write(file, text) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
