// A wallet on a network the site does not take: the client asks the server for a message on the
// site's own network, has the wallet switch to it, and signs in; if the user refuses the switch,
// the error says plainly what to do.
import { check, jwt, load, reply } from "./harness.mjs";

const addr = "0x1111111111111111111111111111111111111111";

function wallet({ refuseSwitch = false } = {}) {
  const w = { chain: "0x89", asked: [] };
  w.request = async ({ method, params }) => {
    w.asked.push(method);
    switch (method) {
      case "eth_requestAccounts": return [addr];
      case "eth_chainId": return w.chain;
      case "wallet_switchEthereumChain":
        if (refuseSwitch) throw { code: 4001, message: "User rejected the request." };
        w.switchedTo = params[0].chainId;
        w.chain = params[0].chainId;
        return null;
      case "personal_sign":
        w.signedOn = w.chain;
        w.signed = params[0];
        return "0x" + "ab".repeat(65);
    }
    throw { code: 4200, message: "unsupported " + method };
  };
  return w;
}

function server() {
  const nonces = [];
  const route = async (method, path, init) => {
    const body = init.body ? JSON.parse(init.body) : {};
    if (path === "/auth/refresh") return reply(401, { error: { code: "unauthenticated", message: "no session" } });
    if (path === "/auth/nonce") {
      nonces.push(body);
      if (body.chainId !== undefined && body.chainId !== 1) {
        return reply(401, { error: { code: "chain_not_allowed", message: "chain id " + body.chainId + " is not allowed" } });
      }
      return reply(200, { nonce: "n1", message: "example.com wants you to sign in (chain 1)", chainId: 1, expiresAt: "2030-01-01T00:00:00Z" });
    }
    if (path === "/auth/verify") {
      return reply(200, { status: "complete", accessToken: jwt("u1", 60), expiresAt: new Date(Date.now() + 60000).toISOString(),
        user: { id: "u1", wallets: [{ address: addr, chainId: 1 }] } });
    }
    if (path === "/auth/session") return reply(200, { session: { address: addr }, user: { id: "u1", wallets: [] } });
    return reply(404, {});
  };
  return { route, nonces };
}

{ // the switch is accepted: signed in on the site's network
  const w = wallet(), srv = server();
  const { auth, calls } = load(srv.route, { options: { provider: w } });
  auth.on("error", () => {});
  await auth.ready;
  const res = await auth.signIn();
  check(res && res.status === "complete", "sign-in result " + JSON.stringify(res));
  check(w.switchedTo === "0x1", "the wallet was asked to switch to " + w.switchedTo);
  check(w.signedOn === "0x1", "signed on " + w.signedOn);
  check(srv.nonces.length === 2 && srv.nonces[0].chainId === 137 && srv.nonces[1].chainId === undefined,
    "nonce requests " + JSON.stringify(srv.nonces));
  check(calls.filter((c) => c === "POST /auth/verify").length === 1, "verify calls " + calls);
  check(auth.state() === "signed_in", "state " + auth.state());
}

{ // the switch is refused: a plain error, nothing signed
  const w = wallet({ refuseSwitch: true }), srv = server();
  const { auth, calls } = load(srv.route, { options: { provider: w } });
  let shown = null;
  auth.on("error", (e) => (shown = e));
  await auth.ready;
  let thrown = null;
  try { await auth.signIn(); } catch (e) { thrown = e; }
  check(thrown && thrown.code === "wrong_network", "error " + (thrown && thrown.code));
  check(/network 1 /.test(thrown.message) && /Switch/.test(thrown.message), "message " + thrown.message);
  check(shown === thrown, "the error event carries the error");
  check(!w.asked.includes("personal_sign"), "the wallet was asked to sign: " + w.asked);
  check(!calls.includes("POST /auth/verify"), "verify was called");
  check(auth.state() === "signed_out", "state " + auth.state());
}

{ // another error at the nonce stays that error
  const w = wallet();
  const { auth } = load(async (method, path) => {
    if (path === "/auth/refresh") return reply(401, { error: { code: "unauthenticated", message: "no session" } });
    if (path === "/auth/nonce") return reply(429, { error: { code: "rate_limited", message: "slow down" } });
    return reply(404, {});
  }, { options: { provider: w } });
  auth.on("error", () => {});
  await auth.ready;
  let thrown = null;
  try { await auth.signIn(); } catch (e) { thrown = e; }
  check(thrown && thrown.code === "rate_limited", "error " + (thrown && thrown.code));
  check(!w.asked.includes("wallet_switchEthereumChain"), "asked to switch on a rate limit");
}
