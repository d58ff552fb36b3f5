// A renewal that brings another account's token (another tab signed in with it) makes the client
// show that account, and a call that was meant for the account shown before is not sent again
// for the new one: it rejects with account_changed.
import { check, jwt, load, reply } from "./harness.mjs";

let who = "u1", saves = 0;
const { auth, calls } = load(async (method, path, init) => {
  const bearer = (init.headers && (init.headers.Authorization || "")) || "";
  if (path === "/auth/session") return reply(200, { session: { address: who === "u1" ? "0x111" : "0x222" }, user: { id: who, wallets: [] } });
  if (path === "/auth/refresh") return reply(200, { accessToken: jwt(who, 60), expiresAt: new Date(Date.now() + 60000).toISOString() });
  if (path === "/auth/user/metadata") {
    // The first account's token is revoked by now: 401, as after the other tab's sign-out.
    if (!bearer.includes(Buffer.from(JSON.stringify({ sub: who, iat: 100, exp: 160 })).toString("base64url"))) return reply(401, { error: { code: "session_revoked", message: "revoked" } });
    saves++;
    return reply(200, { unsafeMetadata: {} });
  }
  return reply(404, {});
});
const changes = [];
auth.on("change", (user) => changes.push(user && user.id));
await auth.ready;
check(auth.user().id === "u1", "signed in as the first account");
who = "u2"; // another tab signs out and in with the second account
let err = null;
try {
  await auth.profile.setUnsafeMetadata({ note: "meant for u1" });
} catch (e) {
  err = e;
}
check(err && err.code === "account_changed", "the call meant for u1: " + (err ? err.code : "sent"));
check(saves === 0, "saved for the second account");
check(auth.user().id === "u2" && changes.at(-1) === "u2", "the client shows " + (auth.user() && auth.user().id));
check(calls.filter((c) => c === "PUT /auth/user/metadata").length === 1, "metadata calls: " + calls.join(", "));
