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
//   4. a wallet only at window.ethereum (no EIP-6963): signs in too;
//   5. the one-tag embedding (<button data-walletauth>);
//   6. two-factor authentication, with TOTP codes computed here by otplib from the secret the
//      page shows, at the real time (the server's clock is the same): turn it on (QR, secret,
//      a wrong code, the right one, 10 recovery codes); "Turn off" and the sensitive action
//      ask for a fresh factor (step-up with a recovery code); a sign-in completed with a
//      recovery code (a spent one is refused); the embedding's inline code prompt; another user:
//      an expired pending sign-in and the lockout after five wrong codes; finally a sign-in
//      with the code of the time step after the confirming one (waiting for it, < 30 s: each
//      step is accepted once), aal2, the sensitive action without a prompt, turning it off
//      with "sign out my other devices";
//   7. the profile panel, with a user of its own whose wallet shares two accounts: the user id;
//      unsafe metadata refused (400: not an object; 413: over 8 KiB), saved and seen after a
//      reload; an email address added, a wrong code, then the code the server's development
//      sender logged (read through the test-only route GET /test/last-code, which e2e_test.go
//      adds), verified and primary; a second address made primary and removed (its confirm
//      dialog cancelled first, which keeps it, then accepted); "Link another wallet" links the
//      second account (the first is linked already), then "Unlink" (cancelled, then accepted);
//   7b. two tabs sharing the refresh cookie: tab A signs out and in with another account; tab B,
//      still showing the first, tries to save metadata: it shows the second account from its
//      renewal on, says why, and saves nothing;
//   8. linked accounts (OAuth), with the fake OpenID Connect provider "fake" that e2e_test.go
//      runs (its authorize endpoint approves at once and redirects back): "Link Fake" leaves the
//      page for the provider and comes back with "Linked your Fake account." and the account
//      shown (the ?oauth_linked parameter gone from the address bar); another user linking the
//      same fake account gets the already_linked message; "Unlink" (confirmed) removes it; a signed-out
//      page given ?oauth_error=unauthenticated shows its message in the error box.
// Screenshots go to e2e/out/ for humans. Prints one line of JSON and exits 0, or the error and 1.
// Run by ../e2e_test.go, which starts the demo with a short access-token lifetime.
import { chromium } from "playwright-core";
import { Wallet, getBytes, id } from "ethers";
import { generateSync } from "otplib";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BASE_URL = (process.env.BASE_URL || "").replace(/\/+$/, "");
const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), "out");
// Hardhat's well-known first test account: a test key, never a real one.
const wallet = new Wallet("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
// The MFA scenarios use users of their own: Hardhat's second test account, and a key made from
// a fixed string.
const mfaWallet = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const lockWallet = new Wallet(id("walletauth e2e: lockout user"));
// The profile scenario's user, and the second account its wallet shares.
const profileWallet = new Wallet(id("walletauth e2e: profile user"));
const secondWallet = new Wallet(id("walletauth e2e: profile user, second wallet"));
// The two-tab scenario's users: one wallet, switched from one account to the other.
const tabOne = new Wallet(id("walletauth e2e: tab user one"));
const tabTwo = new Wallet(id("walletauth e2e: tab user two"));
// The OAuth scenario's two users.
const oauthWallet = new Wallet(id("walletauth e2e: oauth user"));
const oauthOther = new Wallet(id("walletauth e2e: oauth user, the other one"));
const FAKE_USERNAME = "ada-e2e"; // what the fake provider (e2e_test.go) says of its account
const FAKE_EMAIL = "ada-e2e@example.com";
const ALREADY_LINKED = "Linking failed: that account is linked to another user.";
const UNAUTHENTICATED = "Linking failed: you were not signed in. Sign in, then try again.";
const CHAIN_ID = 10; // OP Mainnet: one of the demo's default chains, not the default one
const NO_WALLET = "No Ethereum wallet found. Install MetaMask or another wallet.";
const REJECTED = "You rejected the request in your wallet.";
const WRONG_NETWORK = "Your wallet is on a network this site does not use. Switch it to network 1 (chain id) and try again.";
const INVALID_CODE = "That code is not right. Try the current code from your app.";
const TIMED_OUT = "Your sign-in timed out. Sign in again.";
const INVALID_CONTACT_CODE = "That code is not right. Check the latest code we sent you.";
const LOCKED = /^Too many wrong codes\. Try again in (\d+) s\.$/;
const RECOVERY_CODE = /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/;
const STEP = 30; // TOTP time step, seconds
const WAIT = { timeout: 20000 };

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

// Runs in the page before any of its scripts: the fake wallet. mode: "ok" | "reject" | "legacy" |
// "refuse-switch" (signs, but refuses to change networks).
function installWallet({ addresses, chainHex, mode }) {
  const rpcError = (code, message) => Object.assign(new Error(message), { code });
  let chain = chainHex;
  const provider = {
    isMetaMask: true,
    async request({ method, params }) {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return window.__e2eAccounts || addresses; // a test may switch the wallet's account
        case "eth_chainId":
          return chain;
        case "wallet_switchEthereumChain":
          if (mode === "refuse-switch") throw rpcError(4001, "User rejected the request.");
          chain = params[0].chainId;
          window.__e2eSwitchedTo = chain;
          return null;
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

async function newPage(browser, mode, log, { url = "/", ready = "body[data-ready=true]", html, signer = wallet, more = [], chainId = CHAIN_ID } = {}) {
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
    const signers = [signer, ...more];
    await page.exposeFunction("__e2eSign", async (data, addr) => {
      const key = signers.find((w) => w.address === addr);
      check(key, "personal_sign for one of the wallet's addresses, got " + addr);
      check(/^0x[0-9a-fA-F]*$/.test(data), "personal_sign data is 0x-hex");
      const text = Buffer.from(getBytes(data)).toString("utf8");
      signed.push(text);
      return key.signMessage(getBytes(data));
    });
    await page.addInitScript(installWallet, { addresses: signers.map((w) => w.address), chainHex: "0x" + chainId.toString(16), mode });
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

// TOTP as authenticator apps do it (RFC 6238: SHA-1, 6 digits, 30 s), for a given time step.
function totp(secret, step) {
  return generateSync({ secret, epoch: step * STEP });
}
function currentStep() {
  return Math.floor(Date.now() / 1000 / STEP);
}
// A code that is none of the codes of the steps around now: surely wrong.
function wrongCode(secret) {
  const now = currentStep();
  const near = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, now + d)));
  return ["000000", "123456", "999999", "314159"].find((c) => !near.has(c));
}

// Waits until the page is signed in and shows GET /api/me; returns what it shows.
async function signedIn(page) {
  await page.waitForSelector("body[data-state=signed-in]", WAIT);
  await page.waitForFunction(() => document.getElementById("me").textContent.includes("userId"), null, WAIT);
  return JSON.parse(await page.textContent("#me"));
}

async function signOutPage(page) {
  await page.click("#signout");
  await page.waitForSelector("body[data-state=signed-out]", WAIT);
}

// The session as the server has it (GET /auth/session with the page's access token).
async function sessionOf(page) {
  return page.evaluate(async () => {
    const res = await fetch("/auth/session", { headers: { Authorization: "Bearer " + WalletAuth.create().accessToken() } });
    return (await res.json()).session;
  });
}

async function textIs(page, sel, want) {
  await page.waitForFunction(([s, w]) => document.querySelector(s).textContent === w, [sel, want], WAIT)
    .catch(async () => { throw new Error(`${sel}: want ${JSON.stringify(want)}, shows ${JSON.stringify(await page.textContent(sel))}`); });
}

// Turns TOTP on from the panel of a signed-in page and returns the secret it showed (read
// from the page, as a person would type it), the step of the confirming code and the
// recovery codes.
async function turnOnTOTP(page, { wrongFirst = false, shots = false } = {}) {
  await page.waitForSelector("#mfa[data-mfa=off] #mfa-enable", { ...WAIT, state: "visible" });
  await page.click("#mfa-enable");
  await page.waitForSelector("#mfa-enrol:not([hidden])", WAIT);
  await page.waitForFunction(() => { const i = document.getElementById("mfa-qr"); return i.complete && i.naturalWidth > 0; }, null, WAIT);
  const qr = await page.evaluate(() => { const i = document.getElementById("mfa-qr"); return { src: i.src.slice(0, 22), w: i.naturalWidth, h: i.naturalHeight }; });
  check(qr.src === "data:image/png;base64," && qr.w === 256 && qr.h === 256, "the QR code is a 256×256 PNG: " + JSON.stringify(qr));
  const secret = (await page.textContent("#mfa-secret")).replace(/\s+/g, "");
  check(/^[A-Z2-7]{32}$/.test(secret), "the secret is 160 bits of base32: " + secret);
  if (shots) await page.screenshot({ path: path.join(OUT, "mfa-qr.png"), fullPage: true });
  if (wrongFirst) {
    await page.fill("#mfa-confirm-code", wrongCode(secret));
    await page.click("#mfa-confirm");
    await textIs(page, "#mfa-message", INVALID_CODE);
    check(await page.isVisible("#mfa-enrol"), "still enrolling after a wrong code");
  }
  const step = currentStep();
  await page.fill("#mfa-confirm-code", totp(secret, step));
  await page.click("#mfa-confirm");
  await page.waitForSelector("#mfa-codes-view:not([hidden])", WAIT);
  const codes = await page.$$eval("#mfa-codes li", (lis) => lis.map((li) => li.textContent));
  check(codes.length === 10, "10 recovery codes shown, got " + codes.length);
  check(codes.every((c) => RECOVERY_CODE.test(c)) && new Set(codes).size === 10, "recovery codes: " + codes.join(" "));
  check(await page.isHidden("#mfa-enrol") && await page.isHidden("#mfa-message"), "the enrolment step is gone");
  if (shots) await page.screenshot({ path: path.join(OUT, "mfa-recovery-codes.png"), fullPage: true });
  await page.click("#mfa-codes-done");
  await page.waitForSelector("#mfa[data-mfa=on] #mfa-on:not([hidden])", WAIT);
  check((await page.textContent("#mfa-codes")) === "", "the recovery codes are shown once");
  return { secret, step, codes };
}

// The last code the server's development sender "sent" to someone (test-only route).
async function lastCode(to) {
  const res = await fetch(BASE_URL + "/test/last-code?to=" + encodeURIComponent(to));
  check(res.ok, "a code was logged for " + to + ": " + res.status);
  return (await res.json()).code;
}

// answerNextDialog answers the next dialog of page (a confirm before unlinking or removing):
// accept or dismiss; the promise it returns gives the dialog's text.
function answerNextDialog(page, accept) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no dialog was shown")), WAIT.timeout);
    page.once("dialog", async (d) => {
      clearTimeout(timer);
      check(d.type() === "confirm", "a confirm dialog, got " + d.type());
      const text = d.message();
      await (accept ? d.accept() : d.dismiss());
      resolve(text);
    });
  });
}

