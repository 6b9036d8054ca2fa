import { fileURLToPath } from 'node:url';

/** The repository: this file is compiled to dist/tools/generate/, three folders below it. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
