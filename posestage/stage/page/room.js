// The room on the control page: the running scene's floor calibration and zones, shown over the
// skeletons and edited here. Every change sends the whole [room] table ({action: "room"}): the
// stage checks it as a scene file's and applies it at once; "Save" writes it into the scene file.
// Image points come from clicks on the skeleton preview (stream coordinates), never the camera;
// a zone's corner is dragged there too.
"use strict";
const room = (window.posestage.room = { state: null, draft: null, seen: "", picking: -1, dragging: null });

const copy = (v) => JSON.parse(JSON.stringify(v));
const units = () => (room.state && room.state.units) || "px";
const round = (v, u) => Math.round(v * (u === "m" ? 1000 : 10)) / (u === "m" ? 1000 : 10);

function field(value, onChange, label) {
  const input = document.createElement("input");
  input.type = "number";
  input.step = "any";
  input.value = value === null || value === undefined ? "" : value;
  input.setAttribute("aria-label", label);
  input.addEventListener("change", () => onChange(input.value === "" ? null : parseFloat(input.value)));
  return input;
}

function button(text, onClick, testid) {
  const b = document.createElement("button");
  b.textContent = text;
  if (testid) b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  return b;
}

// The draft as a [room] table the stage accepts: image only once every mark has its point.
function table() {
  const t = copy(room.draft);
  if (t.image && (!t.floor || t.image.length !== t.floor.length || t.image.some((p) => !p || p.includes(null)))) {
    return null;
  }
  if (!t.floor || !t.floor.length) delete t.floor;
  if (!t.image || !t.image.length) { delete t.image; delete t.size; }
  if (t.zones && !Object.keys(t.zones).length) delete t.zones;
  return t;
}

async function send() {
  const t = table();
  if (t === null) {
    const reply = document.getElementById("reply");
    reply.textContent = "room: a floor mark has no image point yet: click it on the preview or type it";
    reply.className = "error";
    return;
  }
  const got = await control({ action: "room", value: t });
  if (!got.ok) room.seen = ""; // refused: back to what the stage runs
  await refresh(false);
}

function markRow(i) {
  const d = room.draft;
  const row = document.createElement("div");
  row.className = "row";
  row.dataset.testid = "mark-" + i;
  const f = d.floor[i], p = (d.image || [])[i] || [null, null];
  const setFloor = (k) => (v) => { d.floor[i][k] = v; send(); };
  const setImage = (k) => (v) => {
    d.image = d.image || d.floor.map(() => null);
    d.image[i] = d.image[i] || [null, null];
    d.image[i][k] = v;
    send();
  };
  const name = document.createElement("span");
  name.textContent = `mark ${i + 1}: floor (m)`;
  const img = document.createElement("span");
  img.textContent = "image (px)";
  row.append(name, field(f[0], setFloor(0), "floor x"), field(f[1], setFloor(1), "floor y"),
    img, field(p[0], setImage(0), "image x"), field(p[1], setImage(1), "image y"),
    button("×", () => { d.floor.splice(i, 1); if (d.image) d.image.splice(i, 1); send(); }));
  return row;
}

function zoneBox(name) {
  const d = room.draft;
  const corners = d.zones[name];
  const box = document.createElement("div");
  box.className = "zone";
  box.dataset.zone = name;
  const title = document.createElement("input");
  title.value = name;
  title.dataset.testid = "zone-name-" + name;
  title.setAttribute("aria-label", "zone name");
  title.addEventListener("change", () => {
    const zones = {};
    for (const [k, v] of Object.entries(d.zones)) zones[k === name ? title.value : k] = v;
    d.zones = zones;
    send();
  });
  const count = document.createElement("span");
  count.className = "count";
  count.dataset.count = name;
  const head = document.createElement("div");
  head.className = "row";
  head.append(title, count, button("Delete zone", () => { delete d.zones[name]; send(); }, "zone-delete-" + name));
  box.append(head);
  corners.forEach((c, j) => {
    const row = document.createElement("div");
    row.className = "row";
    const set = (k) => (v) => { corners[j][k] = v; send(); };
    const x = field(c[0], set(0), "corner x");
    const y = field(c[1], set(1), "corner y");
    x.dataset.corner = `${name}.${j}.x`;
    y.dataset.corner = `${name}.${j}.y`;
    const label = document.createElement("span");
    label.textContent = `corner ${j + 1} (${units()})`;
    row.append(label, x, y, button("×", () => { corners.splice(j, 1); send(); }));
    box.append(row);
  });
  box.append(button("Add corner", () => {
    const a = corners[corners.length - 1], b = corners[0];
    corners.push([round((a[0] + b[0]) / 2, units()), round((a[1] + b[1]) / 2, units())]);
    send();
  }, "zone-add-corner-" + name));
  return box;
}

