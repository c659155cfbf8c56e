// The supervisor's live feed: versioned messages, gap detection, reconnection.
//
// The server's versions are the session's event counter. A snapshot replaces
// everything; an event is applied only if it is exactly the next version; a
// gap (or a heartbeat ahead of us) asks for a replay from the last version
// applied. Anything older was already applied and is dropped.

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10000;
// The server sends a heartbeat at least every 15 s; silence past this means a dead link.
const SILENCE_MS = 40000;
const RESYNC_RETRY_MS = 5000;

export const CLOSE_NOT_LOGGED_IN = 4401;
export const CLOSE_NO_ACCESS = 4403;

// What to do with one message, given the last version applied: pure, so the rule reads in one place.
export function decide(last, message) {
  if (message.type === "snapshot") return "replace";
  const v = message.version;
  if (!Number.isInteger(v)) return "ignore";
  if (message.type === "heartbeat") return last !== null && v > last ? "resync" : "ignore";
  if (message.type !== "event") return "ignore";
  if (last === null || v <= last) return "ignore";
  return v === last + 1 ? "apply" : "resync";
}

export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  // "Equal jitter": never zero, never all supervisors at the same instant after a restart.
  return ceiling / 2 + random() * (ceiling / 2);
}

export class LiveFeed {
  constructor(url, { onSnapshot, onEvent, onStatus, onRefused }) {
    this.url = url;
    this.handlers = { onSnapshot, onEvent, onStatus, onRefused };
    this.last = null;
    this.attempt = 0;
    this.socket = null;
    this.resyncAsked = null;
    this.resyncAt = 0;
    this.stopped = false;
    this.silenceTimer = null;
    this.retryTimer = null;
  }

  start() {
    this.connect();
    // A laptop waking from sleep: try at once rather than wait out the backoff.
    window.addEventListener("online", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.socket) this.retryNow();
    });
  }

  retryNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    this.handlers.onStatus(this.attempt === 0 && this.last === null ? "connecting" : "reconnecting");
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => this.closed(socket, event));
    this.watchSilence();
  }

  watchSilence() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      if (this.socket) this.socket.close(4000, "silence");
    }, SILENCE_MS);
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    this.watchSilence();
    switch (decide(this.last, message)) {
      case "replace":
        this.last = message.version;
        this.resyncAsked = null;
        this.attempt = 0;
        this.handlers.onSnapshot(message);
        this.handlers.onStatus("live");
        break;
      case "apply":
        this.last = message.version;
        this.handlers.onEvent(message);
        break;
      case "resync":
        // One request per gap: the replay covers every version after `last`.
        // A lost reply is asked again after a while (the next heartbeat will still be ahead).
        if (this.resyncAsked !== this.last || Date.now() - this.resyncAt > RESYNC_RETRY_MS) {
          this.resyncAsked = this.last;
          this.resyncAt = Date.now();
          this.send({ type: "resync", since: this.last });
        }
        break;
      default:
        break;
    }
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    clearTimeout(this.silenceTimer);
    if (this.stopped) return;
    if (event.code === CLOSE_NOT_LOGGED_IN || event.code === CLOSE_NO_ACCESS || event.code === 1008) {
      this.stopped = true;
      this.handlers.onRefused(event.code);
      return;
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    this.socket = null;
    this.handlers.onStatus("reconnecting");
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    if (this.socket) this.socket.close(1000, "bye");
  }
}

export function liveUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}
