// Corridor dashboard: levers -> POST /api/runs -> poll /api/jobs/<id> -> GET /api/runs/<id>.
// No framework and nothing fetched from elsewhere; the chart is inline SVG drawn here.
// Every value from the server is written with textContent or as an SVG attribute, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const RUN_PATH = /^\/runs\/([A-Za-z0-9][A-Za-z0-9_.-]{0,199})$/;

  const TOKEN = (() => {
    const given = new URLSearchParams(location.search).get("token");
    try {
      if (given) sessionStorage.setItem("corridor-token", given);
      return given || sessionStorage.getItem("corridor-token");
    } catch (e) {
      return given;
    }
  })();

  const state = { spec: null, view: null, metric: "n_awaiting_decision", poll: null, busy: false };

  // -- HTTP ------------------------------------------------------------------------------------
  async function api(path, options = {}) {
    const headers = {};
    if (TOKEN) headers.Authorization = "Bearer " + TOKEN;
    const init = { method: options.method || "GET", headers };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const res = await fetch(path, init);
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    return { status: res.status, data, headers: res.headers };
  }

  function pageUrl(path) {
    if (!TOKEN) return path;
    return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
  }

  // -- formatting ------------------------------------------------------------------------------
  function fmt(value, unit, signed) {
    if (value === null || value === undefined) return "–";
    const a = Math.abs(value);
    let text;
    if (a >= 1e9) text = (a / 1e9).toFixed(2) + "bn";
    else if (a >= 1e6) text = (a / 1e6).toFixed(a >= 1e8 ? 0 : 1) + "m";
    else if (a >= 1e4) text = (a / 1e3).toFixed(a >= 1e5 ? 0 : 1) + "k";
    else if (a >= 100 || Number.isInteger(a)) text = a.toFixed(0);
    else text = a.toFixed(a >= 10 ? 1 : 2);
    if (unit === "gbp") text = "£" + text;
    if (value < 0 && text.replace(/[^1-9]/g, "")) return "−" + text;
    return (signed && value > 0 ? "+" : "") + text;
  }

  function fmtRange(q, unit, signed) {
    if (!q) return "–";
    const mid = fmt(q.p50, unit, signed);
    if (q.p10 === q.p90) return mid;
    return mid + " (" + fmt(q.p10, unit, signed) + " to " + fmt(q.p90, unit, signed) + ")";
  }

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text || "";
    el.className = kind || "";
  }

  function showErrors(items) {
    const ul = $("errors");
    ul.replaceChildren();
    for (const e of items || []) {
      const li = document.createElement("li");
      let text = e.message || String(e);
      if (e.field) text = e.field + ": " + text;
      if (e.expected) text += " (expected " + e.expected + ")";
      if (e.file) text = e.file + (e.line ? ":" + e.line : "") + ": " + text;
      li.textContent = text;
      ul.append(li);
    }
  }

  // -- scenarios and levers --------------------------------------------------------------------
  async function loadScenarios() {
    const { status, data } = await api("/api/scenarios");
    if (status !== 200) throw new Error("cannot list scenarios (" + status + ")");
    const select = $("scenario");
    select.replaceChildren();
    for (const s of data.scenarios) {
      const opt = document.createElement("option");
      opt.value = s.name;
      opt.textContent = s.name;
      opt.title = s.description || "";
      select.append(opt);
    }
  }

  async function loadSpec(name) {
    const { status, data } = await api("/api/scenarios/" + encodeURIComponent(name));
    if (status !== 200) {
      setStatus("Cannot load scenario " + name, "error");
      return false;
    }
    state.spec = data;
    $("scenario").value = name;
    $("scenario-description").textContent = data.description || "";
    $("scenario-period").textContent = "Period: " + data.period.start + " to " + data.period.end;
    const metric = $("metric");
    if (!metric.options.length) {
      for (const m of data.metrics) {
        const opt = document.createElement("option");
        opt.value = m.name;
        opt.textContent = m.label;
        metric.append(opt);
      }
      metric.value = state.metric;
    }
    $("replicates").max = String(data.max_replicates);
    $("hub-start").min = data.hub_start_min || data.period.start;
    $("hub-start").max = data.period.end;
    const fc = data.forecast;
    const variant = $("variant");
    variant.replaceChildren();
    for (const v of fc ? fc.variants : []) {
      const opt = document.createElement("option");
      opt.value = v.id === fc.status_quo ? "" : v.id;
      opt.textContent = v.label + (v.hypothetical ? " (hypothetical)" : "");
      opt.title = v.assumes || "";
      variant.append(opt);
    }
    $("variant-box").hidden = !fc;
    $("forecast-note").hidden = !fc;
    $("forecast-note").textContent = fc ? fc.note : "";
    $("deterrence-box").hidden = !data.deterrence;
    $("sample-label").hidden = data.agents_per_person === null;
    setLevers(data.defaults);
    return true;
  }

  function positionClass(p) {
    return "pos pos-" + String(p).replace(/[^a-z_]/g, "");
  }

  function setLevers(levers) {
    const spec = state.spec;
    const tbody = $("hubs").tBodies[0];
    tbody.replaceChildren();
    const byId = new Map((levers.hubs || []).map((h) => [h.id, h]));
    for (const hub of spec.hubs) {
      const lever = byId.get(hub.id) || { on: hub.base_on, beds: hub.beds };
      const tr = document.createElement("tr");
      const on = document.createElement("input");
      on.type = "checkbox";
      on.id = "hub-on-" + hub.id;
      on.dataset.hub = hub.id;
      on.checked = !!lever.on;
      on.setAttribute("aria-label", "Hub " + hub.id + " operating");
      const label = document.createElement("label");
      label.htmlFor = on.id;
      label.textContent = hub.host;
      label.title = "hub " + hub.id;
      const pos = document.createElement("span");
      pos.className = positionClass(hub.host_position);
      pos.textContent = hub.host_position + (hub.host_position_date ? " · " + hub.host_position_date : "");
      const hypo = document.createElement("span");
      hypo.className = "hypo";
      hypo.textContent = " hypothetical";
      const refreshHypo = () => {
        hypo.hidden = !(on.checked && (hub.host_refuses || hub.hypothetical));
      };
      on.addEventListener("change", refreshHypo);
      refreshHypo();
      const beds = document.createElement("input");
      beds.type = "number";
      beds.min = "0";
      beds.step = "10";
      beds.id = "hub-beds-" + hub.id;
      beds.dataset.hubBeds = hub.id;
      beds.value = String(lever.beds ?? hub.beds);
      beds.setAttribute("aria-label", "Beds in " + hub.id);
      const cells = [[on], [label], [pos, hypo], [beds]];
      for (const parts of cells) {
        const td = document.createElement("td");
        td.append(...parts);
        tr.append(td);
      }
      tbody.append(tr);
    }
    $("hubs-box").hidden = spec.hubs.length === 0;
    $("hub-start").value = levers.hub_start || spec.hub_start;

    $("caseworkers-box").hidden = !spec.caseworkers;
    $("caseworkers").value = String(levers.caseworkers_multiplier ?? 1);
    if (spec.deterrence) {
      $("deterrence-on").checked = !!(levers.deterrence_enabled ?? spec.deterrence.enabled);
      $("elasticity").value = String(levers.deterrence_elasticity ?? spec.deterrence.elasticity);
    }
    $("interception-box").hidden = !spec.interception;
    if (spec.interception) {
      $("interception").value = String(levers.french_interception ?? spec.interception.value);
    }
    const sample = String(levers.agents_per_person ?? spec.agents_per_person);
    const select = $("sample");
    if (![...select.options].some((o) => o.value === sample)) {
      const opt = document.createElement("option");
      opt.value = sample;
      opt.textContent = sample;
      select.append(opt);
    }
    select.value = sample;
    refreshOutputs();
  }

  function refreshOutputs() {
    $("caseworkers-out").textContent = "×" + Number($("caseworkers").value).toFixed(2);
    $("elasticity-out").textContent = Number($("elasticity").value).toFixed(2);
    $("elasticity").disabled = !$("deterrence-on").checked;
    $("interception-out").textContent = Number($("interception").value).toFixed(2);
    const bands = mode() === "bands";
    $("replicates").disabled = !bands;
    $("sample").disabled = !bands;
  }

  function mode() {
    const checked = document.querySelector('input[name="mode"]:checked');
    return checked ? checked.value : "quick";
  }

  function setMode(value) {
    for (const r of document.querySelectorAll('input[name="mode"]')) r.checked = r.value === value;
    refreshOutputs();
  }

  function readLevers() {
    const spec = state.spec;
    const hubs = spec.hubs.map((hub) => ({
      id: hub.id,
      on: $("hub-on-" + hub.id).checked,
      beds: Number($("hub-beds-" + hub.id).value),
    }));
    const levers = {
      hubs,
      hub_start: $("hub-start").value || null,
      caseworkers_multiplier: spec.caseworkers ? Number($("caseworkers").value) : 1,
    };
    if (spec.deterrence) {
      levers.deterrence_enabled = $("deterrence-on").checked;
      levers.deterrence_elasticity = Number($("elasticity").value);
    }
    if (spec.interception) levers.french_interception = Number($("interception").value);
    if (mode() === "bands" && spec.agents_per_person !== null) {
      levers.agents_per_person = Number($("sample").value);
    }
    return levers;
  }

  // -- running ---------------------------------------------------------------------------------
  async function run() {
    if (state.busy || !state.spec) return;
    showErrors([]);
    const body = {
      scenario: state.spec.name,
      levers: readLevers(),
      mode: mode(),
      replicates: Number($("replicates").value) || 8,
    };
    if (state.spec.forecast && $("variant").value) body.variant = $("variant").value;
    state.busy = true;
    $("run").disabled = true;
    try {
      const { status, data, headers } = await api("/api/runs", { method: "POST", body });
      if (status === 200 && data.run_id) {
        setStatus("Already stored.", "ok");
        await showRun(data.run_id, true);
      } else if (status === 202) {
        await follow(data.job.id);
      } else if (status === 422) {
        setStatus("The levers give an invalid scenario:", "error");
        showErrors(Array.isArray(data.detail) ? data.detail : [{ message: String(data.detail) }]);
      } else if (status === 429) {
        const wait = headers.get("Retry-After") || "a few";
        setStatus("The run queue is full; try again in " + wait + " s.", "error");
      } else {
        setStatus("The server answered " + status + ": " + (data && data.detail), "error");
      }
    } catch (e) {
      setStatus("Request failed: " + e.message, "error");
    } finally {
      state.busy = false;
      $("run").disabled = false;
      $("progress").hidden = true;
    }
  }

  function follow(jobId) {
    const bar = $("progress");
    bar.hidden = false;
    bar.removeAttribute("value");
    return new Promise((resolve) => {
      const tick = async () => {
        const { status, data } = await api("/api/jobs/" + encodeURIComponent(jobId));
        if (status !== 200) {
          setStatus("Lost the job (" + status + ").", "error");
          resolve();
          return;
        }
        if (data.status === "queued") {
          setStatus("Queued (position " + data.position + ")…");
        } else if (data.status === "running") {
          bar.value = data.fraction;
          const phase = data.phase === "levers" ? "with levers" : "status quo";
          setStatus("Running " + phase + ": " + data.done + "/" + (data.total || "?") + " replicates…");
        }
        if (data.status === "done") {
          bar.value = 1;
          setStatus("Done.", "ok");
          await showRun(data.run_id, true);
          resolve();
        } else if (data.status === "failed" || data.status === "cancelled") {
          setStatus("The run " + data.status + ": " + (data.error || ""), "error");
          resolve();
        } else {
          state.poll = setTimeout(tick, 400);
        }
      };
      tick();
    });
  }

  // -- results ---------------------------------------------------------------------------------
  async function showRun(id, push, policy) {
    const query = policy ? "?policy=" + encodeURIComponent(policy) : "";
    const { status, data } = await api("/api/runs/" + encodeURIComponent(id) + query);
    if (status !== 200) {
      const why = data && typeof data.detail === "string" ? ": " + data.detail : "";
      setStatus("Cannot show run " + id + " (" + status + ")" + why, "error");
      if (!state.spec) await loadDefaultSpec(); // keep a usable form
      loadRecent();
      return;
    }
    state.view = data;
    if (data.scenario && (!state.spec || state.spec.name !== data.scenario)) {
      await loadSpec(data.scenario);
    }
    if (!state.spec) await loadDefaultSpec();
    if (data.levers && state.spec && state.spec.name === data.scenario) setLevers(data.levers);
    if (state.spec && state.spec.forecast) $("variant").value = data.variant || "";
    const others = (data.policies || []).filter((p) => !p.status_quo);
    const pick = $("view-policy");
    pick.replaceChildren();
    for (const p of others) {
      const opt = document.createElement("option");
      opt.value = p.id;
      opt.textContent = p.label;
      pick.append(opt);
    }
    pick.value = data.policy;
    $("view-policy-box").hidden = others.length < 2;
    $("legend-lv").textContent = data.policy_label || "with levers";
    $("th-lv").textContent = data.policy_label || "With levers";
    setMode(data.mode === "bands" ? "bands" : "quick");
    if (data.mode === "bands") $("replicates").value = String(data.replicates);
    if (push && location.pathname !== data.share_url) {
      history.pushState({ id: data.id }, "", pageUrl(data.share_url));
    }
    const link = $("share-link");
    link.href = pageUrl(data.share_url);
    link.textContent = location.origin + data.share_url;
    $("share").hidden = false;
    $("overrides").textContent = JSON.stringify(data.overrides, null, 2);
    const bits = [
      (data.kind === "ensemble" ? "Ensemble " : "Run ") + data.id,
      data.engine + " engine",
      data.replicates + " replicate" + (data.replicates === 1 ? "" : "s"),
    ];
    if (data.opened_from) bits.push("the main job's summary run " + data.opened_from + " opened as its ensemble");
    if (!data.has_status_quo) bits.push("no stored status quo for these seeds");
    if (data.pack_changed) bits.push("the scenario pack has changed since");
    if (Object.keys(data.extra_overrides || {}).length) bits.push("other overrides: see below");
    $("run-meta").textContent = bits.join(" · ");
    draw();
    summary();
    loadRecent();
  }

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  function niceStep(span) {
    const raw = span / 5;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
  }

  function draw() {
    const view = state.view;
    const svg = $("chart");
    svg.replaceChildren();
    const meta = view.metrics.find((m) => m.name === state.metric) || view.metrics[0];
    const title = document.createElementNS(SVG, "title");
    title.id = "chart-title";
    title.textContent = meta.label;
    svg.append(title);
    const series = view.series[meta.name] || {};
    const dates = view.dates;
    const n = dates.length;
    const W = 760, H = 380, L = 70, R = 16, T = 28, B = 36;
    const sides = [
      ["status_quo", "sq", series.status_quo],
      ["levers", "lv", series.levers],
    ].filter((s) => s[2]);
    let lo = 0, hi = 0;
    for (const [, , s] of sides) {
      for (const v of [...s.p10, ...s.p90, ...s.p50]) {
        if (v === null) continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (hi === lo) hi = lo + 1;
    const step = niceStep(hi - lo);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    const x = (i) => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
    const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    const axes = el("g", { class: "axes" });
    for (let v = lo; v <= hi + step / 2; v += step) {
      axes.append(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
      const t = el("text", { x: L - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" });
      t.textContent = fmt(v, meta.unit);
      axes.append(t);
    }
    const years = dates.map((d, i) => [d, i]).filter(([d]) => d.endsWith("-01"));
    const every = Math.max(1, Math.ceil(years.length / 10));
    years.forEach(([d, i], k) => {
      if (k % every) return;
      axes.append(el("line", { x1: x(i), x2: x(i), y1: H - B, y2: H - B + 5, class: "axis" }));
      const t = el("text", { x: x(i), y: H - B + 18, class: "tick", "text-anchor": "middle" });
      t.textContent = d.slice(0, 4);
      axes.append(t);
    });
    axes.append(el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
    const head = el("text", { x: L, y: 16, class: "chart-title" });
    head.textContent = meta.label + (meta.unit === "gbp" ? " (GBP)" : " (people)");
    axes.append(head);
    svg.append(axes);
    const pt = (i, v) => x(i).toFixed(1) + "," + y(v === null ? 0 : v).toFixed(1);
    for (const [key, cls, s] of sides) {
      let band = "M" + s.p90.map((v, i) => pt(i, v)).join("L");
      for (let i = n - 1; i >= 0; i--) band += "L" + pt(i, s.p10[i]);
      svg.append(el("path", { id: "band-" + key, class: "band " + cls, d: band + "Z" }));
      const line = "M" + s.p50.map((v, i) => pt(i, v)).join("L");
      svg.append(el("path", { id: "line-" + key, class: "line " + cls, d: line }));
    }
    svg.setAttribute("data-run", view.id);
  }

  function summary() {
    const tbody = $("summary").tBodies[0];
    tbody.replaceChildren();
    for (const row of state.view.summary) {
      const tr = document.createElement("tr");
      tr.dataset.metric = row.metric;
      const cells = [
        row.label + " (" + row.scalar + ")",
        fmtRange(row.status_quo, row.unit),
        fmtRange(row.levers, row.unit),
        fmtRange(row.diff, row.unit, true),
      ];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      if (row.metric === state.metric) tr.className = "current";
      tr.addEventListener("click", () => {
        state.metric = row.metric;
        $("metric").value = row.metric;
        draw();
        summary();
      });
      tbody.append(tr);
    }
  }

  async function loadRecent() {
    const { status, data } = await api("/api/runs?limit=12");
    if (status !== 200) return;
    const ul = $("recent");
    ul.replaceChildren();
    for (const r of data.runs) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = pageUrl(r.url);
      a.textContent = r.id;
      const what = document.createElement("span");
      what.className = "muted small";
      let policy = r.policy ? " · " + r.policy : "";
      if (r.policies > 1) policy = " · " + r.policies + " policies";
      if (r.kind === "summary") {
        policy = " · main job summary" + (r.ensemble_id ? ", opens ensemble " + r.ensemble_id : "");
      }
      what.textContent =
        " " + r.scenario + " · " + r.engine + " × " + r.replicates + policy +
        (r.overrides ? " · " + r.overrides + " override" + (r.overrides > 1 ? "s" : "") : "");
      li.append(a, what);
      ul.append(li);
    }
  }

  // -- start -----------------------------------------------------------------------------------
  async function loadDefaultSpec() {
    const names = [...$("scenario").options].map((o) => o.value);
    if (names.length) await loadSpec(names.includes("uk-balkans") ? "uk-balkans" : names[0]);
  }

  async function route() {
    const m = location.pathname.match(RUN_PATH);
    if (m) {
      await showRun(m[1], false, new URLSearchParams(location.search).get("policy"));
    } else {
      await loadDefaultSpec();
      loadRecent();
    }
  }

  async function start() {
    for (const id of ["caseworkers", "elasticity", "interception", "deterrence-on"]) {
      $(id).addEventListener("input", refreshOutputs);
    }
    for (const r of document.querySelectorAll('input[name="mode"]')) {
      r.addEventListener("change", refreshOutputs);
    }
    $("scenario").addEventListener("change", (e) => loadSpec(e.target.value));
    $("metric").addEventListener("change", (e) => {
      state.metric = e.target.value;
      if (state.view) {
        draw();
        summary();
      }
    });
    $("view-policy").addEventListener("change", (e) => {
      if (state.view) showRun(state.view.id, true, e.target.value);
    });
    $("run").addEventListener("click", run);
    $("reset").addEventListener("click", () => state.spec && setLevers(state.spec.defaults));
    window.addEventListener("popstate", () => route());
    try {
      await loadScenarios();
      await route();
      document.body.dataset.ready = "1";
    } catch (e) {
      setStatus("Cannot start: " + e.message, "error");
    }
  }

  start();
})();