function addZone() {
  const d = room.draft;
  d.zones = d.zones || {};
  let n = 1;
  while (d.zones["zone" + n]) n += 1;
  const f = posestage.lastFrame;
  let cx = 1, cy = 1, r = 0.5;
  if (units() === "px") { cx = f ? f.width / 2 : 320; cy = f ? f.height / 2 : 240; r = cy / 2; }
  else if (d.floor && d.floor.length) {
    cx = d.floor.reduce((s, p) => s + p[0], 0) / d.floor.length;
    cy = d.floor.reduce((s, p) => s + p[1], 0) / d.floor.length;
  }
  d.zones["zone" + n] = [[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]]
    .map(([x, y]) => [round(x, units()), round(y, units())]);
  send();
}

function pickPrompt() {
  const d = room.draft, k = room.picking;
  const reply = document.getElementById("reply");
  reply.className = "";
  reply.textContent = k < 0 ? "" : `click floor mark ${k + 1} of ${d.floor.length} at ` +
    `(${d.floor[k][0]}, ${d.floor[k][1]}) m on the preview`;
}

// A click on the preview while picking: the next mark's image point, in camera pixels as the
// calibration wants them (not mirrored), in the stream's picture size.
function previewClick(event) {
  const f = posestage.lastFrame, d = room.draft, st = room.state;
  if (room.picking < 0 || !f || !d) return;
  const canvas = event.currentTarget, rect = canvas.getBoundingClientRect();
  let x = ((event.clientX - rect.left) / rect.width) * f.width;
  const y = ((event.clientY - rect.top) / rect.height) * f.height;
  if (st.mirror) x = f.width - 1 - x;
  const size = `${f.width}x${f.height}`;
  d.image = d.image || d.floor.map(() => null);
  if (d.size && d.size !== size) { // earlier points were in another picture size: scale them
    const [w, h] = d.size.split("x").map(Number);
    d.image = d.image.map((p) => p && p[0] !== null ? [round(p[0] * f.width / w, "px"), round(p[1] * f.height / h, "px")] : p);
  }
  d.size = size;
  d.image[room.picking] = [round(x, "px"), round(y, "px")];
  room.picking += 1;
  if (room.picking >= d.floor.length) { room.picking = -1; send(); } else pickPrompt();
  roomEditor();
}

function roomEditor() {
  const d = room.draft, st = room.state;
  const status = document.getElementById("room-status");
  status.textContent = st.calibrated ? `calibrated, reprojection error ${st.error.toFixed(1)} px`
    : (d.floor && d.floor.length ? "floor marks without image points: not calibrated" : "not calibrated: zones in camera pixels");
  const marks = document.getElementById("marks");
  marks.replaceChildren(...(d.floor || []).map((_, i) => markRow(i)));
  const zones = document.getElementById("zones");
  zones.replaceChildren(...Object.keys(d.zones || {}).map(zoneBox));
  document.getElementById("save-room").disabled = !st.file;
}

// Called by app.js with each /_/state: the editor is rebuilt when the stage's room changed.
function roomRender(state) {
  if (!state) return;
  room.state = state;
  const seen = JSON.stringify(state.table);
  if (seen === room.seen || room.dragging) return;
  room.seen = seen;
  room.draft = copy(state.table);
  room.picking = -1;
  roomEditor();
}

function toPreview(p, f) { // a zone corner or mark (zones' units) → canvas fraction
  const st = room.state;
  let [x, y] = p;
  if (st.to_image) {
    const m = st.to_image, w = m[2][0] * x + m[2][1] * y + m[2][2];
    [x, y] = [(m[0][0] * x + m[0][1] * y + m[0][2]) / w, (m[1][0] * x + m[1][1] * y + m[1][2]) / w];
    if (st.size) { x *= f.width / st.size[0]; y *= f.height / st.size[1]; }
  }
  if (st.mirror) x = f.width - 1 - x;
  return [x / f.width, y / f.height];
}

function fromPreview(u, v, f) { // a canvas fraction → zones' units (the inverse of toPreview)
  const st = room.state;
  let x = u * f.width, y = v * f.height;
  if (st.mirror) x = f.width - 1 - x;
  if (!st.to_floor) return [round(x, "px"), round(y, "px")];
  if (st.size) { x *= st.size[0] / f.width; y *= st.size[1] / f.height; }
  const m = st.to_floor, w = m[2][0] * x + m[2][1] * y + m[2][2];
  return [round((m[0][0] * x + m[0][1] * y + m[0][2]) / w, "m"), round((m[1][0] * x + m[1][1] * y + m[1][2]) / w, "m")];
}

