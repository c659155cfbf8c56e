import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import {
  BACKOFF_FIRST_MS,
  BACKOFF_MAX_MS,
  Link,
  LiveFeed,
  RESYNC_RETRY_MS,
  SILENCE_MS,
  backoffDelay,
  decide,
} from "../../static/js/live.js";
import { CloseCode, EventName, MessageType } from "../../static/js/vocabulary.js";
import { ScriptedSocket } from "./socket.mjs";

const snapshot = (version) => ({ type: MessageType.SNAPSHOT, version, candidates: [], counts: {} });
const event = (version) => ({ type: MessageType.EVENT, version, name: EventName.CANDIDATE_UPDATED });
const heartbeat = (version) => ({ type: MessageType.HEARTBEAT, version });

describe("decide", () => {
  test("a snapshot or a candidate's whole state replaces, whatever came before", () => {
    for (const last of [null, 0, 7, 100]) {
      assert.equal(decide(last, snapshot(3)), "replace");
      assert.equal(decide(last, { type: MessageType.CANDIDATE, version: 3, candidate: null }), "replace");
    }
  });

  test("only the next version is applied", () => {
    assert.equal(decide(4, event(5)), "apply");
    assert.equal(decide(0, event(1)), "apply");
  });

  test("a version already applied is dropped", () => {
    assert.equal(decide(5, event(5)), "ignore");
    assert.equal(decide(5, event(2)), "ignore");
  });

  test("a gap asks for a replay", () => {
    assert.equal(decide(4, event(6)), "resync");
    assert.equal(decide(4, event(40)), "resync");
  });

  test("events before any snapshot are dropped: the snapshot will include them", () => {
    assert.equal(decide(null, event(1)), "ignore");
    assert.equal(decide(null, heartbeat(9)), "ignore");
  });

  test("a heartbeat ahead of us reveals a lost last event", () => {
    assert.equal(decide(4, heartbeat(5)), "resync");
    assert.equal(decide(4, heartbeat(4)), "ignore");
    assert.equal(decide(4, heartbeat(3)), "ignore");
  });

  test("anything without a whole version, or of another type, is ignored", () => {
    for (const version of [undefined, null, "5", 5.5, Number.NaN, true]) {
      assert.equal(decide(4, { type: MessageType.EVENT, version }), "ignore", String(version));
      assert.equal(decide(4, { type: MessageType.HEARTBEAT, version }), "ignore", String(version));
    }
    assert.equal(decide(4, { type: MessageType.ERROR, error: { code: "INVALID_MESSAGE" } }), "ignore");
    assert.equal(decide(4, { type: "nouveau", version: 5 }), "ignore");
    assert.equal(decide(4, {}), "ignore");
  });

  test("a supervisor's message is shown as it comes, whatever the version", () => {
    const note = (version) => ({ type: MessageType.MESSAGE, message: { text: "Il reste 10 minutes", to: null }, version });
    assert.equal(decide(null, note(3)), "notice");
    assert.equal(decide(7, note(3)), "notice");
    assert.equal(decide(2, note(9)), "notice");
  });
});

describe("backoffDelay", () => {
  test("starts near half a second and doubles up to ten seconds", () => {
    const low = (attempt) => backoffDelay(attempt, () => 0);
    const high = (attempt) => backoffDelay(attempt, () => 0.999999);
    assert.equal(low(0), BACKOFF_FIRST_MS / 2);
    assert.ok(high(0) < BACKOFF_FIRST_MS && high(0) > BACKOFF_FIRST_MS * 0.99);
    assert.equal(low(1), BACKOFF_FIRST_MS);
    assert.equal(low(2), BACKOFF_FIRST_MS * 2);
    for (const attempt of [5, 6, 20, 1000]) {
      assert.equal(low(attempt), BACKOFF_MAX_MS / 2);
      assert.ok(high(attempt) <= BACKOFF_MAX_MS);
    }
  });

  test("is never zero and spreads clients out", () => {
    const delays = new Set();
    for (let i = 0; i < 50; i += 1) {
      const d = backoffDelay(3);
      assert.ok(d >= 2000 && d <= 4000, String(d));
      delays.add(d);
    }
    assert.ok(delays.size > 40);
  });
});

