// Chromium test of the demo page, with a test wallet injected into the page.
//
//   BASE_URL=http://127.0.0.1:PORT node examples/server/e2e/demo.mjs
//   (CHROMIUM=/path/to/chromium to use another browser; Debian's /usr/bin/chromium by default)
//
// The wallet is an EIP-1193 provider that announces itself with EIP-6963 and signs in node with
// an ethers Wallet (a fixed test key, through page.exposeFunction). Scenarios:
//   1. sign in: the page shows the address and GET /api/me {userId, address, chainId, aal};
//      the access token renews by itself before it expires (the old one is then refused);
//      a reload restores the session from cookies; sign out returns to the signed-out state and
//      the server refuses the session afterwards;
//   2. no wallet at all: the "No Ethereum wallet found" message;
//   3. a wallet whose user rejects the signature (EIP-1193 code 4001): the "rejected" message;
//   4. a wallet only at window.ethereum (no EIP-6963): signs in too.
// Screenshots go to e2e/out/ for humans. Prints one line of JSON and exits 0, or the error and 1.
// Run by ../e2e_test.go, which starts the demo with a short access-token lifetime.
import { chromium } from "playwright-core";
import { Wallet, getBytes } from "ethers";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BASE_URL = (process.env.BASE_URL || "").replace(/\/+$/, "");
const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), "out");
// Hardhat's well-known first test account: a test key, never a real one.
const wallet = new Wallet("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const CHAIN_ID = 10; // OP Mainnet: one of the demo's default chains, not the default one
const NO_WALLET = "No Ethereum wallet found. Install MetaMask or another wallet.";
const REJECTED = "You rejected the request in your wallet.";
const WAIT = { timeout: 20000 };

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

// Runs in the page before any of its scripts: the fake wallet. mode: "ok" | "reject" | "legacy".
function installWallet({ address, chainHex, mode }) {
  const rpcError = (code, message) => Object.assign(new Error(message), { code });
  const provider = {
    isMetaMask: true,
    async request({ method, params }) {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [address];
        case "eth_chainId":
          return chainHex;
        case "personal_sign":
          if (mode === "reject") throw rpcError(4001, "MetaMask Tx Signature: User denied message signature.");
          return window.__e2eSign(params[0], params[1]);
        default:
          throw rpcError(4200, "unsupported method " + method);
      }
    },
    on() {},
    removeListener() {},
  };
  if (mode === "legacy") {
    window.ethereum = provider;
    return;
  }
  const info = {
    uuid: "9f1c3a52-5c1e-4f4e-9d51-6f0c8e2b7a10",
    name: "E2E Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E",
    rdns: "io.metamask",
  };
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
}

async function newPage(browser, mode, log, { url = "/", ready = "body[data-ready=true]", html } = {}) {
  const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => log.push("pageerror: " + err.message));
  page.on("console", (m) => {
    // A 401 from GET /auth/session while signed out is expected and logged by Chromium.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) log.push("console: " + m.text());
  });
  if (mode) {
    const signed = [];
    page.signed = signed;
    await page.exposeFunction("__e2eSign", async (data, addr) => {
      check(addr === wallet.address, "personal_sign for the wallet's address, got " + addr);
      check(/^0x[0-9a-fA-F]*$/.test(data), "personal_sign data is 0x-hex");
      const text = Buffer.from(getBytes(data)).toString("utf8");
      signed.push(text);
      return wallet.signMessage(getBytes(data));
    });
    await page.addInitScript(installWallet, { address: wallet.address, chainHex: "0x" + CHAIN_ID.toString(16), mode });
  }
  // A page of the site's origin that the server does not have: served by the browser itself.
  if (html) await page.route(BASE_URL + url, (route) => route.fulfill({ contentType: "text/html", body: html }));
  await page.goto(BASE_URL + url);
  await page.waitForSelector(ready, WAIT);
  return page;
}

async function errorText(page) {
  await page.waitForSelector("#error-box:not([hidden])", WAIT);
  return (await page.textContent("#error")).trim();
}

