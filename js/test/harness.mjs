// A harness for unit tests of walletauth.js in Node, without a browser: it loads the script in a
// vm context with a stub window, document and fetch (routes answered by the test), and returns
// the client and the document's event listeners. Used by the *.test.mjs files beside it, which
// clientscript_test.go runs with node.
import fs from "node:fs";
import vm from "node:vm";

const src = fs.readFileSync(new URL("../walletauth.js", import.meta.url), "utf8");

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
// jwt is an unsigned token with the claims the client reads (sub, iat, exp): the client never
// checks signatures, the server does.
export const jwt = (sub, lifeSeconds) => b64({ alg: "none" }) + "." + b64({ sub, iat: 100, exp: 100 + lifeSeconds }) + ".sig";

export function reply(status, body, headers = {}) {
  return { status, ok: status >= 200 && status < 300, headers: new Map(Object.entries(headers)), json: async () => body };
}

// load runs walletauth.js with route(method, path, init) answering its fetches; it returns the
// client for basePath /auth, the document's listeners, and the calls made ("POST /auth/refresh").
// speed > 1 runs the script's timers that much faster (a 48 s renewal in 48 ms at 1000); options
// go to WalletAuth.create (a provider, say).
export function load(route, { speed = 1, options = {} } = {}) {
  const calls = [];
  const fetch = async (url, init) => {
    const path = new URL(url).pathname;
    calls.push(init.method + " " + path);
    return route(init.method, path, init);
  };
  const listeners = {};
  const win = { addEventListener: () => {}, dispatchEvent: () => {}, fetch };
  const doc = {
    currentScript: null, readyState: "complete", querySelectorAll: () => [],
    addEventListener: (kind, fn) => (listeners[kind] = fn), visibilityState: "visible",
  };
  const ctx = {
    window: win, document: doc, location: { href: "https://example.com/" }, URL, Event: class {},
    Headers, TextEncoder, atob, console, JSON, Promise, Date, Math, Object, Array, String, isFinite, parseInt,
    setTimeout: (fn, ms) => { const t = setTimeout(fn, (ms || 0) / speed); t.unref(); return t; }, clearTimeout,
  };
  vm.createContext(ctx);
  vm.runInContext(src, ctx);
  return { auth: win.WalletAuth.create({ basePath: "/auth", ...options }), listeners, calls };
}

export function check(ok, what) {
  if (!ok) {
    console.error("FAIL: " + what);
    process.exit(1);
  }
}

export const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