async function contactRow(page, value, verified) {
  const sel = `#contacts li[data-value="${value}"][data-verified=${verified}]`;
  await page.waitForSelector(sel, WAIT);
  return sel;
}

// Two tabs share the refresh cookie. Tab A signs out and signs in with another account; tab B,
// which still shows the first, tries to save its metadata: its renewal brings the other
// account's token, so it shows that account from then on and saves nothing — no page acts as an
// account it does not show.
async function tabsScenario(browser, log) {
  const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
  await context.exposeFunction("__e2eSign", async (data, addr) => {
    const key = [tabOne, tabTwo].find((w) => w.address === addr);
    check(key, "personal_sign for one of the wallet's addresses, got " + addr);
    return key.signMessage(getBytes(data));
  });
  await context.addInitScript(installWallet, { addresses: [tabOne.address], chainHex: "0x" + CHAIN_ID.toString(16), mode: "ok" });
  const open = async () => {
    const page = await context.newPage();
    page.on("pageerror", (err) => log.push("pageerror: " + err.message));
    await page.goto(BASE_URL + "/");
    await page.waitForSelector("body[data-ready=true]", WAIT);
    return page;
  };
  const a = await open();
  await a.click("#signin");
  const one = await signedIn(a);
  const b = await open();
  check((await signedIn(b)).userId === one.userId, "tab B shows the first account");
  await textIs(b, "#address", tabOne.address);
  // Tab B's own timer must not renew first (it would then show the second account before the
  // save, rightly, and the save would be the second account's): its renewals fail until the save.
  await b.route("**/auth/refresh", (route) => route.fulfill({ status: 503, contentType: "application/json",
    headers: { "Retry-After": "120" }, body: '{"error":{"code":"unavailable","message":"held by the test"}}' }));

  await signOutPage(a);
  await a.evaluate((addr) => { window.__e2eAccounts = [addr]; }, tabTwo.address);
  await a.click("#signin");
  const two = await signedIn(a);
  check(two.userId !== one.userId && two.address === tabTwo.address, "tab A signed in with the second account");

  check((await b.textContent("#address")) === tabOne.address, "tab B still shows the first account");
  await b.unroute("**/auth/refresh");
  await b.fill("#unsafe-metadata", '{"note":"typed in tab B"}');
  await b.click("#unsafe-save");
  await b.waitForFunction(() => document.getElementById("unsafe-message").textContent !== "", null, WAIT);
  const said = await b.textContent("#unsafe-message");
  check(said.includes("Another tab signed in with another account"), "tab B says why nothing was saved: " + said);
  await textIs(b, "#address", tabTwo.address);
  await b.waitForFunction((id) => document.getElementById("profile-id").textContent === id, two.userId, WAIT);
  await a.reload();
  await signedIn(a);
  await a.waitForFunction(() => document.getElementById("unsafe-metadata").value !== "", null, WAIT);
  check((await a.inputValue("#unsafe-metadata")).trim() === "{}", "the second account's metadata is untouched");
  await signOutPage(a);
  await context.close();
  return { switched: true };
}

