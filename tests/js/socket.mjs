// A scripted stand-in for the browser's WebSocket (node 20 has none): the test plays the
// server, opening, sending and closing each socket the feed creates.

export class ScriptedSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 3;
  static made = [];

  constructor(url) {
    this.url = url;
    this.readyState = ScriptedSocket.CONNECTING;
    this.sent = [];
    this.closedWith = null;
    this.listeners = { open: [], message: [], close: [] };
    ScriptedSocket.made.push(this);
  }

  static reset() {
    ScriptedSocket.made = [];
  }

  static get last() {
    return ScriptedSocket.made.at(-1);
  }

  addEventListener(type, fn) {
    this.listeners[type].push(fn);
  }

  send(text) {
    if (this.readyState !== ScriptedSocket.OPEN) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(text));
  }

  // The page closing it: the browser then reports the close with the page's code.
  close(code, reason) {
    this.closedWith = { code, reason };
    this.serverCloses(code);
  }

  // --- the server's side
  open() {
    this.readyState = ScriptedSocket.OPEN;
    for (const fn of this.listeners.open) fn({});
  }

  push(message) {
    const data = typeof message === "string" ? message : JSON.stringify(message);
    for (const fn of this.listeners.message) fn({ data });
  }

  serverCloses(code) {
    if (this.readyState === ScriptedSocket.CLOSED) return;
    this.readyState = ScriptedSocket.CLOSED;
    for (const fn of this.listeners.close) fn({ code });
  }
}