function fraction(event) {
  const r = event.currentTarget.getBoundingClientRect();
  return [(event.clientX - r.left) / r.width, (event.clientY - r.top) / r.height, r];
}

// Dragging a zone's corner on the preview: the nearest corner within 20 screen pixels follows.
function dragStart(event) {
  const f = posestage.lastFrame, d = room.draft;
  if (room.picking >= 0 || !f || !d || !d.zones) return;
  const [u, v, r] = fraction(event);
  let best = null, nearest = 20;
  for (const [name, corners] of Object.entries(d.zones)) {
    corners.forEach((c, j) => {
      const [x, y] = toPreview(c, f);
      const away = Math.hypot((x - u) * r.width, (y - v) * r.height);
      if (away < nearest) { nearest = away; best = [name, j]; }
    });
  }
  if (!best) return;
  room.dragging = best;
  event.currentTarget.setPointerCapture(event.pointerId);
  event.preventDefault();
}

function dragMove(event) {
  const f = posestage.lastFrame;
  if (!room.dragging || !f) return;
  const [u, v] = fraction(event);
  const p = fromPreview(u, v, f);
  if (p.every(isFinite)) room.draft.zones[room.dragging[0]][room.dragging[1]] = p;
}

function dragEnd() {
  if (!room.dragging) return;
  room.dragging = null;
  roomEditor();
  send();
}

// Drawn over the skeletons each frame: the zones (with who is in them now) and the marks.
function roomDraw(ctx, w, h, frame) {
  const st = room.state, d = room.draft;
  if (!st || !d) return;
  const counts = Object.fromEntries((frame.zones || []).map((z) => [z.name, z]));
  for (const el of document.querySelectorAll("[data-count]")) {
    const z = counts[el.dataset.count];
    el.textContent = z ? `${z.count} in · ${z.visits} visits` : "";
  }
  ctx.lineWidth = 2;
  ctx.font = "16px system-ui";
  for (const [name, corners] of Object.entries(d.zones || {})) { // the draft: a drag shows
    const pts = corners.map((c) => toPreview(c, frame));
    if (pts.some(([x, y]) => !isFinite(x) || !isFinite(y))) continue;
    const busy = counts[name] && counts[name].count > 0;
    ctx.strokeStyle = busy ? "#7dff7d" : "#8cf";
    ctx.fillStyle = busy ? "rgba(125,255,125,.15)" : "rgba(136,204,255,.08)";
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i ? ctx.lineTo(x * w, y * h) : ctx.moveTo(x * w, y * h)));
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(`${name} ${counts[name] ? counts[name].count : 0}`, pts[0][0] * w + 4, pts[0][1] * h + 18);
  }
  const image = d.image || [];
  ctx.fillStyle = "#ffc828";
  image.forEach((p, i) => {
    if (!p || p[0] === null) return;
    let x = p[0], y = p[1];
    if (d.size) { const [sw, sh] = d.size.split("x").map(Number); x *= frame.width / sw; y *= frame.height / sh; }
    if (st.mirror) x = frame.width - 1 - x;
    ctx.beginPath();
    ctx.arc((x / frame.width) * w, (y / frame.height) * h, 5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillText(String(i + 1), (x / frame.width) * w + 7, (y / frame.height) * h - 7);
  });
}

document.getElementById("add-zone").addEventListener("click", addZone);
document.getElementById("add-mark").addEventListener("click", () => {
  const d = room.draft;
  if (!d.floor || !d.floor.length) { // a 1 m square to start from: type the tape's numbers in
    d.floor = [[0, 0], [1, 0], [1, 1], [0, 1]];
    send();
    return;
  }
  const last = d.floor[d.floor.length - 1];
  d.floor.push([last[0] + 1, last[1]]);
  if (d.image) d.image.push(null);
  roomEditor();
});
document.getElementById("pick-marks").addEventListener("click", () => {
  if (!room.draft.floor || room.draft.floor.length < 4) {
    document.getElementById("reply").textContent = "room: add 4 or more floor marks (metres) first";
    return;
  }
  room.picking = 0;
  pickPrompt();
});
document.getElementById("save-room").addEventListener("click", async () => {
  await control({ action: "room", name: "save" });
});
const preview = document.getElementById("preview");
preview.addEventListener("click", previewClick);
preview.addEventListener("pointerdown", dragStart);
preview.addEventListener("pointermove", dragMove);
preview.addEventListener("pointerup", dragEnd);
preview.addEventListener("pointercancel", dragEnd);
