// The pages' one live socket: versioned messages, gap detection, reconnection.
//
// Both pages use LiveFeed. The supervisor's feed counts the session's versions: a
// snapshot replaces everything; an event is applied only if it is exactly the next
// version; a gap (or a heartbeat ahead of us) asks for a replay from the last version
// applied, and anything older was already applied and is dropped. The candidate's feed
// receives its whole state each time, which replaces like a snapshot, and keeps its
// socket alive with a heartbeat of its own.
//
// No DOM here beyond what `start()` listens to, so node's test runner can drive it.
import { CloseCode, MessageType } from "./vocabulary.js";

export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 10000;
// The server heartbeats supervisors at least every 15 s; silence past this means a dead link.
export const SILENCE_MS = 40000;
export const RESYNC_RETRY_MS = 5000;

// Closes after which trying again would be refused again: the page says why and stops.
// REPLACED: a newer tab of the same person took over (two tabs would take turns closing
// each other); ELSEWHERE, OVER: the candidate's test went on elsewhere or is over;
// REVOKED: the centre took the supervisor's access back.
const REFUSALS = new Set([
  CloseCode.NOT_LOGGED_IN,
  CloseCode.NO_ACCESS,
  CloseCode.POLICY,
  CloseCode.REPLACED,
  CloseCode.ELSEWHERE,
  CloseCode.OVER,
  CloseCode.REVOKED,
]);
// Our own close of a link gone silent (4000-4999 is for applications).
const CLOSE_SILENCE = 4000;
const CLOSE_NORMAL = 1000;
const OPEN = 1;

// What the page shows of its link.
export const Link = Object.freeze({ CONNECTING: "connecting", RECONNECTING: "reconnecting", LIVE: "live" });

// What to do with one message, given the last version applied: pure, so the rule reads in one place.
export function decide(last, message) {
  if (message.type === MessageType.SNAPSHOT || message.type === MessageType.CANDIDATE) return "replace";
  // A supervisor's message to a candidate: shown as it comes, outside the versions' order.
  if (message.type === MessageType.MESSAGE) return "notice";
  const v = message.version;
  if (!Number.isInteger(v)) return "ignore";
  if (message.type === MessageType.HEARTBEAT) return last !== null && v > last ? "resync" : "ignore";
  if (message.type !== MessageType.EVENT) return "ignore";
  if (last === null || v <= last) return "ignore";
  return v === last + 1 ? "apply" : "resync";
}

export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  // "Equal jitter": never zero, never all supervisors at the same instant after a restart.
  return ceiling / 2 + random() * (ceiling / 2);
}

const ignore = () => {};

export class LiveFeed {
  // handlers: onState (snapshot or candidate message), onEvent, onNotice (a supervisor's message),
  // onStatus (a Link), onRefused (close code).
  // options: heartbeatMs (the client's own heartbeat, off by default), silenceMs (null: never
  // silent too long), and for tests the WebSocket class, the clock and the random source.
  constructor(url, handlers = {}, options = {}) {
    this.url = url;
    this.handlers = { onState: ignore, onEvent: ignore, onNotice: ignore, onStatus: ignore, onRefused: ignore, ...handlers };
    this.heartbeatMs = options.heartbeatMs ?? null;
    this.silenceMs = options.silenceMs === undefined ? SILENCE_MS : options.silenceMs;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.now = options.now ?? (() => Date.now());
    this.random = options.random ?? Math.random;
    this.last = null;
    this.attempt = 0;
    this.socket = null;
    this.resyncAsked = null;
    this.resyncAt = 0;
    this.running = false;
    this.listening = false;
    this.silenceTimer = null;
    this.retryTimer = null;
    this.beatTimer = null;
  }

  // Idempotent; after a stop or a refusal it starts afresh (a candidate may join again).
  start() {
    if (this.running) return;
    this.running = true;
    this.last = null;
    this.attempt = 0;
    this.listen();
    this.connect();
  }

  // The snapshot the page was rendered with (after start): shown at once, before any socket
  // opens. The socket's own first snapshot, read later so never older, replaces it; events
  // follow from there. The link stays "connecting" until then: actions wait for it.
  seed(snapshot) {
    if (!snapshot || !Number.isInteger(snapshot.version) || this.last !== null) return;
    this.last = snapshot.version;
    this.handlers.onState(snapshot);
  }

  listen() {
    if (this.listening || typeof window === "undefined") return;
    this.listening = true;
    // A laptop waking from sleep: try at once rather than wait out the backoff.
    window.addEventListener("online", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.retryNow();
    });
  }

  retryNow() {
    if (!this.running || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    this.handlers.onStatus(this.attempt === 0 && this.last === null ? Link.CONNECTING : Link.RECONNECTING);
    let socket;
    try {
      socket = new this.WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket === this.socket) this.beat(socket);
    });
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) this.receive(event.data);
    });
    socket.addEventListener("close", (event) => this.closed(socket, event));
    this.watchSilence();
  }

  beat(socket) {
    if (this.heartbeatMs === null) return;
    clearInterval(this.beatTimer);
    this.beatTimer = setInterval(() => {
      if (socket.readyState === OPEN) socket.send(JSON.stringify({ type: MessageType.HEARTBEAT }));
    }, this.heartbeatMs);
  }

  watchSilence() {
    if (this.silenceMs === null) return;
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      if (this.socket) this.socket.close(CLOSE_SILENCE, "silence");
    }, this.silenceMs);
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (message === null || typeof message !== "object") return;
    this.watchSilence();
    switch (decide(this.last, message)) {
      case "replace":
        this.last = Number.isInteger(message.version) ? message.version : this.last;
        this.resyncAsked = null;
        this.attempt = 0;
        this.handlers.onState(message);
        this.handlers.onStatus(Link.LIVE);
        break;
      case "apply":
        this.last = message.version;
        this.handlers.onEvent(message);
        break;
      case "notice":
        this.handlers.onNotice(message);
        break;
      case "resync":
        // One request per gap: the replay covers every version after `last`.
        // A lost reply is asked again after a while (the next heartbeat will still be ahead).
        if (this.resyncAsked !== this.last || this.now() - this.resyncAt > RESYNC_RETRY_MS) {
          this.resyncAsked = this.last;
          this.resyncAt = this.now();
          this.send({ type: MessageType.RESYNC, since: this.last });
        }
        break;
      default:
        break;
    }
  }

  send(message) {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    clearTimeout(this.silenceTimer);
    clearInterval(this.beatTimer);
    if (!this.running) return;
    if (REFUSALS.has(event.code)) {
      this.running = false;
      this.handlers.onRefused(event.code);
      return;
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    this.socket = null;
    this.handlers.onStatus(Link.RECONNECTING);
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // A new cookie (a candidate's join): the socket must carry it, so open a fresh one.
  restart() {
    this.stop();
    this.start();
  }

  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    clearInterval(this.beatTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(CLOSE_NORMAL, "bye");
  }
}

export function liveUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}
