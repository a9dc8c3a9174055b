// The console's page: the picture (long-polled), an object's panel (its log streamed),
// the plan and its apply. Every request sends the token in a header; no cookies.
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("token") || "";
  const SVG = "http://www.w3.org/2000/svg";
  const COLUMN = 260, NODE_W = 200, NODE_H = 44, GAP = 12, HEAD = 28, PAD = 14;
  const BADGE = { create: "+", update: "~", replace: "±", delete: "−", move: "→" };
  let selected = null;
  let logReader = null;

  async function api(path, options) {
    const init = Object.assign({ headers: {} }, options || {});
    init.headers["X-Scoot-Token"] = token;
    if (init.body !== undefined) init.headers["Content-Type"] = "application/json";
    const response = await fetch(path, init);
    const data = await response.json();
    if (!response.ok && !data.error) throw new Error(response.status + " " + response.statusText);
    return data;
  }

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showError(text) {
    const box = document.getElementById("error");
    box.hidden = !text;
    box.textContent = text || "";
  }

  // -- the picture: components as columns in dependency order, objects stacked in them --

  function layout(picture) {
    const byColumn = new Map();
    for (const component of picture.components) {
      if (!byColumn.has(component.column)) byColumn.set(component.column, []);
      byColumn.get(component.column).push(component.name);
    }
    const members = new Map(picture.components.map((c) => [c.name, []]));
    for (const object of picture.objects) members.get(object.component).push(object);
    const groups = [], places = new Map();
    let width = 0, height = 0;
    for (const column of [...byColumn.keys()].sort((a, b) => a - b)) {
      let y = PAD;
      const x = PAD + column * COLUMN;
      for (const name of byColumn.get(column)) {
        const objects = members.get(name);
        const h = HEAD + objects.length * (NODE_H + GAP) + GAP / 2;
        groups.push({ name, x, y, w: NODE_W + 2 * GAP, h });
        objects.forEach((object, index) => {
          places.set(object.address, { x: x + GAP, y: y + HEAD + index * (NODE_H + GAP) });
        });
        y += h + 2 * GAP;
      }
      width = Math.max(width, x + NODE_W + 2 * GAP + PAD);
      height = Math.max(height, y);
    }
    return { groups, places, width, height };
  }

  function edgePath(from, to) {
    const y1 = from.y + NODE_H / 2, y2 = to.y + NODE_H / 2;
    if (Math.abs(from.x - to.x) < 1) {  // the same column: an arc on the right
      const x = from.x + NODE_W, bend = 30 + Math.abs(y2 - y1) / 6;
      return `M${x},${y1} C${x + bend},${y1} ${x + bend},${y2} ${x},${y2}`;
    }
    const [a, b] = from.x > to.x ? [{ x: from.x, y: y1 }, { x: to.x + NODE_W, y: y2 }] : [{ x: from.x + NODE_W, y: y1 }, { x: to.x, y: y2 }];
    const mid = (a.x + b.x) / 2;
    return `M${a.x},${a.y} C${mid},${a.y} ${mid},${b.y} ${b.x},${b.y}`;
  }

  function draw(picture) {
    const graph = document.getElementById("graph");
    graph.replaceChildren();
    document.getElementById("target").textContent =
      picture.target ? `target ${picture.target} (cloud ${picture.cloud}), serial ${picture.serial}` : "";
    showError(picture.error || (picture.plan_error ? "plan: " + picture.plan_error : ""));
    if (!picture.objects) return;
    const { groups, places, width, height } = layout(picture);
    graph.setAttribute("width", width);
    graph.setAttribute("height", height);
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#667" }));
    defs.appendChild(marker);
    graph.appendChild(defs);
    for (const group of groups) {
      const g = svg("g", { class: "component", "data-component": group.name });
      g.appendChild(svg("rect", { class: "group", x: group.x, y: group.y, width: group.w, height: group.h, rx: 8 }));
      g.appendChild(svg("text", { class: "group-label", x: group.x + 10, y: group.y + 18 }, group.name));
      graph.appendChild(g);
    }
    for (const edge of picture.edges) {
      const from = places.get(edge.from), to = places.get(edge.to);
      if (!from || !to) continue;
      const path = svg("path", { class: "edge" + (edge.connection ? " connection" : ""), d: edgePath(from, to), "marker-end": "url(#arrow)", "data-from": edge.from, "data-to": edge.to });
      path.appendChild(svg("title", {}, `${edge.from} → ${edge.to}${edge.label ? " (" + edge.label + ")" : ""}`));
      graph.appendChild(path);
    }
    for (const object of picture.objects) {
      const place = places.get(object.address);
      const status = object.status.replace(/ /g, "-");
      const g = svg("g", {
        class: `node status-${status}` + (object.address === selected ? " selected" : ""),
        "data-address": object.address, "data-kind": object.kind, "data-status": object.status,
        "data-action": object.action || "", tabindex: 0, role: "button",
      });
      const round = object.kind === "storage" ? 16 : 4;
      g.appendChild(svg("rect", { class: "body", x: place.x, y: place.y, width: NODE_W, height: NODE_H, rx: round }));
      g.appendChild(svg("text", { x: place.x + 10, y: place.y + 18 }, object.name));
      g.appendChild(svg("text", { class: "kind", x: place.x + 10, y: place.y + 34 }, `${object.kind} · ${object.status}`));
      if (object.action && object.action !== "no-op") {
        g.appendChild(svg("text", { class: "badge", x: place.x + NODE_W - 18, y: place.y + 18 }, BADGE[object.action] || "?"));
      }
      g.appendChild(svg("title", {}, `${object.address}: ${object.status}${object.detail ? " (" + object.detail + ")" : ""}${object.action && object.action !== "no-op" ? "; apply will " + object.action + " it" : ""}`));
      g.addEventListener("click", () => openObject(object.address));
      g.addEventListener("keydown", (event) => { if (event.key === "Enter") openObject(object.address); });
      graph.appendChild(g);
    }
  }

  async function follow() {
    let since = -1;
    const live = document.getElementById("live");
    for (;;) {
      try {
        const answer = await api("/api/picture?since=" + since);
        live.classList.remove("stale");
        if (answer.version !== since) draw(answer.picture);
        since = answer.version;
      } catch (error) {
        live.classList.add("stale");
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  // -- an object's panel ---------------------------------------------------------------

  function section(body, title, value) {
    body.appendChild(el("h3", {}, title));
    body.appendChild(el("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2)));
  }

  function stopLog() {
    if (logReader) { logReader.cancel().catch(() => {}); logReader = null; }
  }

  async function openObject(address) {
    selected = address;
    stopLog();
    document.querySelectorAll(".node.selected").forEach((node) => node.classList.remove("selected"));
    const node = document.querySelector(`.node[data-address="${CSS.escape(address)}"]`);
    if (node) node.classList.add("selected");
    const panel = document.getElementById("panel"), body = document.getElementById("panel-body");
    panel.hidden = false;
    body.replaceChildren(el("h2", {}, address));
    const data = await api("/api/object?address=" + encodeURIComponent(address));
    if (data.error) { body.appendChild(el("p", {}, data.error)); return; }
    body.appendChild(el("p", {}, data.kind));
    if (data.source) {
      const link = el("a", { id: "source-link", href: data.source.url }, `${data.source.shown}:${data.source.line}`);
      const line = el("p", {}, "Declared at ");
      line.appendChild(link);
      body.appendChild(line);
    }
    if (data.config) section(body, "Configuration (secrets masked)", data.config);
    if (data.recorded) {
      section(body, "Outputs", data.recorded.outputs);
      section(body, "Identity", data.recorded.identity);
      section(body, "Revision", data.recorded.revision || "none");
    } else {
      body.appendChild(el("p", {}, "Not applied yet: nothing is recorded."));
    }
    if (data.kind === "compute") showLog(body, address, data.replicas);
  }

  function showLog(body, address, replicas) {
    body.appendChild(el("h3", {}, "Log"));
    const choose = el("select", { id: "replica" });
    choose.appendChild(el("option", { value: "" }, "every replica"));
    for (let index = 0; index < replicas; index++) choose.appendChild(el("option", { value: String(index) }, "replica " + index));
    body.appendChild(choose);
    const log = el("pre", { id: "log" });
    body.appendChild(log);
    const start = () => streamLog(address, choose.value, log);
    choose.addEventListener("change", start);
    start();
  }

  async function streamLog(address, replica, log) {
    stopLog();
    log.textContent = "";
    const response = await fetch(`/api/logs?address=${encodeURIComponent(address)}&replica=${replica}`, { headers: { "X-Scoot-Token": token } });
    const reader = response.body.getReader();
    logReader = reader;
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ done: true }));
      if (done || logReader !== reader) return;
      buffered += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!event.startsWith("data: ")) continue;
        const line = JSON.parse(event.slice(6));
        const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        log.appendChild(document.createTextNode((replica === "" ? `[${line.source}] ` : "") + line.text + "\n"));
        if (atEnd) log.scrollTop = log.scrollHeight;
      }
    }
  }

  // -- the plan and its apply ------------------------------------------------------------

  // Plan (or, with `destroy`, plan the destruction), show it, and apply exactly it.
  async function showPlan(destroy) {
    selected = null;
    stopLog();
    const title = destroy ? "Destroy" : "Plan";
    const panel = document.getElementById("panel"), body = document.getElementById("panel-body");
    panel.hidden = false;
    body.replaceChildren(el("h2", {}, title), el("p", {}, "Planning…"));
    const plan = await api("/api/plan", { method: "POST", body: JSON.stringify({ destroy: !!destroy }) });
    body.replaceChildren(el("h2", {}, title));
    if (plan.error) { body.appendChild(el("p", { class: "plan-error" }, plan.error)); return; }
    if (!plan.changes.length) {
      body.appendChild(el("p", { id: "no-changes" }, destroy ? "Nothing to destroy: scoot.lock records no object." : "No changes: what runs matches the architecture."));
      return;
    }
    const byComponent = new Map();
    for (const change of plan.changes) {
      const component = change.address.split(".")[0];
      if (!byComponent.has(component)) byComponent.set(component, []);
      byComponent.get(component).push(change);
    }
    const list = el("div", { id: "changes" });
    for (const [component, changes] of byComponent) {
      list.appendChild(el("h3", {}, component));
      for (const change of changes) {
        const why = change.drift.length ? ` (drifted: ${change.drift.join("; ")})` : change.keys.length ? ` (${change.keys.join(", ")})` : "";
        const row = el("div", { class: "change", "data-address": change.address, "data-action": change.action }, `${BADGE[change.action] || "?"} ${change.address} (${change.kind}) will be ${change.action === "no-op" ? "left" : change.action + "d"}${why}`);
        if (change.source) {
          row.appendChild(document.createTextNode(" "));
          row.appendChild(el("a", { class: "change-source", href: change.source.url }, `${change.source.shown}:${change.source.line}`));
        }
        list.appendChild(row);
      }
    }
    body.appendChild(list);
    const words = destroy ? `Destroy these ${plan.changes.length} objects` : `Apply these ${plan.changes.length} changes`;
    const apply = el("button", { id: "apply-button", class: destroy ? "danger" : "primary", type: "button" }, words);
    if (destroy) {
      // Typed, not clicked: destroying takes the application's name, checked by the server too.
      const label = el("label", { for: "confirm-name" }, `Type the application's name, ${plan.application}, to destroy it on target ${plan.target}: `);
      const typed = el("input", { id: "confirm-name", type: "text", autocomplete: "off", spellcheck: "false" });
      apply.disabled = true;
      typed.addEventListener("input", () => { apply.disabled = typed.value !== plan.application; });
      body.appendChild(el("p", {}, "")).append(label, typed);
      apply.addEventListener("click", () => applyPlan(plan, body, apply, typed.value));
    } else {
      apply.addEventListener("click", () => {
        if (window.confirm(`Apply the plan shown (${plan.changes.length} changes) to target ${plan.target}?`)) applyPlan(plan, body, apply, "");
      });
    }
    body.appendChild(apply);
  }

  async function applyPlan(plan, body, button, confirm) {
    button.disabled = true;
    const started = await api("/api/apply", { method: "POST", body: JSON.stringify({ id: plan.id, confirm }) });
    if (started.error) { body.appendChild(el("p", { class: "plan-error" }, started.error)); return; }
    const progress = el("div", { id: "progress" });
    body.appendChild(el("h3", {}, plan.destroy ? "Destroying" : "Applying"));
    body.appendChild(progress);
    for (;;) {
      const job = await api("/api/job");
      progress.replaceChildren();
      for (const [address, step] of Object.entries(job.objects || {})) {
        progress.appendChild(el("div", { class: `change progress-${step.status}`, "data-address": address, "data-status": step.status }, `${address}: ${step.action} ${step.status}${step.message ? " — " + step.message : ""}`));
      }
      if (job.state !== "running") {
        progress.appendChild(el("p", { id: "apply-result", "data-state": job.state }, job.message));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  }

  document.getElementById("plan-button").addEventListener("click", () => showPlan(false).catch((error) => showError(String(error))));
  document.getElementById("destroy-button").addEventListener("click", () => showPlan(true).catch((error) => showError(String(error))));
  document.getElementById("close-panel").addEventListener("click", () => {
    stopLog();
    selected = null;
    document.getElementById("panel").hidden = true;
  });
  follow();
})();
