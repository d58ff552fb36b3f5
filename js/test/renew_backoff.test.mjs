// A failed renewal (503, Retry-After: 60) is retried no sooner than Retry-After, with one retry
// pending: showing the tab again does not renew meanwhile.
import { check, jwt, load, reply, tick } from "./harness.mjs";

let refreshes = 0;
const { auth, listeners } = load(async (method, path) => {
  if (path === "/auth/session") return reply(200, { session: { address: "0xabc" }, user: { id: "u1", wallets: [] } });
  if (path === "/auth/refresh") {
    refreshes++;
    if (refreshes === 1) return reply(200, { accessToken: jwt("u1", 5), expiresAt: new Date(Date.now() + 5000).toISOString() });
    return reply(503, { error: { code: "unavailable", message: "down" } }, { "Retry-After": "60" });
  }
  return reply(404, {});
});
const errors = [];
auth.on("error", (e) => errors.push(e.code));
await auth.ready;
listeners.visibilitychange(); // shown, the token near its end: renew → 503
await tick();
check(refreshes === 2 && errors.includes("unavailable"), `the renewal on show: ${refreshes} refreshes, errors ${errors}`);
for (let i = 0; i < 5; i++) {
  listeners.visibilitychange();
  await tick();
}
check(refreshes === 2, `${refreshes - 2} renewals before Retry-After`);
