/* walletauth client: "Sign in with Ethereum" for any page. Dependency-free, no build step.
 * Served by the walletauth handler at <basePath>/client.js.
 *
 * One tag and one element make a working button (its text toggles to "Sign out"):
 *   <script src="/auth/client.js" defer></script>
 *   <button data-walletauth>Sign in with Ethereum</button>
 *   <p data-walletauth-error></p>        (optional: where errors go; created after the button if absent)
 * When the user has a second factor on, the button's sign-in stops half way and a small form
 * appears after it: the 6-digit code from the authenticator app, or (a toggle) a recovery code.
 * Meanwhile the button reads "Cancel". Put data-walletauth-prompt="off" on the button to draw
 * that step yourself (listen for "change" with the state "second_factor", call submitCode).
 * The button's data-walletauth-state is "signed-out", "second-factor" or "signed-in".
 *
 * Or the JS API (create() returns the same client for the same basePath):
 *   const auth = WalletAuth.create({ basePath: "/auth" });     // default: where this script came from
 *   auth.on("change", (user, state) => ...);  // state "signed_in" (user), "second_factor" or
 *                                             // "signed_out" (user null); also auth.state()
 *   auth.on("error", (err) => ...);     // err.message is ready to show; err.code names the cause
 *   await auth.ready;                   // the session restored from cookies (or not) on page load
 *   await auth.signIn();                // resolves with the /verify response: {status: "complete"}
 *                                       // or {status: "needs_second_factor", factors, expiresAt}
 *   await auth.submitCode("123456");    // completes a pending sign-in with a TOTP code
 *   await auth.submitRecoveryCode("7k3m-q9xa-0rtd-5vhe");   // ... or with a recovery code
 *   const res = await auth.fetch("/api/me");  // adds Authorization: Bearer <accessToken>
 *   auth.accessToken(); auth.user(); auth.address(); auth.pending(); await auth.signOut();
 * Second-factor management, while signed in (each resolves with the server's JSON or rejects
 * with an Error carrying .code, .status and a .message ready to show):
 *   auth.mfa.status()                   // {totp, recoveryCodesLeft, aal}
 *   auth.mfa.enrol()                    // {secret, otpauthUrl, qrPng}: show the QR, then ...
 *   auth.mfa.confirm(code)              // {recoveryCodes}: MFA is on; show the codes once
 *   auth.mfa.stepUp(code)               // or stepUp({recoveryCode}): the session becomes aal2
 *   auth.mfa.disable({signOutOthers})   // {signedOut}
 *   auth.mfa.regenerateRecoveryCodes({signOutOthers})   // {recoveryCodes, signedOut}
 * disable and regenerateRecoveryCodes (and routes behind RequireFreshFactor) need a recent second
 * factor: they reject with code "insufficient_assurance"; call stepUp, then try again.
 * The profile, while signed in (same style: the server's JSON, or an Error with .code):
 *   auth.profile.user()                 // {user: {id, wallets, createdAt, publicMetadata, unsafeMetadata}}
 *   auth.profile.setUnsafeMetadata(obj) // {unsafeMetadata}; 400 invalid_request, 413 payload_too_large
 *   auth.profile.linkWallet()           // {user}: the wallet's first shared account not linked yet
 *                                       // (or linkWallet({address})) signs a fresh message
 *   auth.profile.unlinkWallet(address)  // {user, signedOut}; 409 last_wallet
 *   auth.profile.contacts()             // {contacts: [{kind, value, verified, primary, addedAt}]}
 *   auth.profile.addContact(kind, value)            // kind "email" | "phone"; a code is sent
 *   auth.profile.verifyContact(kind, value, code)   // {contact}; 401 invalid_code
 *   auth.profile.resendContact(kind, value); .setPrimaryContact(kind, value); .removeContact(kind, value)
 *   auth.profile.oauth()                // {providers: ["github", ...], accounts: [{provider, subject,
 *                                       //  email, username, linkedAt}]}; 404 when none is configured
 *   auth.profile.linkOAuth(provider)    // leaves the page for <basePath>/oauth/<provider>/start; the
 *                                       // browser comes back to the server's OAuthReturnURL with
 *                                       // ?oauth_linked=<provider> or ?oauth_error=<code>
 *   auth.profile.unlinkOAuth(provider)  // resolves (no body) once unlinked; 404 not_found
 * Wallets are found with EIP-6963 (WalletAuth.wallets() lists them), falling back to window.ethereum.
 */