async function profileScenario(browser, log) {
  const p = await newPage(browser, "ok", log, { signer: profileWallet, more: [secondWallet] });
  await p.click("#signin");
  const who = await signedIn(p);
  check(who.address === profileWallet.address, "signed in with the wallet's first account: " + who.address);
  await textIs(p, "#profile-id", who.userId);
  await p.waitForSelector(`#wallets li[data-address="${profileWallet.address}"]`, WAIT);
  check((await p.$$("#wallets li")).length === 1, "one wallet");
  check((await p.$$("#wallets button")).length === 0, "no Unlink for the only wallet");
  await textIs(p, "#public-metadata", "{}");

  // Unsafe metadata: refused, refused, saved; still there after a reload.
  const save = async (text, want) => {
    await p.fill("#unsafe-metadata", text);
    await p.click("#unsafe-save");
    await p.waitForFunction(([w]) => new RegExp(w).test(document.getElementById("unsafe-message").textContent), [want.source], WAIT)
      .catch(async () => { throw new Error(`unsafe metadata: want ${want}, shows ${JSON.stringify(await p.textContent("#unsafe-message"))}`); });
  };
  await save("[1, 2]", /^Not saved \(400\): .*object/);
  await save(JSON.stringify({ note: "x".repeat(9000) }), /^Not saved \(413\): .*8 KiB/);
  await save("{oops", /^Not valid JSON/);
  const meta = { theme: "dark", tags: ["e2e", "ünïcode"], n: 1 };
  await save(JSON.stringify(meta), /^Saved\.$/);
  await p.reload();
  await signedIn(p);
  await p.waitForFunction(() => document.getElementById("unsafe-metadata").value.includes("theme"), null, WAIT);
  check(JSON.stringify(JSON.parse(await p.inputValue("#unsafe-metadata"))) === JSON.stringify(meta), "unsafe metadata after a reload");

  // An email address: code sent, a wrong code, the right one; verified and primary.
  const email = "e2e-profile@example.com";
  await p.selectOption("#contact-kind", "email");
  await p.fill("#contact-value", email);
  await p.click("#contact-add");
  await textIs(p, "#contact-message", "A code was sent to " + email + ".");
  await contactRow(p, email, false);
  check(await p.isVisible("#contact-code"), "the code field shows");
  await p.locator("#profile").screenshot({ path: path.join(OUT, "profile-code.png") });
  const code = await lastCode(email);
  check(/^\d{6}$/.test(code), "six digits: " + code);
  await p.fill("#contact-code", code === "000000" ? "111111" : "000000");
  await p.click("#contact-verify");
  await textIs(p, "#contact-message", INVALID_CONTACT_CODE);
  await p.fill("#contact-code", code);
  await p.click("#contact-verify");
  await textIs(p, "#contact-message", email + " is verified.");
  const row = await contactRow(p, email, true);
  check(await p.isHidden("#contact-verify-form"), "the code field is gone");
  check((await p.$$eval(row + " .badge", (bs) => bs.map((b) => b.textContent))).join(",") === "verified,primary", "verified and primary badges");

  // A second address becomes primary, then goes.
  const email2 = "e2e-second@example.com";
  await p.fill("#contact-value", email2);
  await p.click("#contact-add");
  await textIs(p, "#contact-message", "A code was sent to " + email2 + ".");
  await p.fill("#contact-code", await lastCode(email2));
  await p.click("#contact-verify");
  const row2 = await contactRow(p, email2, true);
  await p.click(row2 + " button:text-is('Make primary')");
  await p.waitForSelector(row2 + " .badge.primary", WAIT);
  await p.waitForSelector(row + " button:text-is('Make primary')", WAIT);
  let asked = answerNextDialog(p, false); // "Cancel": nothing happens
  await p.click(row2 + " button:text-is('Remove')");
  check((await asked) === "Remove " + email2 + "?", "the removal is confirmed first");
  await p.waitForSelector(row2 + " button:text-is('Remove'):enabled", WAIT);
  check(await p.isVisible(row2), "a cancelled removal keeps the address");
  asked = answerNextDialog(p, true);
  await p.click(row2 + " button:text-is('Remove')");
  await asked;
  await textIs(p, "#contact-message", "Removed " + email2 + ".");
  await p.waitForSelector(row + " .badge.primary", WAIT); // the first address is primary again

  // Link the wallet's second account (the first is linked already), then unlink it.
  const signedBefore = p.signed.length;
  await p.click("#wallet-link");
  await textIs(p, "#wallet-message", "Linked " + secondWallet.address + ".");
  check(p.signed.length === signedBefore + 1 && p.signed.at(-1).includes("\n" + secondWallet.address + "\n"), "the second account signed");
  const second = `#wallets li[data-address="${secondWallet.address}"]`;
  await p.waitForSelector(second + " button:text-is('Unlink')", WAIT);
  check(await p.isHidden(`#wallets li[data-address="${profileWallet.address}"] button`), "no Unlink for this session's wallet");
  check((await p.textContent(`#wallets li[data-address="${profileWallet.address}"]`)).includes("this session"), "this session's wallet is marked");
  await p.locator("#profile").screenshot({ path: path.join(OUT, "profile.png") });
  await p.screenshot({ path: path.join(OUT, "profile-page.png"), fullPage: true });
  await p.click("#wallet-link");
  await textIs(p, "#wallet-message", "Every account your wallet shares is linked already. Choose another account in your wallet, then try again.");
  asked = answerNextDialog(p, false);
  await p.click(second + " button:text-is('Unlink')");
  check((await asked).startsWith("Unlink " + secondWallet.address + "?"), "unlinking is confirmed first");
  await p.waitForSelector(second + " button:text-is('Unlink'):enabled", WAIT);
  check((await p.$$("#wallets li")).length === 2, "a cancelled unlink keeps the wallet");
  asked = answerNextDialog(p, true);
  await p.click(second + " button:text-is('Unlink')");
  await asked;
  await textIs(p, "#wallet-message", "Unlinked " + secondWallet.address + ".");
  check((await p.$$("#wallets li")).length === 1, "one wallet again");
  check((await signedIn(p)).userId === who.userId, "still signed in");
  await signOutPage(p);
  return { email, verified: true, linked: secondWallet.address, unlinked: true };
}

