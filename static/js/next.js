// Where to go after login or sign-up: a path on this site, else "/". The same rule as the
// server's (app/redirects.py), applied again because a saved page can be edited and because
// browsers strip TAB, CR and LF from URLs and read "\" as "/": "/\t/evil.example" would leave.

const HOME = "/";
const PATH = /^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const DECODED_BAD = /[\x00-\x1f\x7f-\x9f\\]/;

export function safeNext(raw) {
  if (typeof raw !== "string" || !raw || raw.length > 500) return HOME;
  if (!PATH.test(raw) || BAD_ESCAPE.test(raw)) return HOME;
  let decoded = raw;
  let stable = false;
  for (let i = 0; i < 4 && !stable; i += 1) {
    let once;
    try {
      once = decodeURIComponent(decoded);
    } catch {
      return HOME;
    }
    stable = once === decoded;
    decoded = once;
  }
  if (!stable || decoded.startsWith("//") || DECODED_BAD.test(decoded) || BAD_ESCAPE.test(decoded)) return HOME;
  // Resolved against this page's origin, it must stay on it.
  let url;
  try {
    url = new URL(raw, location.origin);
  } catch {
    return HOME;
  }
  return url.origin === location.origin ? url.pathname + url.search + url.hash : HOME;
}
