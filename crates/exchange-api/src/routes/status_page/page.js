"use strict";
// The status page's only script. It keeps the token in this tab's session storage, reads the
// API with it every few seconds and writes what it read as text nodes only, so nothing in the
// data can become markup. Amounts are shown as the API's decimal strings, never as numbers.
(() => {
  const REFRESH_MS = 5000;
  const TOKEN_KEY = "canton-exchange-api-token";
  const $ = (id) => document.getElementById(id);
  const testid = (id) => document.querySelector(`[data-testid="${CSS.escape(id)}"]`);

  // The page's own failures are written where an operator (and the browser test) sees them.
  const errors = $("page-errors");
  const recordError = (text) => errors.append(`${text}\n`);
  window.addEventListener("error", (e) => recordError(`error: ${e.message} (${e.filename}:${e.lineno})`));
  window.addEventListener("unhandledrejection", (e) => recordError(`unhandled rejection: ${e.reason}`));
  document.addEventListener("securitypolicyviolation", (e) =>
    recordError(`blocked by the content security policy: ${e.violatedDirective}`));
  const consoleError = console.error.bind(console);
  console.error = (...args) => {
    recordError(args.map(String).join(" "));
    consoleError(...args);
  };

  /** An element with text or element children; props set attributes, never markup. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "testid") node.dataset.testid = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  function setText(id, text, cls) {
    const node = testid(id);
    node.textContent = String(text);
    node.className = cls || "";
  }

  function fill(container, rows) {
    container.replaceChildren(...rows);
  }

  // --- the token -------------------------------------------------------------------------

  /** `#token=…` (from a bookmark or a test) goes to session storage and out of the address bar. */
  function takeTokenFromFragment() {
    for (const part of location.hash.slice(1).split("&")) {
      if (part.startsWith("token=") && part.length > 6) {
        history.replaceState(null, "", location.pathname + location.search);
        try {
          sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(part.slice(6)));
        } catch (e) {
          if (!(e instanceof URIError)) throw e;
          sessionStorage.removeItem(TOKEN_KEY);
        }
      }
    }
  }

  function showLogin(why) {
    $("board").hidden = true;
    $("forget").hidden = true;
    $("login").hidden = false;
    showMessage(why);
    setVerdict("no token", "");
  }

  function showMessage(text) {
    const message = $("message");
    message.textContent = text || "";
    message.hidden = !text;
  }

  function setVerdict(text, cls) {
    const verdict = $("verdict");
    verdict.textContent = text;
    verdict.className = `badge ${cls}`;
  }

  // --- reading the API -------------------------------------------------------------------

  async function getJson(path, token) {
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      cache: "no-store",
    });
    const body = await response.json().catch(() => null);
    return { status: response.status, body };
  }

  /** What a refused request says, from its problem document. */
  function refusal(answer, what) {
    if (answer.status === 403) return `${what} needs an operator token (403 forbidden).`;
    const problem = answer.body || {};
    return `${what}: ${answer.status} ${problem.title || ""} ${problem.detail || ""}`.trim();
  }

  let timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
  }

  async function refresh() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      document.body.dataset.state = "no-token";
      showLogin(null);
      return;
    }
    let answers;
    try {
      answers = await Promise.all(
        ["/v1/operator/status", "/v1/operator/withdrawals", "/v1/treasury/totals"].map((p) => getJson(p, token)),
      );
    } catch (e) {
      showMessage(`The API does not answer (${e.message}); what is shown is stale. Retrying every ${REFRESH_MS / 1000} s.`);
      setVerdict("stale", "warn");
      document.body.dataset.state = "unreachable";
      schedule();
      return;
    }
    const [status, switched, totals] = answers;
    if (answers.some((a) => a.status === 401)) {
      sessionStorage.removeItem(TOKEN_KEY);
      document.body.dataset.state = "unauthorized";
      showLogin("The API refused this token (401 unauthorized): it is not a known token. Enter an operator token.");
      return;
    }
    $("login").hidden = true;
    $("forget").hidden = false;
    $("board").hidden = false;
    const refused = [];
    let attention = 0;
    if (status.status === 200) attention += renderStatus(status.body, new Date());
    else refused.push(refusal(status, "The operator status"));
    if (switched.status === 200) attention += renderSwitch(switched.body);
    else refused.push(refusal(switched, "The withdrawal switch"));
    if (totals.status === 200) attention += renderTotals(totals.body.totals);
    else refused.push(refusal(totals, "Reconciliation"));
    showMessage(refused.join(" "));
    if (refused.length > 0) setVerdict("incomplete", "warn");
    else if (attention > 0) setVerdict(`${attention} need${attention === 1 ? "s" : ""} attention`, "bad");
    else setVerdict("all clear", "ok");
    $("refreshed").textContent = new Date().toLocaleTimeString();
    document.body.dataset.state = refused.length > 0 ? "partial" : "ok";
    schedule();
  }

  // --- rendering -------------------------------------------------------------------------

  /** A Java `Instant` text (up to nine decimals) in milliseconds: Date reads three at most. */
  function parseInstant(text) {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text || "");
    return m ? Date.parse(`${m[1]}.${(m[2] || "").padEnd(3, "0").slice(0, 3)}Z`) : NaN;
  }

  function duration(ms) {
    if (ms < 0) return `${duration(-ms)} ahead of this browser's clock`;
    let rest = Math.floor(ms / 1000);
    const parts = [];
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]]) {
      const n = Math.floor(rest / size);
      rest -= n * size;
      if (n > 0 || (unit === "s" && parts.length === 0)) parts.push(`${n} ${unit}`);
    }
    return parts.slice(0, 2).join(" ");
  }

  /** The newest record time the exchange has seen, from any synchronizer or the checkpoint. */
  function newestRecordTime(status) {
    const times = Object.values(status.recordTimes || {});
    if (status.checkpoint && status.checkpoint.recordTime) times.push(status.checkpoint.recordTime);
    const parsed = times.map(parseInstant).filter((t) => !Number.isNaN(t));
    return parsed.length > 0 ? Math.max(...parsed) : NaN;
  }

  function renderStatus(status, now) {
    const checkpoint = status.checkpoint || {};
    setText("checkpoint-offset", checkpoint.offset ?? "none: nothing ingested yet");
    setText("checkpoint-update-id", checkpoint.updateId || "–");
    setText("checkpoint-record-time", checkpoint.recordTime || "–");
    const newest = newestRecordTime(status);
    const behind = now.getTime() - newest;
    setText("lag-wall-clock", Number.isNaN(newest) ? "no record time yet" : duration(behind),
      behind > 5 * 60 * 1000 ? "warn" : "");
    setText("lag-ledger-end", status.lag === null || status.lag === undefined
      ? "not known here (the API does not ask the node; `canton-exchange status --ledger URL` does)"
      : `${status.lag} offsets (ledger end ${status.ledgerEnd})`);
    setText("treasury-party", status.treasuryParty || "not recorded yet");
    fill($("record-times"), entries(status.recordTimes, "record-time", "no record time yet"));
    fill($("withdrawal-counts"), entries(status.withdrawals, "withdrawals", "no withdrawals"));
    fill($("deposit-counts"), entries(status.deposits, "deposits", "no deposits"));
    return renderProblems(status);
  }

  /** Rows of a `name → value` map, each value findable as `prefix:name`. */
  function entries(map, prefix, empty) {
    const keys = Object.keys(map || {});
    if (keys.length === 0) return [el("tr", {}, el("td", { class: "hint" }, empty))];
    return keys.map((k) => el("tr", {}, el("th", {}, k), el("td", { testid: `${prefix}:${k}` }, map[k])));
  }

  function renderSwitch(switched) {
    setText("withdrawals-switch", switched.enabled ? "enabled" : "DISABLED", switched.enabled ? "ok" : "bad");
    setText("withdrawals-switch-reason", switched.reason ? `(${switched.reason})` : "");
    return switched.enabled ? 0 : 1;
  }

  const TOTALS_FIELDS = ["onLedger", "customerLiabilities", "suspense", "inFlightWithdrawals", "ownFunds", "heldBack"];

  function renderTotals(totals) {
    fill($("totals"), totals.length === 0
      ? [el("tr", {}, el("td", { class: "hint", colspan: "8" }, "nothing held or owed"))]
      : totals.map((t) => {
        const key = `${t.instrument.admin}/${t.instrument.id}`;
        return el("tr", { class: t.shortfall ? "shortfall" : "" },
          el("th", { title: t.instrument.admin }, t.instrument.id),
          ...TOTALS_FIELDS.map((f) => el("td", { class: "amount", testid: `totals:${key}:${f}` }, t[f])),
          el("td", { testid: `totals:${key}:marker`, class: t.shortfall ? "bad" : "ok" },
            t.shortfall ? "SHORTFALL: own funds negative" : "covered"));
      }));
    return totals.filter((t) => t.shortfall).length;
  }

  /** One kind of problem: a heading with its count, what to do, and the cases. */
  function problem(name, title, count, hint, header, rows, shown = count) {
    const marked = count > 0 && hint !== null;
    const section = el("div", { class: "problem", "data-count": count },
      el("h3", {}, `${title}: `, el("span", { testid: `problems:${name}`, class: marked ? "bad" : "" }, shown)));
    if (marked) section.append(el("p", { class: "hint" }, hint));
    if (rows.length > 0) {
      section.append(el("table", {},
        el("thead", {}, el("tr", {}, ...header.map((h) => el("th", {}, h)))),
        el("tbody", {}, ...rows.map((r) => el("tr", { testid: `problems:${name}:row` }, ...r.map((c) => el("td", {}, c ?? "–")))))));
    }
    return section;
  }

  function renderProblems(s) {
    const untrusted = s.untrustedV2Events || { count: 0, latest: [] };
    const suspense = Object.entries(s.suspenseBalance || {});
    const recovery = s.dbRecovery;
    const last = s.lastRecovery;
    const kinds = [
      problem("quarantined", "Quarantined transactions", s.quarantined.length,
        "Not applied until released: fix the cause, then `canton-exchange quarantine retry`.",
        ["update", "offset", "record time", "error"],
        s.quarantined.map((q) => [q.updateId, q.offset, q.recordTime, q.error])),
      problem("failed-accepts", "Failed deposit accepts", s.failedDepositAccepts.length,
        "Offers still pending whose accept attempts ran out.",
        ["deposit", "account", "instrument", "amount", "attempts", "last error", "since"],
        s.failedDepositAccepts.map((f) => [f.depositId, f.account, f.instrument, f.amount, f.attempts, f.error, f.since])),
      problem("untrusted", "Untrusted V2 events", untrusted.count,
        "Failed the trust checks: held back, never credited. The latest are listed.",
        ["update", "node", "record time", "reason"],
        untrusted.latest.map((u) => [u.updateId, u.nodeId, u.recordTime, u.reason])),
      problem("unattributed", "Unattributed withdrawals", s.unattributedWithdrawals,
        "Recovered withdrawals in suspense no account bears yet: `canton-exchange withdrawals attribute`.", [], []),
      problem("overpaid", "Withdrawals paid twice", s.overpaidWithdrawals,
        "Each booked against suspense.", [], []),
      problem("unknown-account", "Deposits to unknown accounts", s.unknownAccountDeposits,
        "Not credited: find the customer (GET /v1/deposits?state=unknown_account).", [], []),
      problem("suspense", "Suspense balances", suspense.length + (s.suspenseBalanceError ? 1 : 0),
        s.suspenseBalanceError || "Negative: recovered withdrawals whose customer is not known yet.",
        ["instrument", "balance"], suspense),
      problem("db-recovery", "Unfinished DB recovery", recovery ? 1 : 0,
        "Withdrawals stay off until `canton-exchange recover db` finishes.",
        ["t safe", "phase", "started at"], recovery ? [[recovery.tSafe, recovery.phase, recovery.startedAt]] : []),
    ];
    // Not a problem: what an operator did last, shown for context (no hint, never marked).
    const lastRecovery = problem("last-recovery", "Last validator recovery", last ? 1 : 0, null,
      ["at", "runbook", "operator", "t recovery", "checkpoint before → after"],
      last ? [[last.at, last.runbook, last.operator, last.tRecovery, `${last.checkpointBefore} → ${last.checkpointAfter}`]] : [],
      last ? last.at : "none");
    fill($("problems"), [...kinds, lastRecovery]);
    return kinds.filter((k) => k.dataset.count !== "0").length;
  }

  // --- start -----------------------------------------------------------------------------

  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("token");
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = "";
    showMessage(null);
    refresh();
  });
  $("forget").addEventListener("click", () => {
    clearTimeout(timer);
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(null);
  });
  takeTokenFromFragment();
  refresh();
})();