describe("LiveFeed", () => {
  let seen;
  let feed;

  const make = (options = {}) => {
    seen = { states: [], events: [], statuses: [], refused: [] };
    feed = new LiveFeed(
      "ws://test/live",
      {
        onState: (m) => seen.states.push(m),
        onEvent: (m) => seen.events.push(m),
        onStatus: (s) => seen.statuses.push(s),
        onRefused: (code) => seen.refused.push(code),
      },
      { WebSocket: ScriptedSocket, random: () => 0, ...options },
    );
    return feed;
  };

  // A feed connected and live at `version`.
  const live = (version = 10, options = {}) => {
    make(options).start();
    ScriptedSocket.last.open();
    ScriptedSocket.last.push(snapshot(version));
    return ScriptedSocket.last;
  };

  beforeEach(() => {
    ScriptedSocket.reset();
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
  });

  afterEach(() => {
    feed.stop();
    mock.timers.reset();
  });

  test("connects, then is live once the snapshot is in", () => {
    make().start();
    assert.equal(ScriptedSocket.made.length, 1);
    assert.equal(ScriptedSocket.last.url, "ws://test/live");
    assert.deepEqual(seen.statuses, [Link.CONNECTING]);
    ScriptedSocket.last.open();
    ScriptedSocket.last.push(snapshot(10));
    assert.equal(seen.states.length, 1);
    assert.deepEqual(seen.statuses, [Link.CONNECTING, Link.LIVE]);
    assert.equal(feed.last, 10);
    feed.start(); // a second start is harmless
    assert.equal(ScriptedSocket.made.length, 1);
  });

  test("a page's own snapshot is shown at once; the socket's snapshot takes over, then its events", () => {
    make().start();
    feed.seed(snapshot(10));
    assert.deepEqual(seen.states.map((m) => m.version), [10]);
    assert.deepEqual(seen.statuses, [Link.CONNECTING]); // shown, but not live: actions wait
    assert.equal(feed.last, 10);
    const socket = ScriptedSocket.last;
    socket.open();
    // Changes made between the page and its socket: the socket's snapshot carries them.
    socket.push(snapshot(12));
    socket.push(event(13));
    socket.push(event(13));
    assert.deepEqual(seen.states.map((m) => m.version), [10, 12]);
    assert.deepEqual(seen.events.map((e) => e.version), [13]);
    assert.deepEqual(seen.statuses, [Link.CONNECTING, Link.LIVE]);
    assert.deepEqual(socket.sent, []); // no gap, no replay asked
    feed.seed(snapshot(11)); // too late, and older: ignored
    assert.equal(feed.last, 13);
    assert.equal(seen.states.length, 2);
  });

  test("a page without a snapshot of its own waits for the socket's", () => {
    make().start();
    feed.seed(null);
    feed.seed({ version: "7" });
    assert.equal(feed.last, null);
    assert.deepEqual(seen.states, []);
  });

  test("applies events in order and drops replays of what it has", () => {
    const socket = live(10);
    socket.push(event(11));
    socket.push(event(12));
    socket.push(event(12));
    socket.push(event(9));
    assert.deepEqual(
      seen.events.map((e) => e.version),
      [11, 12],
    );
    assert.deepEqual(socket.sent, []);
  });

  test("a gap asks once for a replay from the last version, and again only after a while", () => {
    const socket = live(10);
    socket.push(event(13));
    socket.push(event(14));
    socket.push(heartbeat(14));
    assert.deepEqual(socket.sent, [{ type: MessageType.RESYNC, since: 10 }]);
    mock.timers.tick(RESYNC_RETRY_MS + 1);
    socket.push(heartbeat(14));
    assert.deepEqual(socket.sent.at(-1), { type: MessageType.RESYNC, since: 10 });
    assert.equal(socket.sent.length, 2);
    // The replay arrives: applied in order, and the gap is closed.
    for (const v of [11, 12, 13, 14]) socket.push(event(v));
    assert.deepEqual(
      seen.events.map((e) => e.version),
      [11, 12, 13, 14],
    );
    socket.push(heartbeat(14));
    assert.equal(socket.sent.length, 2);
  });

  test("a heartbeat ahead of the last event asks for the replay", () => {
    const socket = live(10);
    socket.push(heartbeat(11));
    assert.deepEqual(socket.sent, [{ type: MessageType.RESYNC, since: 10 }]);
  });

  test("garbage does not stop the feed", () => {
    const socket = live(10);
    socket.push("pas du json");
    socket.push("null");
    socket.push("42");
    socket.push(event(11));
    assert.equal(seen.events.length, 1);
  });

  test("a dropped connection is retried with a growing backoff, reset by the next snapshot", () => {
    live(10).serverCloses(CloseCode.TRY_AGAIN);
    assert.equal(seen.statuses.at(-1), Link.RECONNECTING);
    mock.timers.tick(BACKOFF_FIRST_MS / 2 - 1);
    assert.equal(ScriptedSocket.made.length, 1);
    mock.timers.tick(1);
    assert.equal(ScriptedSocket.made.length, 2);
    // That attempt fails too: the next wait is twice as long.
    ScriptedSocket.last.serverCloses(1006);
    mock.timers.tick(BACKOFF_FIRST_MS - 1);
    assert.equal(ScriptedSocket.made.length, 2);
    mock.timers.tick(1);
    assert.equal(ScriptedSocket.made.length, 3);
    // Back: a fresh snapshot replaces the state, and the backoff starts over.
    ScriptedSocket.last.open();
    ScriptedSocket.last.push(snapshot(15));
    assert.equal(feed.last, 15);
    assert.equal(seen.states.length, 2);
    ScriptedSocket.last.serverCloses(1006);
    mock.timers.tick(BACKOFF_FIRST_MS / 2);
    assert.equal(ScriptedSocket.made.length, 4);
  });

  test("messages from a socket already replaced are not applied", () => {
    const old = live(10);
    old.serverCloses(1006);
    mock.timers.tick(BACKOFF_FIRST_MS);
    ScriptedSocket.last.open();
    old.push(event(11));
    assert.equal(seen.events.length, 0);
  });

  const FINAL = [
    CloseCode.NOT_LOGGED_IN,
    CloseCode.NO_ACCESS,
    CloseCode.POLICY,
    // Replaced by a newer tab, opened elsewhere, over, revoked: reconnecting would only
    // make two tabs take turns, or be refused again.
    CloseCode.REPLACED,
    CloseCode.ELSEWHERE,
    CloseCode.OVER,
    CloseCode.REVOKED,
  ];
  for (const code of FINAL) {
    test(`a refusal (${code}) stops the feed and says why`, () => {
      live(10).serverCloses(code);
      assert.deepEqual(seen.refused, [code]);
      mock.timers.tick(60_000);
      assert.equal(ScriptedSocket.made.length, 1);
      // Started again (a candidate joining again): afresh, from no version.
      feed.start();
      assert.equal(ScriptedSocket.made.length, 2);
      assert.equal(feed.last, null);
    });
  }

  test("restart opens a fresh socket (a candidate's new cookie) and forgets the old one", () => {
    const old = live(10);
    feed.restart();
    assert.equal(ScriptedSocket.made.length, 2);
    assert.equal(feed.last, null);
    old.serverCloses(CloseCode.ELSEWHERE); // the old socket's close is not this feed's
    assert.deepEqual(seen.refused, []);
  });

  test("a silent link is closed and reconnected", () => {
    const socket = live(10);
    mock.timers.tick(SILENCE_MS - 1);
    assert.equal(socket.closedWith, null);
    socket.push(heartbeat(10)); // any message proves the link alive
    mock.timers.tick(SILENCE_MS - 1);
    assert.equal(socket.closedWith, null);
    mock.timers.tick(1);
    assert.equal(socket.closedWith.code, 4000);
    mock.timers.tick(BACKOFF_FIRST_MS);
    assert.equal(ScriptedSocket.made.length, 2);
  });

  test("the candidate's feed heartbeats while open and is never closed for silence", () => {
    const socket = live(3, { heartbeatMs: 5000, silenceMs: null });
    mock.timers.tick(5000 * 3);
    assert.deepEqual(socket.sent, [1, 2, 3].map(() => ({ type: MessageType.HEARTBEAT })));
    mock.timers.tick(SILENCE_MS * 3);
    assert.equal(socket.closedWith, null);
    socket.serverCloses(1006);
    const sent = socket.sent.length;
    mock.timers.tick(5000 * 3);
    assert.equal(socket.sent.length, sent); // no heartbeat on a closed socket
  });

  test("stop closes normally and never reconnects", () => {
    const socket = live(10);
    feed.stop();
    assert.equal(socket.closedWith.code, 1000);
    mock.timers.tick(60_000);
    assert.equal(ScriptedSocket.made.length, 1);
    assert.deepEqual(seen.refused, []);
  });

  test("a socket that cannot even be made is retried", () => {
    let fail = true;
    class Flaky extends ScriptedSocket {
      constructor(url) {
        if (fail) throw new Error("SyntaxError");
        super(url);
      }
    }
    make({ WebSocket: Flaky }).start();
    assert.equal(ScriptedSocket.made.length, 0);
    assert.equal(seen.statuses.at(-1), Link.RECONNECTING);
    fail = false;
    mock.timers.tick(BACKOFF_FIRST_MS / 2);
    assert.equal(ScriptedSocket.made.length, 1);
  });
});
