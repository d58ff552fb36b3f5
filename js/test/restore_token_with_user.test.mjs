// Page load with only a refresh cookie: the refresh brings a token, and the client loads its
// account (GET /session). While that load is under way it hands out no token: accessToken() and
// user() belong to one account, or neither is there.
import { check, jwt, load, reply, tick } from "./harness.mjs";

let release, refreshed = false;
const { auth } = load(async (method, path) => {
  if (path === "/auth/session") {
    if (!refreshed) return reply(401, { error: { code: "unauthenticated", message: "no access cookie" } });
    await new Promise((r) => (release = r)); // the load after the refresh: held
    return reply(200, { session: { address: "0x1" }, user: { id: "u1", wallets: [] } });
  }
  if (path === "/auth/refresh") {
    refreshed = true;
    return reply(200, { accessToken: jwt("u1", 60), expiresAt: new Date(Date.now() + 60000).toISOString() });
  }
  return reply(404, {});
});
while (!release) await tick(1);
const tok = auth.accessToken(), u = auth.user();
release();
await auth.ready;
check(!(tok && !u), `during the load accessToken() is ${tok ? "set" : "null"} while user() is ${u && u.id}`);
check(auth.user() && auth.user().id === "u1" && auth.accessToken(), "after the load: signed in as u1 with a token");
