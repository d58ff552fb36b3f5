// While the client loads another tab's account after a renewal brought its token, it hands out
// no token of that account: accessToken() and user() always belong to one account.
import { check, jwt, load, reply, tick } from "./harness.mjs";

let who = "u1", hold = false, release;
const { auth } = load(async (method, path) => {
  if (path === "/auth/session") {
    if (hold) await new Promise((r) => (release = r));
    return reply(200, { session: { address: "0x" + who }, user: { id: who, wallets: [] } });
  }
  if (path === "/auth/refresh") return reply(200, { accessToken: jwt(who, 60), expiresAt: new Date(Date.now() + 60000).toISOString() });
  return reply(404, {});
});
await auth.ready;
who = "u2";
hold = true;
const renewal = auth.refresh();
while (!release) await tick(1);
const sub = JSON.parse(Buffer.from(auth.accessToken().split(".")[1], "base64url")).sub;
const shown = auth.user().id;
release();
await renewal;
check(sub === shown, `the page shows ${shown} while accessToken() is ${sub}'s`);
