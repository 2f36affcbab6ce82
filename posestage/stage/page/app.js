// The posestage control page: scenes, settings from the plugins' declarations, health, and the
// live skeletons drawn from the JSON pose stream (/_/poses). Numbers only, never camera pixels.
// The room (calibration and zones) is room.js's.
"use strict";
const posestage = (window.posestage = { frames: 0, lastFrame: null, hello: null, state: null });
const $ = (id) => document.getElementById(id);
const COLOURS = ["#ff5a5a", "#5ad2ff", "#ffd25a", "#7dff7d", "#d27dff", "#ff9d3c"];

async function control(body) {
  const reply = $("reply");
  try {
    const r = await fetch("/_/control", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const got = await r.json();
    reply.textContent = got.text;
    reply.className = got.ok ? "ok" : "error";
    return got;
  } catch (err) {
    reply.textContent = "not sent: " + err;
    reply.className = "error";
    return { ok: false };
  }
}

function settingControl(plugin, s) {
  const label = document.createElement("label");
  const name = document.createElement("span");
  name.textContent = s.name + (s.live ? "" : " (scene file only)");
  label.append(name);
  let input;
  if (s.type === "T") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = !!s.value;
  } else if (s.choices) {
    input = document.createElement("select");
    for (const c of s.choices) {
      const o = document.createElement("option");
      o.value = o.textContent = String(c);
      input.append(o);
    }
    input.value = String(s.value);
  } else {
    input = document.createElement("input");
    const ranged = (s.type === "i" || s.type === "f") && s.min !== null && s.max !== null;
    input.type = ranged ? "range" : (s.type === "s" ? "text" : "number");
    if (s.min !== null) input.min = s.min;
    if (s.max !== null) input.max = s.max;
    input.step = s.type === "i" ? 1 : (ranged ? (s.max - s.min) / 100 : "any");
    input.value = s.value === null ? "" : s.value;
  }
  if (input.type === "range") {
    const shown = document.createElement("output");
    shown.textContent = " " + input.value;
    input.addEventListener("input", () => (shown.textContent = " " + input.value));
    name.append(shown);
  }
  input.disabled = !s.live;
  input.dataset.setting = plugin + "." + s.name;
  input.dataset.testid = "setting-" + plugin + "-" + s.name;
  const value = () => {
    if (s.type === "T") return input.checked;
    if (s.choices) return s.choices.find((c) => String(c) === input.value);
    if (s.type === "i") return parseInt(input.value, 10);
    if (s.type === "f") return parseFloat(input.value);
    return input.value;
  };
  input.addEventListener("change", async () => {
    const got = await control({ action: "set", target: plugin, name: s.name, value: value() });
    if (!got.ok) refresh(true);
  });
  label.append(input);
  const help = document.createElement("span");
  help.className = "help";
  help.textContent = s.help;
  label.append(help);
  return label;
}

function render(state, rebuild) {
  posestage.state = state;
  $("scene").textContent = state.scene;
  const h = state.health;
  $("health").textContent = `${h.fps.toFixed(1)} fps · latency ${h.latency_ms.toFixed(0)} ms · ` +
    `inference ${h.inference_ms.toFixed(0)} ms · dropped ${h.dropped} · errors ${h.errors}` +
    (state.privacy ? " · private" : "");
  const scenes = $("scenes");
  const names = state.scenes.join("\n");
  if (rebuild || scenes.dataset.names !== names) {
    scenes.dataset.names = names;
    scenes.replaceChildren(...state.scenes.map((name) => {
      const b = document.createElement("button");
      b.textContent = name;
      b.dataset.scene = name;
      b.addEventListener("click", () => control({ action: "scene", value: name }).then(() => refresh(true)));
      return b;
    }));
  }
  for (const b of scenes.children) b.classList.toggle("on", b.dataset.scene === state.scene);
  if (window.roomRender) window.roomRender(state.room); // room.js: calibration and zones
  const plugins = $("plugins");
  const shape = JSON.stringify(state.plugins.map((p) => [p.name, p.settings.map((s) => s.name)]));
  if (rebuild || plugins.dataset.shape !== shape) {
    plugins.dataset.shape = shape;
    plugins.replaceChildren(...state.plugins.map((p) => {
      const d = document.createElement("details");
      d.open = true;
      const summary = document.createElement("summary");
      summary.textContent = p.name;
      d.append(summary, ...p.settings.map((s) => settingControl(p.name, s)));
      return d;
    }));
  }
}

async function refresh(rebuild) {
  try {
    const r = await fetch("/_/state");
    if (r.ok) render(await r.json(), rebuild);
  } catch (err) {
    $("health").textContent = "the stage does not answer";
  }
}

function draw(frame) {
  const canvas = $("preview");
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = Math.round((canvas.width * frame.height) / frame.width);
  if (canvas.height !== h) canvas.height = h;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, w, h);
  const bones = posestage.hello ? posestage.hello.bones : [];
  for (const p of frame.people) {
    const colour = COLOURS[p.slot % COLOURS.length];
    ctx.strokeStyle = ctx.fillStyle = colour;
    ctx.lineWidth = 4;
    const k = p.keypoints;
    for (const [a, b] of bones) {
      if (k[a][2] < 0.2 || k[b][2] < 0.2) continue;
      ctx.beginPath();
      ctx.moveTo(k[a][0] * w, k[a][1] * h);
      ctx.lineTo(k[b][0] * w, k[b][1] * h);
      ctx.stroke();
    }
    for (const [x, y, s] of k) {
      if (s < 0.2) continue;
      ctx.beginPath();
      ctx.arc(x * w, y * h, 5, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.font = "20px system-ui";
    ctx.fillText(String(p.slot), k[0][0] * w + 8, k[0][1] * h - 8);
  }
  if (window.roomDraw) window.roomDraw(ctx, w, h, frame);
}

function stream() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/_/poses");
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "hello") posestage.hello = msg;
    else if (msg.type === "frame") {
      posestage.frames += 1;
      posestage.lastFrame = msg;
      draw(msg);
    }
  };
  ws.onclose = () => setTimeout(stream, 1000);
}

refresh(true);
setInterval(() => refresh(false), 1000);
stream();
