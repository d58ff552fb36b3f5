// When loading another tab's account fails, the client is signed out for good: no token kept,
// no renewals going on.
import { check, jwt, load, reply, tick } from "./harness.mjs";

let who = "u1", sessionDown = false;
const { auth, calls } = load(async (method, path) => {
  if (path === "/auth/session") {
    if (sessionDown) return reply(503, { error: { code: "unavailable", message: "down" } });
    return reply(200, { session: { address: "0x1" }, user: { id: who, wallets: [] } });
  }
  if (path === "/auth/refresh") return reply(200, { accessToken: jwt(who, 60), expiresAt: new Date(Date.now() + 60000).toISOString() });
  return reply(404, {});
}, { speed: 1000 });
auth.on("error", () => {});
await auth.ready;
who = "u2";
sessionDown = true;
await tick(80); // the renewal (48 ms at this speed) brings u2's token; loading u2 fails
sessionDown = false;
const before = calls.filter((c) => c === "POST /auth/refresh").length;
await tick(300);
const after = calls.filter((c) => c === "POST /auth/refresh").length;
check(auth.state() === "signed_out", "state " + auth.state());
check(auth.accessToken() === null, "signed out but holding a token");
check(after === before, `${after - before} renewals after the sign-out`);