// "Link Fake" on a signed-in page: through the fake provider and back to the page.
async function linkFake(p) {
  const row = "#oauth-accounts li[data-provider=fake]";
  await p.waitForSelector(row + " button:text-is('Link Fake')", WAIT);
  // The redirects through /auth/oauth/fake/start, the provider and the callback commit no
  // document: the next navigation is the page again, at /?oauth_linked=… or /?oauth_error=….
  await Promise.all([
    p.waitForNavigation({ url: (u) => u.origin === BASE_URL && u.pathname === "/", ...WAIT }),
    p.click(row + " button:text-is('Link Fake')"),
  ]);
  await p.waitForSelector("body[data-ready=true]", WAIT);
  await p.waitForFunction(() => !document.getElementById("oauth-message").hidden, null, WAIT);
  check(new URL(p.url()).search === "", "the oauth parameters are removed from the address: " + p.url());
  return (await p.textContent("#oauth-message")).trim();
}

async function oauthScenario(browser, log) {
  const p = await newPage(browser, "ok", log, { signer: oauthWallet });
  await p.click("#signin");
  const who = await signedIn(p);
  const row = "#oauth-accounts li[data-provider=fake]";
  await p.waitForSelector(row + "[data-linked=false]", WAIT);
  check((await p.textContent(row)).includes("Not linked"), "the fake provider is offered, not linked");
  check(await p.isHidden("#oauth-none"), "no 'configure a provider' sentence with a provider");
  const msg = await linkFake(p);
  check(msg === "Linked your Fake account.", "success message: " + msg);
  check(!(await p.getAttribute("#oauth-message", "class")).includes("error-text"), "success is not shown as an error");
  check((await signedIn(p)).userId === who.userId, "still the same user after the round trip");
  await p.waitForSelector(row + "[data-linked=true] button:text-is('Unlink')", WAIT);
  const shown = await p.textContent(row);
  check(shown.includes(FAKE_USERNAME) && shown.includes(FAKE_EMAIL), "the linked account shows: " + shown);
  await p.locator("#profile").screenshot({ path: path.join(OUT, "oauth-linked.png") });

  // Another user cannot link the same provider account.
  const q = await newPage(browser, "ok", log, { signer: oauthOther });
  await q.click("#signin");
  await signedIn(q);
  const refused = await linkFake(q);
  check(refused === ALREADY_LINKED, "already_linked message: " + refused);
  check((await q.getAttribute("#oauth-message", "class")).includes("error-text"), "a failure is shown as an error");
  await q.waitForSelector(row + "[data-linked=false]", WAIT);
  await q.locator("#profile").screenshot({ path: path.join(OUT, "oauth-already-linked.png") });
  await q.context().close();

  // Unlink it.
  const asked = answerNextDialog(p, true);
  await p.click(row + " button:text-is('Unlink')");
  check((await asked) === "Unlink your Fake account?", "unlinking is confirmed first");
  await textIs(p, "#oauth-message", "Unlinked your Fake account.");
  await p.waitForSelector(row + "[data-linked=false] button:text-is('Link Fake')", WAIT);
  check(!(await p.textContent(row)).includes(FAKE_USERNAME), "the account is gone");
  await p.context().close();

  // Back here without a session: the message goes to the page's error box.
  const bare = await newPage(browser, null, log, { url: "/?oauth_error=unauthenticated" });
  const e = await errorText(bare);
  check(e === UNAUTHENTICATED, "unauthenticated message: " + e);
  check(new URL(bare.url()).search === "", "parameters removed while signed out too");
  await bare.context().close();

  // A link can put any text in the parameters: the page says only what it would say itself.
  for (const code of ["Your%20wallet%20is%20compromised.%20Call%20%2B1-555-0100", "__proto__", "constructor"]) {
    const planted = await newPage(browser, null, log, { url: "/?oauth_error=" + code });
    const said = await errorText(planted);
    check(said === "Linking failed. Try again.", "an unknown oauth_error shows a plain message: " + said);
    await planted.context().close();
  }
  return { linked: FAKE_USERNAME, alreadyLinked: true, unlinked: true };
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
  const started = Date.now();
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

    // 4b. A wallet on a network the demo does not take (56, BNB Chain): asked to switch to the
    // demo's first chain, it does, and signs in there; one that refuses is told what to do.
    const away = await newPage(browser, "ok", log, { chainId: 56 });
    await away.click("#signin");
    await away.waitForFunction((a) => document.getElementById("address").textContent === a, wallet.address, WAIT);
    check(await away.evaluate(() => window.__e2eSwitchedTo) === "0x1", "the wallet was asked to switch to chain 1");
    check(away.signed.length === 1 && away.signed[0].includes("\nChain ID: 1\n"), "signed a message for chain 1: " + away.signed);
    const stay = await newPage(browser, "refuse-switch", log, { chainId: 56 });
    await stay.click("#signin");
    const wrong = await errorText(stay);
    check(wrong === WRONG_NETWORK, "wrong network message: " + wrong);
    check(stay.signed.length === 0 && await stay.isVisible("#signin"), "nothing signed, still signed out");

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
    summary.basicMs = Date.now() - started;

    // 6. Two-factor authentication, with a user of its own.
    const mfaStarted = Date.now();
    const m1 = await newPage(browser, "ok", log, { signer: mfaWallet });
    await m1.click("#signin");
    const me1 = await signedIn(m1);
    check(me1.aal === "aal1" && me1.address === mfaWallet.address, "MFA user signed in at aal1: " + JSON.stringify(me1));
    await textIs(m1, "#mfa-status", "Off: your wallet alone signs you in.");
    // Without MFA the sensitive action cannot step up: the page says what to do.
    await m1.click("#sensitive");
    await textIs(m1, "#sensitive-result", "This needs a second factor: turn on two-factor authentication first.");
    check(await m1.isHidden("#stepup"), "no code prompt without MFA");

    const { secret, step: confirmStep, codes } = await turnOnTOTP(m1, { wrongFirst: true, shots: true });
    await textIs(m1, "#mfa-status", "On: sign-ins ask for a code from your authenticator app. 10 recovery codes left.");
    check((await signedIn(m1)).aal === "aal1", "turning MFA on leaves the session at aal1");

    // "Turn off" wants a fresh second factor: this aal1 session is asked for one; cancel.
    await m1.click("#mfa-disable");
    await m1.waitForSelector("#stepup:not([hidden])", WAIT);
    check(await m1.evaluate(() => document.getElementById("mfa-on").nextElementSibling.id === "stepup"), "the prompt shows under Turn off");
    await m1.click("#stepup-cancel");
    await m1.waitForSelector("#stepup", { ...WAIT, state: "hidden" });
    await m1.waitForFunction(() => !document.getElementById("mfa-disable").disabled, null, WAIT);
    check(await m1.isHidden("#mfa-message"), "cancelling says nothing");
    await textIs(m1, "#mfa-status", "On: sign-ins ask for a code from your authenticator app. 10 recovery codes left.");

    // The sensitive action: 403 insufficient_assurance → step up (with a recovery code) → done.
    await m1.click("#sensitive");
    await m1.waitForSelector("#stepup:not([hidden])", WAIT);
    check(await m1.evaluate(() => document.getElementById("sensitive-row").nextElementSibling.id === "stepup"), "the prompt shows under the action");
    await m1.click("#stepup-toggle");
    check((await m1.textContent("#stepup-label")).includes("recovery code"), "the prompt switches to recovery codes");
    await m1.fill("#stepup-code", codes[0]);
    await m1.screenshot({ path: path.join(OUT, "mfa-stepup.png"), fullPage: true });
    await m1.click("#stepup-submit");
    await textIs(m1, "#sensitive-result", 'Done: the server answered {"ok":true}');
    check(await m1.isHidden("#stepup"), "the prompt is gone after the step-up");
    await m1.waitForFunction(() => document.getElementById("me").textContent.includes('"aal": "aal2"'), null, WAIT);
    await textIs(m1, "#mfa-status", "On: sign-ins ask for a code from your authenticator app. 9 recovery codes left.");

    // A sign-in completed with a recovery code; a spent one is refused.
    const m2 = await newPage(browser, "ok", log, { signer: mfaWallet });
    await m2.click("#signin");
    await m2.waitForSelector("body[data-state=second-factor]", WAIT);
    check(await m2.evaluate(() => WalletAuth.create().state()) === "second_factor", "client state second_factor");
    check(await m2.evaluate(() => WalletAuth.create().accessToken()) === null, "no access token while the second factor is pending");
    check((await me(m2)).status === 401, "a pending sign-in unlocks nothing");
    check(await m2.isHidden("#signed-in") && await m2.isHidden("#signed-out"), "only the code step shows");
    await m2.screenshot({ path: path.join(OUT, "mfa-code-prompt.png"), fullPage: true });
    await m2.click("#factor-toggle");
    await textIs(m2, "#factor-label", "Enter one of your recovery codes");
    await m2.fill("#factor-code", codes[0]);
    await m2.click("#factor-submit");
    check(await errorText(m2) === INVALID_CODE, "a spent recovery code is refused");
    check(await m2.isVisible("#factor-code"), "the code step stays after a wrong code");
    await m2.fill("#factor-code", codes[1]);
    await m2.click("#factor-submit");
    const me2 = await signedIn(m2);
    check(me2.aal === "aal2" && me2.userId === me1.userId, "recovery-code sign-in at aal2: " + JSON.stringify(me2));
    check(JSON.stringify((await sessionOf(m2)).amr) === '["siwe","recovery_code"]', "amr of a recovery-code sign-in");
    await textIs(m2, "#mfa-status", "On: sign-ins ask for a code from your authenticator app. 8 recovery codes left.");
    await signOutPage(m2);

    // The one-element embedding asks for the code inline.
    const sb = await newPage(browser, "ok", log, { url: "/snippet", html: snippet, ready: btnReady, signer: mfaWallet });
    await sb.click("[data-walletauth]");
    await sb.waitForSelector("[data-walletauth-state=second-factor]", WAIT);
    await sb.waitForSelector("[data-walletauth-code]:not([hidden])", WAIT);
    check((await sb.textContent("[data-walletauth]")) === "Cancel", "the button offers Cancel while the code is pending");
    await sb.click("[data-walletauth-toggle]");
    await sb.fill("#walletauth-code", codes[2]);
    await sb.screenshot({ path: path.join(OUT, "snippet-code-prompt.png") });
    await sb.click("[data-walletauth-code] button[type=submit]");
    await sb.waitForSelector("[data-walletauth-state=signed-in]", WAIT);
    check(await sb.isHidden("[data-walletauth-code]"), "the inline prompt hides once signed in");
    const sbMe = await me(sb);
    check(sbMe.status === 200 && sbMe.body.aal === "aal2", "snippet sign-in at aal2: " + JSON.stringify(sbMe));
    await sb.click("[data-walletauth]");
    await sb.waitForSelector(btnReady, WAIT);

    // Another user: a pending sign-in that has expired, then the lockout.
    const lc = await newPage(browser, "ok", log, { signer: lockWallet });
    await lc.click("#signin");
    await signedIn(lc);
    const lock = await turnOnTOTP(lc);
    await signOutPage(lc);
    await lc.click("#signin");
    await lc.waitForSelector("body[data-state=second-factor]", WAIT);
    await lc.context().clearCookies({ name: /walletauth-pending$/ }); // as if its 5 minutes had passed
    await lc.fill("#factor-code", totp(lock.secret, currentStep()));
    await lc.click("#factor-submit");
    check(await errorText(lc) === TIMED_OUT, "expired pending sign-in message");
    await lc.waitForSelector("body[data-state=signed-out]", WAIT);
    check(await lc.isVisible("#signin"), "back to the sign-in button after a timeout");
    await lc.click("#signin");
    await lc.waitForSelector("body[data-state=second-factor]", WAIT);
    const bad = wrongCode(lock.secret);
    for (let i = 1; i <= 5; i++) {
      await lc.fill("#factor-code", bad);
      await lc.click("#factor-submit");
      check(await errorText(lc) === INVALID_CODE, "wrong code " + i);
    }
    await lc.fill("#factor-code", totp(lock.secret, currentStep() + 1)); // even a right code, now
    await lc.click("#factor-submit");
    const locked = LOCKED.exec(await errorText(lc));
    check(locked && +locked[1] > 0 && +locked[1] <= 300, "locked message: " + await lc.textContent("#error"));
    summary.lockedRetryAfterSeconds = +locked[1];
    check(await lc.isVisible("#factor-code"), "the code step stays while locked");
    await lc.screenshot({ path: path.join(OUT, "mfa-locked.png"), fullPage: true });

    // A sign-in with the TOTP code of a later step than the confirming code's (each step is
    // accepted once): wait for that step to begin.
    const m3 = await newPage(browser, "ok", log, { signer: mfaWallet });
    await m3.click("#signin");
    await m3.waitForSelector("body[data-state=second-factor]", WAIT);
    const signInStep = Math.max(confirmStep + 1, currentStep());
    const waitMs = Math.max(0, signInStep * STEP * 1000 - Date.now());
    check(waitMs <= 31000, "the next step is at most 30 s away: " + waitMs);
    await m3.waitForTimeout(waitMs);
    await m3.fill("#factor-code", totp(secret, signInStep));
    await m3.click("#factor-submit");
    const me3 = await signedIn(m3);
    check(me3.aal === "aal2" && me3.userId === me1.userId, "TOTP sign-in at aal2: " + JSON.stringify(me3));
    check(JSON.stringify((await sessionOf(m3)).amr) === '["siwe","otp"]', "amr of a TOTP sign-in");
    summary.mfa = { confirmStep, signInStep, waitedMs: waitMs, recoveryCodes: codes.length };
    // Fresh from the sign-in: the sensitive action needs no prompt.
    await m3.click("#sensitive");
    await textIs(m3, "#sensitive-result", 'Done: the server answered {"ok":true}');
    check(await m3.isHidden("#stepup"), "no prompt with a fresh second factor");
    // Turn it off, signing out the other devices (m1's stepped-up session).
    await m3.waitForSelector("#mfa-on:not([hidden])", WAIT);
    await m3.check("#mfa-signout-others");
    await m3.click("#mfa-disable");
    await textIs(m3, "#mfa-message", "Two-factor authentication is off. Signed out 1 other device.");
    check(await m3.isHidden("#stepup"), "no prompt to turn off with a fresh factor");
    await textIs(m3, "#mfa-status", "Off: your wallet alone signs you in.");
    check(await m3.isVisible("#mfa-enable"), "Turn on is offered again");
    await m1.waitForSelector("body[data-state=signed-out]", { timeout: 15000 }); // at its next renewal
    await m3.screenshot({ path: path.join(OUT, "mfa-off.png"), fullPage: true });
    await signOutPage(m3);
    await m3.click("#signin");
    check((await signedIn(m3)).aal === "aal1", "with MFA off the wallet alone signs in");
    await signOutPage(m3);
    summary.mfaMs = Date.now() - mfaStarted;

    // 7. The profile panel.
    const profileStarted = Date.now();
    summary.profile = await profileScenario(browser, log);
    summary.profileMs = Date.now() - profileStarted;

    // 7b. Two tabs, and another account signed in from one of them.
    summary.tabs = await tabsScenario(browser, log);

    // 8. Linked accounts (OAuth).
    const oauthStarted = Date.now();
    summary.oauth = await oauthScenario(browser, log);
    summary.oauthMs = Date.now() - oauthStarted;

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