async function me(page, token) {
  return page.evaluate(async (tok) => {
    const res = tok ? await fetch("/api/me", { headers: { Authorization: "Bearer " + tok }, credentials: "omit" })
      : await WalletAuth.create().fetch("/api/me");
    return { status: res.status, body: await res.json().catch(() => null) };
  }, token);
}

function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

async function main() {
  check(BASE_URL, "BASE_URL must be set");
  mkdirSync(OUT, { recursive: true });
  const log = [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // Playwright gives every launch a fresh temporary user-data dir.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
  const summary = { ok: true, address: wallet.address };
  try {
    // 1. Sign in, renewal, restore, sign out.
    const page = await newPage(browser, "ok", log);
    check(await page.isVisible("#signin"), "the sign-in button shows");
    check((await page.textContent("#signin")).includes("Sign in with MetaMask"), "button text");
    await page.click("#signin");
    await page.waitForFunction((a) => document.getElementById("address").textContent === a, wallet.address, WAIT);
    await page.waitForFunction(() => document.getElementById("me").textContent.includes("userId"), null, WAIT);
    const shown = JSON.parse(await page.textContent("#me"));
    check(typeof shown.userId === "string" && shown.userId.length > 0, "/api/me userId: " + JSON.stringify(shown));
    check(shown.address === wallet.address, "/api/me address: " + shown.address);
    check(shown.chainId === CHAIN_ID, "/api/me chainId: " + shown.chainId);
    check(shown.aal === "aal1", "/api/me aal: " + shown.aal);
    check(await page.isHidden("#signin"), "the sign-in button hides when signed in");
    check(await page.isHidden("#error"), "no error shown after sign-in");
    check(page.signed.length === 1, "one signature requested, got " + page.signed.length);
    const { host, protocol } = new URL(BASE_URL);
    const head = ` wants you to sign in with your Ethereum account:\n${wallet.address}\n`;
    check([host + head, `${protocol}//${host}` + head].some((h) => page.signed[0].startsWith(h)),
      "signed an EIP-4361 message for this host (scheme optional):\n" + page.signed[0]);
    check(page.signed[0].includes(`\nChain ID: ${CHAIN_ID}\n`), "signed message is for the wallet's chain");
    summary.userId = shown.userId;
    await page.screenshot({ path: path.join(OUT, "signed-in.png"), fullPage: true });

    // Renewal: the client replaces the token before it expires; once the old one is dead
    // (exp + the server's clock skew), the page still gets /api/me.
    const first = await page.evaluate(() => WalletAuth.create().accessToken());
    const c = claims(first);
    const life = (c.exp - c.iat) * 1000;
    summary.tokenLifetimeSeconds = life / 1000;
    await page.waitForFunction((t) => { const n = WalletAuth.create().accessToken(); return n && n !== t; }, first,
      { timeout: life + 10000, polling: 200 });
    const renewedAt = Date.now();
    const skewWait = c.exp * 1000 + 6000 - Date.now();
    if (skewWait > 0 && skewWait < 30000) {
      await page.waitForTimeout(skewWait);
      const old = await me(page, first);
      check(old.status === 401, "the expired first token is refused, status " + old.status);
    }
    const fresh = await me(page);
    check(fresh.status === 200 && fresh.body.userId === shown.userId, "/api/me with the renewed token: " + JSON.stringify(fresh));
    summary.renewedAfterMs = renewedAt - c.iat * 1000;

    // Reload: the session comes back from the cookies (GET /session, POST /refresh).
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", WAIT);
    await page.waitForFunction((a) => document.getElementById("address").textContent === a, wallet.address, WAIT);
    await page.waitForFunction(() => document.getElementById("me").textContent.includes("userId"), null, WAIT);
    check(JSON.parse(await page.textContent("#me")).userId === shown.userId, "restored session is the same user");

    // Sign out.
    const before = await page.evaluate(() => WalletAuth.create().accessToken());
    await page.click("#signout");
    await page.waitForSelector("body[data-state=signed-out]", WAIT);
    check(await page.isVisible("#signin"), "the sign-in button is back");
    check(await page.isHidden("#signed-in"), "the signed-in panel is gone");
    check(await page.evaluate(() => WalletAuth.create().accessToken()) === null, "no access token after sign-out");
    const after = await me(page, before);
    check(after.status === 401, "the signed-out session's token is refused, status " + after.status);
    check((await me(page)).status === 401, "/api/me answers 401 after sign-out");
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", WAIT);
    check(await page.isVisible("#signin") && await page.isHidden("#signed-in"), "still signed out after a reload");
    await page.screenshot({ path: path.join(OUT, "signed-out.png"), fullPage: true });

    // 2. No wallet installed.
    const bare = await newPage(browser, null, log);
    await bare.click("#signin");
    const noWallet = await errorText(bare);
    check(noWallet === NO_WALLET, "no-wallet message: " + noWallet);
    check(await bare.isVisible("#install"), "a link to install MetaMask shows without a wallet");
    check(await bare.isVisible("#signin"), "still signed out without a wallet");
    await bare.screenshot({ path: path.join(OUT, "no-wallet.png"), fullPage: true });

    // 3. The user rejects the signature request.
    const rej = await newPage(browser, "reject", log);
    await rej.click("#signin");
    const rejected = await errorText(rej);
    check(rejected === REJECTED, "rejected message: " + rejected);
    check(await rej.isHidden("#install"), "no install link when a wallet is there");
    check(await rej.isVisible("#signin") && await rej.isHidden("#signed-in"), "still signed out after a rejection");
    check(!(await rej.isDisabled("#signin")), "the button works again after a rejection");
    await rej.screenshot({ path: path.join(OUT, "rejected.png"), fullPage: true });

    // 4. A wallet that only sets window.ethereum.
    const legacy = await newPage(browser, "legacy", log);
    await legacy.click("#signin");
    await legacy.waitForFunction((a) => document.getElementById("address").textContent === a, wallet.address, WAIT);
    await legacy.waitForFunction(() => document.getElementById("me").textContent.includes("userId"), null, WAIT);
    check(JSON.parse(await legacy.textContent("#me")).userId === shown.userId, "same wallet, same user via window.ethereum");

    // 5. The one-tag, one-element embedding: <script> + <button data-walletauth>.
    const snippet = '<!doctype html><title>snippet</title><script src="/auth/client.js"></script>' +
      "<button data-walletauth>Sign in with Ethereum</button>";
    const btnReady = "[data-walletauth][data-walletauth-state=signed-out]";
    const btn = await newPage(browser, "ok", log, { url: "/snippet", html: snippet, ready: btnReady });
    check((await btn.textContent("[data-walletauth]")) === "Sign in with Ethereum", "snippet button text");
    await btn.click("[data-walletauth]");
    await btn.waitForSelector("[data-walletauth-state=signed-in]", WAIT);
    check((await btn.textContent("[data-walletauth]")) === "Sign out", "snippet button toggles to Sign out");
    check((await btn.evaluate(() => WalletAuth.create().user().id)) === shown.userId, "snippet signs in the same user");
    check((await me(btn)).status === 200, "/api/me works after the snippet's sign-in");
    await btn.click("[data-walletauth]");
    await btn.waitForSelector(btnReady, WAIT);
    check((await btn.textContent("[data-walletauth]")) === "Sign in with Ethereum", "snippet button toggles back");
    const bareBtn = await newPage(browser, null, log, { url: "/snippet", html: snippet, ready: btnReady });
    await bareBtn.click("[data-walletauth]");
    await bareBtn.waitForFunction((m) => document.querySelector("[data-walletauth-error]").textContent === m, NO_WALLET, WAIT);
    await bareBtn.screenshot({ path: path.join(OUT, "snippet-no-wallet.png") });

    check(log.length === 0, "no page errors:\n" + log.join("\n"));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(summary));
}

main().catch((err) => {
  console.error("demo e2e failed:", err && err.stack ? err.stack : err);
  process.exit(1);
});
