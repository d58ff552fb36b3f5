// The demo page: WalletAuth (from /auth/client.js) does the work; this file only draws the state.
(function () {
  "use strict";
  var auth = WalletAuth.create({ basePath: "/auth" });
  var $ = function (id) { return document.getElementById(id); };

  var CHAINS = { 1: "Ethereum", 10: "OP Mainnet", 137: "Polygon", 8453: "Base", 42161: "Arbitrum One", 11155111: "Sepolia" };

  function showError(msg, code) {
    $("error").textContent = msg || "";
    $("error-box").hidden = !msg;
    $("install").hidden = code !== "no_wallet";
  }

  // How long the current access token has left; the client renews it at ~80% of its life.
  function showToken() {
    var t = auth.accessToken();
    if (!t) return;
    try {
      var exp = JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp;
      var s = Math.max(0, Math.round(exp - Date.now() / 1000));
      $("token-info").textContent = "Access token valid for " + s + " s more; it renews automatically.";
    } catch (_) { /* not a JWT */ }
  }

  async function loadMe() {
    var res;
    try { res = await auth.fetch("/api/me"); } catch (_) { return showError("Could not reach the server."); }
    var body = await res.json().catch(function () { return null; });
    if (!res.ok) {
      showError((body && body.error && body.error.message) || "GET /api/me answered " + res.status);
      return;
    }
    $("me").textContent = JSON.stringify(body, null, 2);
    var name = CHAINS[body.chainId];
    $("chain").textContent = "on " + (name ? name + " (chain " + body.chainId + ")" : "chain " + body.chainId);
  }

  function render(user) {
    $("signed-out").hidden = !!user;
    $("signed-in").hidden = !user;
    document.body.dataset.state = user ? "signed-in" : "signed-out";
    if (!user) return;
    $("address").textContent = auth.address() || (user.wallets && user.wallets[0] && user.wallets[0].address) || "";
    $("me").textContent = "…";
    $("chain").textContent = "";
    showToken();
    loadMe();
  }

  async function busy(button, label, fn) {
    var old = button.innerHTML;
    button.disabled = true;
    button.textContent = label;
    showError("");
    try { await fn(); } catch (_) { /* shown by the error handler */ }
    button.disabled = false;
    button.innerHTML = old;
  }

  auth.on("change", function (user) { render(user); });
  auth.on("error", function (err) { showError(err.message, err.code); });
  $("signin").addEventListener("click", function () {
    busy($("signin"), "Check your wallet…", auth.signIn);
  });
  $("signout").addEventListener("click", function () {
    busy($("signout"), "Signing out…", auth.signOut);
  });

  setInterval(showToken, 1000);

  auth.ready.then(function () {
    if (!auth.user()) render(null); // a restored session has drawn itself through "change"
    document.body.dataset.ready = "true";
  });
})();
