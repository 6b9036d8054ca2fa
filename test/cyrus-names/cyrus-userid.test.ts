import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useridFromCyrus } from '../../src/cyrus-names/cyrus-userid.js';

// backups.db keys as Cyrus 3.6.1 writes them (observed: jos&AOk-, a&-b, anne.smith, and a domain in modified UTF-7).
const table: Array<[spelled: string, userid: string]> = [
  ['jos&AOk-', 'josé'],
  ['a&-b', 'a&b'],
  ['anne.smith', 'anne.smith'],
  ['anne.smith@example.com', 'anne.smith@example.com'],
  ['zed@&T4tbUA-.&Ti1W,Q-', 'zed@例子.中国'],
];
for (const [spelled, userid] of table) {
  test(`Cyrus's ${spelled} is the userid ${userid}`, () => assert.equal(useridFromCyrus(spelled), userid));
}

test('a spelling that is not modified UTF-7 is kept as it is, so the user still shows', () => {
  assert.equal(useridFromCyrus('jos&AOk'), 'jos&AOk');
});
