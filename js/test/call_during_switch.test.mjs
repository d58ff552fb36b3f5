// A call sent for the first account, whose answer (401: that session has ended) comes after a
// renewal brought another tab's account, is not sent again for the second account.
import { check, jwt, load, reply, tick } from "./harness.mjs";

let who = "u1", holdPut = false, release;
const saves = [];
const subOf = (init) => {
  try { return JSON.parse(Buffer.from(init.headers.Authorization.split(" ")[1].split(".")[1], "base64url")).sub; } catch { return null; }
};
const { auth } = load(async (method, path, init) => {
  if (path === "/auth/session") return reply(200, { session: { address: "0x" + who }, user: { id: who, wallets: [] } });
  if (path === "/auth/refresh") return reply(200, { accessToken: jwt(who, 60), expiresAt: new Date(Date.now() + 60000).toISOString() });
  if (path === "/auth/user/metadata") {
    const sub = subOf(init);
    if (holdPut) {
      holdPut = false;
      await new Promise((r) => (release = r));
    }
    if (sub !== who) return reply(401, { error: { code: "session_revoked", message: "revoked" } });
    saves.push(sub);
    return reply(200, { unsafeMetadata: {} });
  }
  return reply(404, {});
});
await auth.ready;
holdPut = true;
const call = auth.profile.setUnsafeMetadata({ note: "meant for u1" }).then(() => "sent", (e) => e.code);
while (!release) await tick(1);
who = "u2";
await auth.refresh(); // the timer's renewal: the other tab's account arrives
release();
const outcome = await call;
check(saves.length === 0, "the call meant for u1 was saved for " + saves);
check(outcome === "account_changed", "the call ended with " + outcome);
check(auth.user().id === "u2", "the client shows " + auth.user().id);
