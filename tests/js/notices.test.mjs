import assert from "node:assert/strict";
import { test } from "node:test";

import { NoticeLog } from "../../static/js/candidate-room.js";

// localStorage as a browser keeps it, without a browser.
class Storage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
  }
  get length() {
    return this.map.size;
  }
  key(i) {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  setItem(key, value) {
    this.map.set(key, String(value));
  }
  removeItem(key) {
    this.map.delete(key);
  }
}

const DAY = 24 * 3600 * 1000;
const frame = (version) => ({ type: "message", message: { text: `v${version}`, to: null }, at: "2021-12-28T11:00:00Z", version });

test("each version is shown once, whether it came live or again with a state", () => {
  const log = new NoticeLog(new Storage());
  log.owner(668, 3);
  assert.equal(log.admit(frame(10)), true);
  assert.equal(log.admit(frame(10)), false);
  assert.equal(log.admit(frame(12)), true);
  // A frame without a version cannot be told apart: shown.
  assert.equal(log.admit({ type: "message", message: { text: "x", to: null } }), true);
});

test("a closed message stays closed after a reload; one never closed comes back", () => {
  const storage = new Storage();
  const before = new NoticeLog(storage, () => 1000);
  before.owner(668, 3);
  before.admit(frame(10));
  before.admit(frame(11));
  before.close(10);
  const reloaded = new NoticeLog(storage, () => 2000);
  reloaded.owner(668, 3);
  assert.equal(reloaded.admit(frame(10)), false);
  assert.equal(reloaded.admit(frame(11)), true);
  // Another candidate of the same browser has closed nothing.
  const other = new NoticeLog(storage, () => 2000);
  other.owner(668, 4);
  assert.equal(other.admit(frame(10)), true);
});

test("the record is bounded and old ones of other sessions are dropped", () => {
  const storage = new Storage({
    "surveillance:notices:1:1": JSON.stringify({ at: 0, closed: [1] }),
    "surveillance:notices:2:2": "not json",
    "other:key": "kept",
  });
  const log = new NoticeLog(storage, () => 3 * DAY);
  log.owner(668, 3);
  assert.deepEqual([...storage.map.keys()], ["other:key"]);
  for (let v = 1; v <= 30; v += 1) log.close(v);
  const kept = JSON.parse(storage.getItem("surveillance:notices:668:3"));
  assert.equal(kept.closed.length, 20);
  assert.equal(Math.min(...kept.closed), 11);
});

test("without storage (refused by the browser) closing still works within the page", () => {
  const log = new NoticeLog(null);
  log.owner(668, 3);
  log.admit(frame(5));
  log.close(5);
  assert.equal(log.admit(frame(5)), false);
  const broken = new NoticeLog({ getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("denied"); }, key: () => null, length: 0 });
  broken.owner(668, 3);
  broken.close(6);
  assert.equal(broken.admit(frame(6)), false);
});
