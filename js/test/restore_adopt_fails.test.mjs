// Page load without a usable access cookie: GET /session 401, the refresh brings a token, and
// loading the account then fails (503). As after a renewal (adopt_fails.test.mjs), the client is
// signed out: no token kept, no renewals.
import { check, jwt, load, reply, tick } from "./harness.mjs";

let sessionCalls = 0;
const { auth, calls } = load(async (method, path) => {
  if (path === "/auth/session") {
    sessionCalls++;
    if (sessionCalls === 1) return reply(401, { error: { code: "unauthenticated", message: "no" } });
    return reply(503, { error: { code: "unavailable", message: "down" } });
  }
  if (path === "/auth/refresh") return reply(200, { accessToken: jwt("u1", 60), expiresAt: new Date(Date.now() + 60000).toISOString() });
  return reply(404, {});
}, { speed: 1000 });
auth.on("error", () => {});
await auth.ready;
const before = calls.filter((c) => c === "POST /auth/refresh").length;
await tick(300);
const after = calls.filter((c) => c === "POST /auth/refresh").length;
check(auth.state() === "signed_out", "state " + auth.state());
check(auth.accessToken() === null, "signed out but holding a token");
check(after === before, `${after - before} renewals while signed out`);
