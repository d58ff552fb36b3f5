// A sign-out while the client loads another tab's account (after a renewal brought its token)
// stays a sign-out.
import { check, jwt, load, reply, tick } from "./harness.mjs";

let who = "u1", holdSession = false, release;
const { auth } = load(async (method, path) => {
  if (path === "/auth/session") {
    if (holdSession) await new Promise((r) => (release = r));
    return reply(200, { session: { address: "0x1" }, user: { id: who, wallets: [] } });
  }
  if (path === "/auth/refresh") return reply(200, { accessToken: jwt(who, 60), expiresAt: new Date(Date.now() + 60000).toISOString() });
  if (path === "/auth/logout") return reply(204, null);
  return reply(404, {});
});
await auth.ready;
who = "u2"; // another tab signed in with another account
holdSession = true;
const renewal = auth.refresh().catch(() => {});
while (!release) await tick(1);
await auth.signOut();
release();
await renewal;
await tick();
check(auth.state() === "signed_out", "after a sign-out during the adoption, the page shows " + auth.state());
check(auth.accessToken() === null, "a token after the sign-out");