(function () {
  "use strict";
  var MSG = {
    no_wallet: "No Ethereum wallet found. Install MetaMask or another wallet.",
    rejected: "You rejected the request in your wallet.",
    pending: "Your wallet already has a request open. Look for its window and finish or close it.",
    network: "Could not reach the server. Check your connection and try again.",
    invalid_code: "That code is not right. Try the current code from your app.",
    invalid_contact_code: "That code is not right. Check the latest code we sent you.",
    already_linked: "Every account your wallet shares is linked already. Choose another account in your wallet, then try again.",
    mfa_locked: "Too many wrong codes. Try again in {s} s.",
    pending_expired: "Your sign-in timed out. Sign in again.",
    account_changed: "Another tab signed in with another account, which this page now shows. Nothing was changed: try again if you meant to.",
    wrong_network: "Your wallet is on a network this site does not use. Switch it to network {n} (chain id) and try again.",
  };
  var script = document.currentScript;
  var scriptBase = script && script.src ? script.src.replace(/\/client\.js(?:[?#].*)?$/, "") : "/auth";

  // EIP-6963: collect every wallet that announces itself, now and later.
  var announced = [];
  window.addEventListener("eip6963:announceProvider", function (e) {
    var d = e.detail;
    if (!d || !d.provider || !d.info) return;
    if (!announced.some(function (w) { return w.info.uuid === d.info.uuid; })) announced.push(d);
  });
  function requestProviders() { window.dispatchEvent(new Event("eip6963:requestProvider")); }
  requestProviders();

  function AuthError(code, message, status) {
    var e = new Error(message);
    e.name = "WalletAuthError";
    e.code = code;
    e.status = status || 0;
    return e;
  }

  function walletError(err) {
    if (err && err.code === 4001) return AuthError("rejected", MSG.rejected);
    if (err && err.code === -32002) return AuthError("wallet_busy", MSG.pending);
    return AuthError("wallet_error", "Your wallet reported an error: " + ((err && err.message) || String(err)));
  }

  function toHex(text) {
    var bytes = new TextEncoder().encode(text), hex = "0x";
    for (var i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, "0");
    return hex;
  }

  function claims(token) {
    try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch (_) { return {}; }
  }
  // Token lifetime in ms from the JWT's own iat/exp (server clock), else from expiresAt (our clock).
  function lifetime(token, expiresAt) {
    var c = claims(token), ms = c.exp > c.iat ? (c.exp - c.iat) * 1000 : Date.parse(expiresAt) - Date.now();
    return isFinite(ms) && ms > 0 ? ms : 30000;
  }

  var clients = {};

  function create(opts) {
    opts = opts || {};
    var base = new URL(String(opts.basePath || scriptBase), location.href).href.replace(/\/+$/, "");
    if (clients[base]) return clients[base];
    var token = null, expires = 0, user = null, address = null, timer = null, refreshing = null, steppingUp = null;
    var epoch = 0; // counts sign-outs: a renewal that started before one must not bring a token back
    var failures = 0; // renewals failed in a row (not 401), for the back-off
    var restoring = false; // the page-load restore is under way
    var pending = null, pendingTimer = null; // a sign-in waiting for its second factor
    var shown = "signed_out|"; // the state the last "change" reported
    var handlers = { change: [], error: [] };
    var self = {};

    function emit(kind, arg, extra) {
      handlers[kind].forEach(function (fn) {
        try { fn(arg, extra); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }
    function fail(err) { emit("error", err); throw err; }
    function state() { return user ? "signed_in" : pending ? "second_factor" : "signed_out"; }
    // changed emits "change" when the state, the user or the address moved.
    function changed() {
      var s = state(), key = s + "|" + (user ? user.id + "|" + address : "");
      if (key === shown) return;
      shown = key;
      emit("change", user, s);
    }

    // api calls the handler with the access token (bearer, when given, instead).
    async function api(method, path, body, bearer) {
      var res, init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      bearer = bearer || token;
      if (bearer && path !== "/refresh") init.headers.Authorization = "Bearer " + bearer;
      try { res = await window.fetch(base + path, init); } catch (_) { throw AuthError("network", MSG.network); }
      if (res.status === 204) return null;
      var data = null;
      try { data = await res.json(); } catch (_) { /* not JSON */ }
      if (res.ok) return data;
      var e = (data && data.error) || {};
      var err = AuthError(e.code || "http_" + res.status, e.message || "The server answered " + res.status + ".", res.status);
      var retry = parseInt(res.headers.get("Retry-After"), 10);
      if (retry > 0) err.retryAfter = retry;
      if (err.code === "invalid_code") err.message = MSG.invalid_code;
      if (err.code === "mfa_locked") err.message = MSG.mfa_locked.replace("{s}", String(retry > 0 ? retry : 60));
      throw err;
    }

    function setToken(accessToken, expiresAt) {
      var ms = lifetime(accessToken, expiresAt);
      token = accessToken;
      expires = Date.now() + ms;
      clearTimeout(timer);
      timer = setTimeout(renew, Math.max(ms * 0.8, 2000));
    }
    function clearPending() {
      clearTimeout(pendingTimer);
      pending = null;
    }
    // signedIn takes the body of verify or mfa/verify.
    function signedIn(res, addr) {
      clearPending();
      setToken(res.accessToken, res.expiresAt);
      user = res.user;
      if (addr) address = addr;
      changed();
    }
    function clearSession() {
      clearTimeout(timer);
      epoch++;
      token = user = address = null;
      expires = 0;
      changed();
    }

    // adopt shows the session the refresh cookie now stands for: GET /session. next, when given,
    // is the renewal that brought another account's token: the client takes that token only
    // together with the account, so that accessToken() never belongs to a user not shown.
    async function adopt(next) {
      var started = epoch;
      var s = await api("GET", "/session", undefined, next && next.accessToken);
      if (epoch !== started) return; // signed out meanwhile
      if (!s || !s.user) throw AuthError("invalid_response", "The server sent no session.");
      if (next) setToken(next.accessToken, next.expiresAt);
      var sa = s.session && s.session.address;
      var w = s.user.wallets && s.user.wallets[0];
      user = s.user;
      address = sa || (w && w.address) || null;
      changed();
    }

    // POST /refresh; concurrent callers share one request. 401 means the session is over. The
    // refresh cookie is shared by every tab: when another tab has signed in as someone else, the
    // new token is theirs, and this tab shows that user from then on (never one user's page
    // acting as another).
    function refresh() {
      if (steppingUp) return steppingUp.then(refresh);
      if (!refreshing) {
        var started = epoch;
        refreshing = api("POST", "/refresh", {}).then(async function (r) {
          if (epoch !== started) return r; // signed out meanwhile: the answer is stale
          var sub = claims(r.accessToken).sub;
          if (!user || (sub && sub !== user.id)) {
            // No account shown yet (page load), or another tab's: the token comes with its account.
            await adopt(r).catch(function (e) { clearSession(); throw e; });
          } else {
            setToken(r.accessToken, r.expiresAt);
          }
          return r;
        }).catch(function (err) {
          if (err.status === 401 && epoch === started) clearSession();
          throw err;
        }).finally(function () { refreshing = null; });
      }
      return refreshing;
    }
    function renew() {
      var started = epoch;
      refresh().then(function () { failures = 0; }, function (err) {
        if (err.status === 401 || epoch !== started) return; // signed out: nothing to renew
        emit("error", err);
        // Network or server trouble: try again, later each time (10 s, 20 s, … 2 min), and not
        // before the server's Retry-After; one retry pending at most.
        failures++;
        var wait = Math.min(10000 * Math.pow(2, failures - 1), 120000);
        if (err.retryAfter > 0) wait = Math.max(wait, err.retryAfter * 1000);
        clearTimeout(timer);
        timer = setTimeout(renew, wait);
      });
    }

    async function pickProvider() {
      if (opts.provider) return opts.provider;
      if (!announced.length) {
        requestProviders();
        await new Promise(function (r) { setTimeout(r, 150); });
      }
      var want = opts.rdns || "io.metamask";
      var hit = announced.find(function (w) { return w.info.rdns === want; }) || announced[0];
      return hit ? hit.provider : window.ethereum || null;
    }

    // walletSign asks the wallet for its accounts, lets choose pick one, and has it sign a fresh
    // sign-in message: {message, signature, address}.
    async function walletSign(choose) {
      var provider = await pickProvider();
      if (!provider || typeof provider.request !== "function") throw AuthError("no_wallet", MSG.no_wallet);
      var ask = function (method, params) {
        return provider.request(params ? { method: method, params: params } : { method: method })
          .catch(function (e) { throw walletError(e); });
      };
      var accounts = await ask("eth_requestAccounts");
      if (!accounts || !accounts.length) throw AuthError("no_account", "Your wallet shared no account. Unlock it and try again.");
      var addr = await choose(accounts);
      var chainId = parseInt(await ask("eth_chainId"), 16);
      var challenge;
      try {
        challenge = await api("POST", "/nonce", { address: addr, chainId: chainId });
      } catch (err) {
        if (err.code !== "chain_not_allowed") throw err;
        // The wallet is on a network the site does not take: ask for a message on the site's own
        // network and have the wallet switch to it.
        challenge = await api("POST", "/nonce", { address: addr });
        if (!challenge || !(challenge.chainId > 0)) throw err;
        await ask("wallet_switchEthereumChain", [{ chainId: "0x" + challenge.chainId.toString(16) }]).catch(function (e) {
          var msg = MSG.wrong_network.replace("{n}", String(challenge.chainId));
          throw AuthError("wrong_network", e.code === "rejected" ? msg : msg + " (" + e.message + ")");
        });
      }
      if (!challenge || !challenge.message) throw AuthError("invalid_response", "The server sent no message to sign.");
      var signature = await ask("personal_sign", [toHex(challenge.message), addr]);
      return { message: challenge.message, signature: signature, address: addr };
    }

    async function signIn() {
      try {
        var signed = await walletSign(function (accounts) { return accounts[0]; });
        var addr = signed.address;
        var res = await api("POST", "/verify", { message: signed.message, signature: signed.signature });
        if (res.status === "complete") signedIn(res, addr);
        else if (res.status === "needs_second_factor") startPending(res, addr);
        return res;
      } catch (err) {
        return fail(err);
      }
    }

    // The server holds the pending sign-in in an HttpOnly cookie; we only remember that it exists
    // and when it ends.
    function startPending(res, addr) {
      clearPending();
      var ms = Date.parse(res.expiresAt) - Date.now();
      pending = { factors: res.factors || [], expiresAt: res.expiresAt, address: addr };
      pendingTimer = setTimeout(function () {
        clearPending();
        changed();
        emit("error", AuthError("pending_expired", MSG.pending_expired, 401));
      }, isFinite(ms) && ms > 0 ? ms : 300000);
      changed();
    }

    // POST /mfa/verify: the second half of a sign-in.
    async function submitFactor(body) {
      if (!pending) return fail(AuthError("pending_expired", MSG.pending_expired, 401));
      var addr = pending.address;
      try {
        var res = await api("POST", "/mfa/verify", body);
        signedIn(res, addr);
        return res;
      } catch (err) {
        if (err.status === 401 && err.code !== "invalid_code") {
          // Expired, already used or missing: this sign-in is over.
          clearPending();
          changed();
          err = AuthError("pending_expired", MSG.pending_expired, 401);
        }
        return fail(err);
      }
    }

    async function signOut() {
      clearPending();
      if (user || token || restoring) {
        try { await api("POST", "/logout", {}); } catch (err) { emit("error", err); }
      }
      clearSession();
    }

    // fetch with the access token; after a 401 it renews the token once and retries.
    async function authFetch(url, init) {
      init = Object.assign({ credentials: "same-origin" }, init);
      if (refreshing || steppingUp) await (refreshing || steppingUp).catch(function () {});
      var send = function () {
        var h = new Headers(init.headers || {});
        if (token) h.set("Authorization", "Bearer " + token);
        return window.fetch(url, Object.assign({}, init, { headers: h }));
      };
      var who = user && user.id; // the account the call is meant for: the one shown as it is sent
      var res = await send();
      if (res.status === 401 && token && (init.body == null || typeof init.body === "string")) {
        try { await refresh(); } catch (_) { return res; }
        if (who && (!user || user.id !== who)) return res; // meant for the account shown before
        res = await send();
      }
      return res;
    }

    // api for the signed-in routes: waits for a renewal in flight, renews once on 401.
    async function authed(method, path, body) {
      if (refreshing || steppingUp) await (refreshing || steppingUp).catch(function () {});
      var who = user && user.id; // the account the call is meant for: the one shown as it is sent
      try {
        return await api(method, path, body);
      } catch (err) {
        if (err.status !== 401 || !token || err.code === "invalid_code") throw err;
        await refresh();
        // The renewal may bring another tab's account: what the page asked was for this one.
        if (who && (!user || user.id !== who)) throw AuthError("account_changed", MSG.account_changed);
        return api(method, path, body);
      }
    }

    // POST /mfa/step-up replaces the session with one at aal2. No renewal may run meanwhile (its
    // answer could put the old session's refresh cookie over the new one): refresh() waits.
    async function stepUp(code) {
      var body = code && typeof code === "object" ? { recoveryCode: String(code.recoveryCode || "").trim() } : { code: String(code).trim() };
      for (var retried = false; ; retried = true) {
        if (refreshing) await refreshing.catch(function () {});
        var call = api("POST", "/mfa/step-up", body);
        steppingUp = call.then(function () {}, function () {});
        try {
          var r = await call;
          setToken(r.accessToken, r.expiresAt);
          return r;
        } catch (err) {
          if (retried || err.status !== 401 || err.code === "invalid_code" || !token) throw err;
        } finally {
          steppingUp = null;
        }
        await refresh(); // the access token had expired: renew it and try once more
      }
    }

    // Page load: the access cookie may still be good (GET /session); either way get a fresh token.
    // Page load: a fresh token from the refresh cookie, taken together with its account (refresh
    // adopts it, as no user is shown yet).
    async function restore() {
      restoring = true;
      try {
        await refresh();
      } catch (err) {
        if (err.status !== 401) emit("error", err);
      } finally {
        restoring = false;
      }
    }

    // Background tabs throttle timers: renew as soon as the tab is seen again, if it is due.
    document.addEventListener("visibilitychange", function () {
      // Not while a failed renewal waits for its retry: that one keeps its back-off.
      if (document.visibilityState === "visible" && token && expires - Date.now() < 10000 && failures === 0) renew();
    });

    // POST /wallets: links the first account the wallet shares that is not linked yet (or
    // o.address), with a signature of a fresh sign-in message.
    async function linkWallet(o) {
      var signed = await walletSign(async function (accounts) {
        if (o && o.address) return o.address;
        var have = ((await authed("GET", "/user")).user.wallets || []).map(function (w) { return w.address.toLowerCase(); });
        var addr = accounts.find(function (a) { return have.indexOf(String(a).toLowerCase()) < 0; });
        if (!addr) throw AuthError("already_linked", MSG.already_linked);
        return addr;
      });
      var res = await authed("POST", "/wallets", { message: signed.message, signature: signed.signature });
      if (user && res && res.user) user = res.user;
      return res;
    }
    // DELETE /wallets/{address}: the server signs out the sessions of that wallet, this one too.
    async function unlinkWallet(addr) {
      var res = await authed("DELETE", "/wallets/" + encodeURIComponent(addr));
      if (user && res && res.user) user = res.user;
      if (address && String(addr).toLowerCase() === address.toLowerCase()) clearSession();
      return res;
    }
    var contact = function (kind, value, more) { return Object.assign({ kind: kind, value: String(value).trim() }, more); };
    var flag = function (o) { return { signOutOthers: !!(o && o.signOutOthers) }; };
    self.basePath = base;
    self.signIn = signIn;
    self.submitCode = function (code) { return submitFactor({ code: String(code).trim() }); };
    self.submitRecoveryCode = function (code) { return submitFactor({ recoveryCode: String(code).trim() }); };
    self.signOut = signOut;
    self.refresh = refresh;
    self.fetch = authFetch;
    self.state = state;
    self.accessToken = function () { return token; };
    self.user = function () { return user; };
    self.address = function () { return address; };
    self.pending = function () { return pending && { factors: pending.factors.slice(), expiresAt: pending.expiresAt }; };
    self.mfa = {
      status: function () { return authed("GET", "/mfa"); },
      enrol: function () { return authed("POST", "/mfa/totp", {}); },
      confirm: function (code) { return authed("POST", "/mfa/totp/confirm", { code: String(code).trim() }); },
      stepUp: stepUp,
      disable: function (o) { return authed("POST", "/mfa/disable", flag(o)); },
      regenerateRecoveryCodes: function (o) { return authed("POST", "/mfa/recovery-codes", flag(o)); },
    };
    self.profile = {
      user: function () { return authed("GET", "/user"); },
      setUnsafeMetadata: function (obj) { return authed("PUT", "/user/metadata", { unsafeMetadata: obj }); },
      linkWallet: linkWallet,
      unlinkWallet: unlinkWallet,
      contacts: function () { return authed("GET", "/contacts"); },
      addContact: function (kind, value) { return authed("POST", "/contacts", contact(kind, value)); },
      verifyContact: function (kind, value, code) {
        return authed("POST", "/contacts/verify", contact(kind, value, { code: String(code).trim() })).catch(function (err) {
          if (err.code === "invalid_code") err.message = MSG.invalid_contact_code;
          throw err;
        });
      },
      resendContact: function (kind, value) { return authed("POST", "/contacts/resend", contact(kind, value)); },
      setPrimaryContact: function (kind, value) { return authed("POST", "/contacts/primary", contact(kind, value)); },
      removeContact: function (kind, value) {
        return authed("DELETE", "/contacts/" + encodeURIComponent(kind) + "/" + encodeURIComponent(String(value).trim()));
      },
      oauth: function () { return authed("GET", "/oauth"); },
      // A top-level navigation: the provider's consent page cannot be fetched. The start route
      // authenticates by the session cookies.
      linkOAuth: function (provider) { location.assign(base + "/oauth/" + encodeURIComponent(provider) + "/start"); },
      unlinkOAuth: function (provider) { return authed("DELETE", "/oauth/" + encodeURIComponent(provider)); },
    };
    self.on = function (kind, fn) {
      if (!handlers[kind]) throw new Error("WalletAuth: unknown event " + kind);
      handlers[kind].push(fn);
      return self;
    };
    self.ready = restore().catch(function (err) { emit("error", err); });
    clients[base] = self;
    return self;
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }

  // The button's second-factor step: a small form after the error box.
  function codePrompt(auth, after) {
    var form = el("form", { "data-walletauth-code": "" });
    var label = el("label", { for: "walletauth-code" });
    var input = el("input", { id: "walletauth-code", autocomplete: "one-time-code", spellcheck: "false", required: "" });
    var submit = el("button", { type: "submit" }, "Verify");
    var toggle = el("button", { type: "button", "data-walletauth-toggle": "" });
    form.append(label, " ", input, " ", submit, " ", toggle);
    form.style.margin = ".5em 0";
    form.hidden = true;
    after.insertAdjacentElement("afterend", form);
    var recovery = false;
    function mode(r) {
      recovery = r;
      label.textContent = r ? "Recovery code" : "Code from your authenticator app";
      input.setAttribute("inputmode", r ? "text" : "numeric");
      input.setAttribute("placeholder", r ? "xxxx-xxxx-xxxx-xxxx" : "123456");
      toggle.textContent = r ? "Use the app instead" : "Use a recovery code";
      input.value = "";
    }
    mode(false);
    toggle.addEventListener("click", function () { mode(!recovery); input.focus(); });
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      submit.disabled = true;
      try { await (recovery ? auth.submitRecoveryCode(input.value) : auth.submitCode(input.value)); } catch (_) { /* shown via "error" */ }
      submit.disabled = false;
    });
    auth.on("change", function (u, s) {
      var show = s === "second_factor";
      if (show && form.hidden) { mode(false); setTimeout(function () { input.focus(); }); }
      form.hidden = !show;
    });
  }

  // Buttons: every [data-walletauth] element signs in or out with the page's first client.
  function bindButtons() {
    var els = document.querySelectorAll("[data-walletauth]");
    if (!els.length) return;
    var auth = clients[Object.keys(clients)[0]] || create();
    els.forEach(function (btn, i) {
      var signInText = btn.getAttribute("data-signin-text") || btn.textContent.trim() || "Sign in with Ethereum";
      var signOutText = btn.getAttribute("data-signout-text") || "Sign out";
      var cancelText = btn.getAttribute("data-cancel-text") || "Cancel";
      var errBox = document.querySelector("[data-walletauth-error]");
      if (!errBox) {
        errBox = el("span", { "data-walletauth-error": "", role: "alert" });
        errBox.style.cssText = "margin-left:.5em;color:#b42318";
        btn.insertAdjacentElement("afterend", errBox);
      }
      if (i === 0 && btn.getAttribute("data-walletauth-prompt") !== "off") codePrompt(auth, errBox);
      var render = function () {
        var s = auth.state();
        btn.textContent = s === "signed_in" ? signOutText : s === "second_factor" ? cancelText : signInText;
        btn.setAttribute("data-walletauth-state", s.replace("_", "-"));
      };
      auth.on("change", function () { errBox.textContent = ""; render(); });
      auth.on("error", function (err) { errBox.textContent = err.message; });
      btn.addEventListener("click", async function (ev) {
        ev.preventDefault();
        if (btn.disabled) return;
        var s = auth.state();
        btn.disabled = true;
        errBox.textContent = "";
        btn.textContent = s === "signed_out" ? "Check your wallet…" : "Signing out…";
        try { await (s === "signed_out" ? auth.signIn() : auth.signOut()); } catch (_) { /* shown via "error" */ }
        btn.disabled = false;
        render();
      });
      render();
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bindButtons);
  else bindButtons();

  window.WalletAuth = {
    create: create,
    wallets: function () { return announced.slice(); },
    messages: MSG,
  };
})();
