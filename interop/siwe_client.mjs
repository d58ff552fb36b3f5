// Interop check: the reference JavaScript libraries against a running walletauth handler.
//
//   BASE_URL=http://127.0.0.1:PORT ORIGIN=http://127.0.0.1:PORT node interop/siwe_client.mjs
//
// 1. A bare nonce from POST /auth/nonce; the message built by the `siwe` package (SiweMessage),
//    signed by a random ethers Wallet, sent to POST /auth/verify.
// 2. The access token verified with `jose` against GET /auth/jwks.json (issuer and audience =
//    ORIGIN); `sub` must be the user id, `addr` the wallet.
// 3. The other direction: the server-built message (POST /auth/nonce with an address) must parse
//    with the `siwe` package's parser and sign in the same user again.
// Prints one line of JSON and exits 0, or prints the error and exits 1. Run by ../interop_test.go.
import { SiweMessage } from "siwe";
import { Wallet, verifyMessage } from "ethers";
import { createLocalJWKSet, jwtVerify } from "jose";

const BASE_URL = process.env.BASE_URL;
const ORIGIN = process.env.ORIGIN;
const AUTH = (BASE_URL || "").replace(/\/+$/, "") + (process.env.BASE_PATH || "/auth");

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (process.env.SEND_ORIGIN === "1") headers.Origin = ORIGIN;
  const res = await fetch(AUTH + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: status ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new Error(`${method} ${path}: status ${res.status}: ${text.slice(0, 300)}`);
  return data;
}

async function main() {
  check(BASE_URL && ORIGIN, "BASE_URL and ORIGIN must be set");
  const origin = new URL(ORIGIN);
  const wallet = Wallet.createRandom();

  // 1. Client-built message over a bare nonce.
  const n = await call("POST", "/nonce", {});
  check(typeof n.nonce === "string" && /^[A-Za-z0-9]{8,}$/.test(n.nonce), "nonce is 8+ alphanumerics: " + n.nonce);
  check(!Number.isNaN(Date.parse(n.expiresAt)), "expiresAt is a date: " + n.expiresAt);
  check(n.message === undefined || n.message === null, "no message without an address");
  const msg = new SiweMessage({
    domain: origin.host,
    address: wallet.address,
    statement: "Interop test of walletauth with the siwe package.",
    uri: origin.origin,
    version: "1",
    chainId: 1,
    nonce: n.nonce,
    issuedAt: new Date().toISOString(),
  });
  const text = msg.prepareMessage();
  const signature = await wallet.signMessage(text);
  check(verifyMessage(text, signature) === wallet.address, "ethers recovers its own signature");
  const v = await call("POST", "/verify", { message: text, signature });
  check(v.status === "complete", "status complete, got " + JSON.stringify(v.status));
  check(typeof v.accessToken === "string" && v.accessToken.split(".").length === 3, "accessToken is a JWT");
  check(!Number.isNaN(Date.parse(v.expiresAt)), "expiresAt is a date");
  check(v.user && typeof v.user.id === "string" && v.user.id !== "", "user.id present");
  const w0 = v.user.wallets && v.user.wallets[0];
  check(w0 && w0.address === wallet.address && w0.chainId === 1, "user.wallets[0] is the wallet on chain 1: " + JSON.stringify(v.user.wallets));

  // 2. The access token, verified with jose against the published keys.
  const jwks = await call("GET", "/jwks.json");
  check(Array.isArray(jwks.keys) && jwks.keys.length > 0, "JWKS has keys");
  for (const k of jwks.keys) check(!("d" in k) && !("k" in k), "JWKS publishes no private or symmetric key material");
  const keySet = createLocalJWKSet(jwks);
  const { payload, protectedHeader } = await jwtVerify(v.accessToken, keySet, { issuer: ORIGIN, audience: ORIGIN });
  check(payload.sub === v.user.id, `sub ${payload.sub} = user.id ${v.user.id}`);
  check(typeof payload.addr === "string" && payload.addr.toLowerCase() === wallet.address.toLowerCase(), `addr ${payload.addr} = ${wallet.address}`);
  check(typeof payload.exp === "number" && payload.exp * 1000 > Date.now(), "exp in the future");
  let refused = false;
  try {
    await jwtVerify(v.accessToken, keySet, { issuer: ORIGIN, audience: "https://other.example" });
  } catch {
    refused = true;
  }
  check(refused, "a token for another audience is refused");

  // 3. The server-built message parses with siwe's parser and signs in the same user.
  const n2 = await call("POST", "/nonce", { address: wallet.address, chainId: 1 });
  check(typeof n2.message === "string", "message returned for an address");
  const parsed = new SiweMessage(n2.message);
  check(parsed.address === wallet.address, "parsed address");
  check(parsed.domain === origin.host, `parsed domain ${parsed.domain}`);
  check(parsed.nonce === n2.nonce, "parsed nonce");
  check(Number(parsed.chainId) === 1, "parsed chainId");
  check(parsed.prepareMessage() === n2.message, "siwe re-formats the server's message byte for byte");
  const v2 = await call("POST", "/verify", { message: n2.message, signature: await wallet.signMessage(n2.message) });
  check(v2.status === "complete" && v2.user.id === v.user.id, "second sign-in is the same user");

  console.log(JSON.stringify({
    ok: true,
    address: wallet.address,
    userId: v.user.id,
    alg: protectedHeader.alg,
    kid: protectedHeader.kid,
    sid: payload.sid,
    chain: payload.chain,
    aal: payload.aal,
  }));
}

main().catch((err) => {
  console.error("interop failed:", err && err.stack ? err.stack : err);
  process.exit(1);
});
