// A sign-out while the page-load restore is renewing the token leaves the page signed out, and
// still signs out at the server.
import { check, jwt, load, reply } from "./harness.mjs";

let release;
const { auth, calls } = load(async (method, path) => {
  if (path === "/auth/session") return reply(200, { session: { address: "0xabc" }, user: { id: "u1", wallets: [] } });
  if (path === "/auth/refresh") {
    await new Promise((r) => (release = r)); // held until the sign-out has happened
    return reply(200, { accessToken: jwt("u1", 60), expiresAt: new Date(Date.now() + 60000).toISOString() });
  }
  if (path === "/auth/logout") return reply(204, null);
  return reply(404, {});
});
while (!release) await new Promise((r) => setTimeout(r, 1));
await auth.signOut();
release();
await auth.ready;
check(auth.state() === "signed_out", "state after a sign-out during the restore: " + auth.state());
check(auth.accessToken() === null, "a token after the sign-out");
check(calls.includes("POST /auth/logout"), "no POST /auth/logout: " + calls.join(", "));
