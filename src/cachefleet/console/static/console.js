// cachefleet console: the little behaviour its pages need. No build step, no framework.
// - [data-poll] elements fetch their URL every data-poll-every ms and swap the [data-part]s
//   of the answer into the page (a part holding the focus or an open <details> is left alone);
//   with data-gone, a 404 (the cache was deleted) swaps its parts in once and stops polling;
// - [data-copy] buttons copy the text of the element whose id they name;
// - the create wizard shows [data-when="field=value|value"] sections, keeps auto-failover on with
//   Multi-AZ or cluster mode, names the default parameter group, draws the AZ grid and gives
//   every shard a slots field under "Custom distribution";
// - a wizard field that is left is checked by the service (POST data-check): the answer's
//   errors are shown beside every field already left. The rules live on the server only.
"use strict";

(function () {
  const MAX_PLACED_NODES = 90;
  const MAX_TAG_ROWS = 50;
  const SLOT_COUNT = 16384;

  // --- polling ----------------------------------------------------------------------------

  function isBusy(part) {
    return part.contains(document.activeElement) || part.querySelector("details[open]") !== null;
  }

  // A swapped part keeps the row chosen in it (the caches list's radio buttons).
  function swapParts(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    for (const fresh of template.content.querySelectorAll("[data-part]")) {
      const current = document.querySelector(`[data-part="${fresh.dataset.part}"]`);
      if (current && !isBusy(current) && current.innerHTML !== fresh.innerHTML) {
        const chosen = [...current.querySelectorAll("input[type=radio]:checked")].map((i) => i.id);
        current.innerHTML = fresh.innerHTML;
        for (const id of chosen) {
          const again = document.getElementById(id);
          if (again) again.checked = true;
        }
      }
    }
  }

  function startPoller(element) {
    const every = Number(element.dataset.pollEvery || 2000);
    async function tick() {
      try {
        const response = await fetch(element.dataset.poll, { cache: "no-store" });
        if (response.status === 404 && "gone" in element.dataset) {
          swapParts(await response.text()); // the answer may say it is gone, with the last events
          element.textContent = element.dataset.gone;
          return; // nothing left to follow
        }
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        swapParts(await response.text());
        element.textContent = "";
      } catch (error) {
        element.textContent = "Lost contact with the console; retrying…";
      }
      setTimeout(tick, every);
    }
    setTimeout(tick, every);
  }

  // --- copy buttons -----------------------------------------------------------------------

  function flash(button, text) {
    const before = button.textContent;
    button.textContent = text;
    setTimeout(() => { button.textContent = before; }, 1500);
  }

  async function copyFrom(button) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent);
      flash(button, "Copied");
    } catch (error) {
      window.getSelection().selectAllChildren(source);
      flash(button, "Selected: press Ctrl+C");
    }
  }

  // --- the create wizard ------------------------------------------------------------------

  function valueOf(form, name) {
    const field = form.elements.namedItem(name);
    if (!field) return "";
    if (field instanceof RadioNodeList) return field.value;
    if (field.type === "checkbox") return field.checked ? "on" : "";
    return field.value;
  }

  function count(text) {
    const number = Number.parseInt(text, 10);
    return Number.isNaN(number) ? 0 : Math.min(Math.max(number, 0), 500);
  }

  function showConditional(form) {
    for (const element of document.querySelectorAll("[data-when]")) {
      const [name, expected] = element.dataset.when.split("=");
      element.hidden = !expected.split("|").includes(valueOf(form, name));
    }
  }

  function lockFailover(form) {
    const failover = form.elements.namedItem("auto_failover");
    const multiAz = form.elements.namedItem("multi_az");
    if (!failover || !multiAz) return;
    const forced = multiAz.checked || valueOf(form, "cluster_mode") === "enabled";
    if (forced) failover.checked = true;
    failover.disabled = forced;
  }

  function showParameterGroup(form) {
    const select = document.getElementById("parameter_group");
    if (!select) return;
    const groups = JSON.parse(select.dataset.groups);
    const byMode = groups[valueOf(form, "engine_version")] || {};
    const names = byMode[valueOf(form, "cluster_mode")] || [];
    const current = Array.from(select.options).map((option) => option.value);
    if (current.join(" ") === names.join(" ")) return;
    const chosen = names.includes(select.value) ? select.value : names[0];
    select.replaceChildren(...names.map((name) => new Option(name, name, false, name === chosen)));
  }

  function placementSelect(shard, node, azs, previous) {
    const name = `az_${shard}_${node}`;
    const field = document.createElement("div");
    field.className = "field";
    const label = document.createElement("label");
    label.htmlFor = name;
    label.textContent = node === 0 ? "Primary" : `Replica ${node}`;
    const select = document.createElement("select");
    select.id = name;
    select.name = name;
    const chosen = previous[name] || azs[(shard - 1 + node) % azs.length];
    for (const az of azs) select.add(new Option(az, az, false, az === chosen));
    field.append(label, select);
    return field;
  }

  function drawPlacements(form) {
    const grid = form.querySelector("[data-placement-grid]");
    if (!grid || valueOf(form, "az_placement") !== "specify") return;
    const enabled = valueOf(form, "cluster_mode") === "enabled";
    const shards = enabled ? count(valueOf(form, "shards")) : 1;
    const replicas = count(valueOf(form, enabled ? "replicas_per_shard" : "replicas"));
    const shape = `${shards}x${replicas}`;
    if (grid.dataset.shape === shape) return;
    grid.dataset.shape = shape;
    const previous = {};
    for (const select of grid.querySelectorAll("select")) previous[select.name] = select.value;
    grid.replaceChildren();
    if (shards * (replicas + 1) > MAX_PLACED_NODES) {
      grid.textContent = "Too many nodes to place one by one; choose No preference.";
      return;
    }
    const azs = JSON.parse(grid.dataset.azs);
    for (let shard = 1; shard <= shards; shard++) {
      const fieldset = document.createElement("fieldset");
      fieldset.className = "placement-shard";
      const legend = document.createElement("legend");
      legend.textContent = `Shard ${shard}`;
      fieldset.append(legend);
      for (let node = 0; node <= replicas; node++) {
        fieldset.append(placementSelect(shard, node, azs, previous));
      }
      grid.append(fieldset);
    }
  }

  // The 16384 slots split equally, earlier shards taking the remainder (as model.spec.split_slots).
  function equalSlots(shards) {
    const base = Math.floor(SLOT_COUNT / shards);
    const extra = SLOT_COUNT % shards;
    const ranges = [];
    for (let index = 0, start = 0; index < shards; index++) {
      const size = base + (index < extra ? 1 : 0);
      ranges.push(`${start}-${start + size - 1}`);
      start += size;
    }
    return ranges;
  }

  function slotField(shard, text) {
    const name = `slots_${shard}`;
    const field = document.createElement("div");
    field.className = "field";
    const label = document.createElement("label");
    label.htmlFor = name;
    label.textContent = `Shard ${shard} slots`;
    const input = document.createElement("input");
    Object.assign(input, { id: name, name, value: text, size: 12, autocomplete: "off" });
    input.spellcheck = false;
    const error = document.createElement("p");
    Object.assign(error, { className: "field-error", id: `${name}-error`, hidden: true });
    error.dataset.errorFor = name;
    field.append(label, input, error);
    return field;
  }

  // One slots field per shard, starting from the equal split whenever the number of shards
  // changes; the fields the page came with are kept while it does not.
  function drawSlotRows(form) {
    const rows = form.querySelector("[data-slot-rows]");
    if (!rows || valueOf(form, "slots_mode") !== "custom") return;
    const shards = count(valueOf(form, "shards"));
    if (rows.dataset.shards === String(shards)) return;
    rows.dataset.shards = String(shards);
    rows.replaceChildren(...equalSlots(shards).map((text, index) => slotField(index + 1, text)));
  }

  function addTagRow(form) {
    const rows = form.querySelector("[data-tag-rows]");
    if (rows.children.length >= MAX_TAG_ROWS) return;
    const row = rows.lastElementChild.cloneNode(true);
    const index = rows.children.length;
    for (const element of row.querySelectorAll("[id], [name], [for]")) {
      for (const attribute of ["id", "name", "for"]) {
        const value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replace(/_\d+$/, `_${index}`));
      }
      if (element.tagName === "INPUT") element.value = "";
    }
    for (const hidden of row.querySelectorAll(".visually-hidden")) {
      hidden.textContent = `of tag ${index + 1}`;
    }
    rows.append(row);
    row.querySelector("input").focus();
  }

  // --- checking fields as they are left -----------------------------------------------------

  function checkKey(element) {
    const group = element.closest("[data-check-as]");
    return group ? group.dataset.checkAs : element.name;
  }

  function showError(form, key, message) {
    const slot = form.querySelector(`[data-error-for="${key}"]`);
    if (!slot) return;
    slot.textContent = message || "";
    slot.hidden = !message;
    const input = document.getElementById(key);
    if (!input || !("value" in input) || input.tagName === "FIELDSET") return;
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    const others = described.filter((id) => id !== slot.id);
    if (message) {
      input.setAttribute("aria-invalid", "true");
      others.push(slot.id);
    } else {
      input.removeAttribute("aria-invalid");
    }
    if (others.length) input.setAttribute("aria-describedby", others.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  function setUpChecks(form) {
    const left = new Set();
    let asked = 0;
    async function check() {
      const mine = ++asked;
      try {
        const body = new URLSearchParams(new FormData(form));
        const response = await fetch(form.dataset.check, { method: "POST", body });
        if (!response.ok || mine !== asked) return;
        const { errors } = await response.json();
        for (const key of left) showError(form, key, errors[key]);
      } catch (error) {
        // the page still checks everything when it moves on
      }
    }
    form.addEventListener("focusout", (event) => {
      const element = event.target;
      if (!element.name || element.type === "submit" || element.type === "hidden") return;
      left.add(checkKey(element));
      check();
    });
    form.addEventListener("change", () => { if (left.size) check(); });
  }

  function setUpWizard(form) {
    const refresh = () => {
      showConditional(form);
      lockFailover(form);
      showParameterGroup(form);
      drawPlacements(form);
      drawSlotRows(form);
    };
    // after a refused move, start where the errors are listed; after a move, at the step
    const problems = document.getElementById("form-errors");
    const arrived = document.querySelector("[data-focus]");
    if (problems) problems.focus();
    else if (arrived) arrived.focus();
    if (form.dataset.check) setUpChecks(form);
    form.addEventListener("change", refresh);
    form.addEventListener("input", refresh);
    const add = form.querySelector("[data-add-tag]");
    if (add) {
      add.hidden = false;
      add.addEventListener("click", () => addTagRow(form));
    }
    refresh();
  }

  // --- start ------------------------------------------------------------------------------

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (button) copyFrom(button);
  });
  for (const element of document.querySelectorAll("[data-poll]")) startPoller(element);
  // a confirmation opened from the caches list's Actions menu starts with the focus in it
  const opened = document.querySelector("details.confirm[open]");
  if (opened) {
    const first = opened.querySelector("#confirm")
      || opened.querySelector("input:not([type=hidden]):not(:disabled), button[type=submit]");
    if (first) first.focus();
  }
  const wizard = document.getElementById("wizard");
  if (wizard) setUpWizard(wizard);
})();
