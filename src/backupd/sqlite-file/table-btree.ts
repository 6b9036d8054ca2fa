import type { PageFile } from './page-file.js';
import { NotPlainPages } from './not-plain-pages.js';
import { PageCursor } from './page-cursor.js';

const INTERIOR_TABLE = 5;
const LEAF_TABLE = 13;
/** SQLite's own limit on a b-tree's depth; PageFile's buffers of the depths from here on are free for other pages. */
export const MAX_DEPTH = 20;

/**
 * One row of a table: its rowid, where its record starts and its bytes on this page end, and its whole
 * size. A record larger than that continues on overflow pages, whose first is numbered in the 4 bytes at
 * `localEnd`; they are not followed here.
 */
export type VisitRow = (page: Buffer, rowid: number, recordStart: number, localEnd: number, payloadSize: number) => void;

/**
 * Calls `visit` for every row of the table b-tree rooted at `root`, in rowid order, and returns how many
 * there were. Checks what a damaged or half-written tree would break (page kinds, bounds, each page once,
 * rowids rising) and refuses the file rather than guess.
 */
export function forEachTableRow(file: PageFile, root: number, visit: VisitRow): number {
  if (walking) throw new Error('forEachTableRow called from a row of another walk');
  walking = true;
  try {
    const walk = new TableWalk(file, visit);
    walk.page(root, 0);
    return walk.rows;
  } finally {
    walking = false;
  }
}

/**
 * Per page number, the walk that last reached it: a walk of a few pages neither allocates nor clears a
 * map of the whole file (a scan walks three tables in each of a hundred thousand files). Walks do not
 * nest, so one map and one cursor serve them all.
 */
let reachedBy = new Uint32Array(64);
let walks = 0;
let walking = false;
const cursor = new PageCursor();

class TableWalk {
  rows = 0;
  private lastRowid = -Infinity;
  private readonly walk: number;
  private readonly usable: number;

  constructor(
    private readonly file: PageFile,
    private readonly visit: VisitRow,
  ) {
    const pages = file.header.pageCount + 1;
    if (reachedBy.length < pages) reachedBy = new Uint32Array(Math.max(pages, 2 * reachedBy.length));
    if (walks === 0xffffffff) {
      reachedBy.fill(0);
      walks = 0;
    }
    this.walk = ++walks;
    this.usable = file.header.usableSize;
  }

  page(pgno: number, depth: number): void {
    if (depth >= MAX_DEPTH) throw new NotPlainPages('b-tree deeper than SQLite allows');
    if (reachedBy[pgno] === this.walk) throw new NotPlainPages(`page ${pgno} reached twice`);
    const page = this.file.read(pgno, depth);
    reachedBy[pgno] = this.walk;
    const h = pgno === 1 ? 100 : 0;
    const kind = page[h];
    if (kind !== LEAF_TABLE && kind !== INTERIOR_TABLE) throw new NotPlainPages(`page ${pgno} is not a table page`);
    const headerSize = kind === LEAF_TABLE ? 8 : 12;
    const cells = page.readUInt16BE(h + 3);
    // SQLite's bound on cells per page (btreeInitPage): more is damage to it, whatever the pointers say.
    if (cells > (this.file.header.pageSize - 8) / 6) throw new NotPlainPages(`page ${pgno} has more cells than a page holds`);
    // As SQLite: only a root leaf may be empty (an empty table); an empty child or interior root is damage.
    if (cells === 0 && (depth > 0 || kind === INTERIOR_TABLE)) throw new NotPlainPages(`page ${pgno} has no cells`);
    const contentStart = page.readUInt16BE(h + 5) || 65536;
    if (h + headerSize + 2 * cells > Math.min(contentStart, this.usable)) throw new NotPlainPages(`page ${pgno}: cell pointers overlap its content`);
    if (kind === LEAF_TABLE) {
      for (let i = 0; i < cells; i++) this.leafCell(page, this.cellAt(page, h + headerSize + 2 * i, contentStart, pgno));
      return;
    }
    // The children are in rowid order: each cell's left child, then the rightmost one.
    for (let i = 0; i < cells; i++) {
      const cell = this.cellAt(page, h + headerSize + 2 * i, contentStart, pgno);
      if (cell + 4 > this.usable) throw new NotPlainPages(`page ${pgno}: a cell runs past the page`);
      this.child(page.readUInt32BE(cell), depth);
      // The page buffer of this depth is still this page: children are read one level down.
    }
    this.child(page.readUInt32BE(h + 8), depth);
  }

  private child(pgno: number, depth: number): void {
    if (pgno < 2) throw new NotPlainPages(`child page ${pgno}`);
    this.page(pgno, depth + 1);
  }

  private cellAt(page: Buffer, pointer: number, contentStart: number, pgno: number): number {
    const cell = page.readUInt16BE(pointer);
    if (cell < contentStart || cell >= this.usable) throw new NotPlainPages(`page ${pgno}: a cell outside its content area`);
    return cell;
  }

  private leafCell(page: Buffer, cell: number): void {
    const c = cursor.at(page, cell, this.usable);
    const payloadSize = c.varint();
    const rowid = c.varint();
    if (rowid <= this.lastRowid) throw new NotPlainPages('rowids out of order');
    this.lastRowid = rowid;
    const local = payloadSize <= this.usable - 35 ? payloadSize : localPayload(payloadSize, this.usable);
    // A record that spills onto overflow pages keeps a 4-byte page number after its local part.
    const end = c.pos + local + (local < payloadSize ? 4 : 0);
    if (end > this.usable) throw new NotPlainPages('a cell runs past the page');
    this.rows++;
    this.visit(page, rowid, c.pos, c.pos + local, payloadSize);
  }
}

/** How much of a table leaf cell's payload larger than the page allows is on the page itself (the file format's rule). */
function localPayload(payloadSize: number, usable: number): number {
  const maxLocal = usable - 35;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  const k = minLocal + ((payloadSize - minLocal) % (usable - 4));
  return k <= maxLocal ? k : minLocal;
}
