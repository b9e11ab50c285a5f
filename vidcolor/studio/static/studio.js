// vidcolor studio: the page over the studio's HTTP API (see the README's API table). No build step.
"use strict";

const TOKEN = document.querySelector('meta[name="vidcolor-token"]').content;
const $ = (id) => document.getElementById(id);
const NEEDS_REFERENCE = new Set(["nearest", "none"]);
let plan = null;
let state = null;
let frame = 0;
let strokes = [];  // canvas snapshots before each stroke, for undo

async function api(method, path, body, filename) {
  const headers = { "X-Vidcolor-Token": TOKEN };
  if (body !== undefined && !(body instanceof Blob)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
  if (filename) headers["X-Filename"] = encodeURIComponent(filename);  // a header carries Latin-1 only
  const answer = await fetch(path, { method, headers, body });
  const data = answer.headers.get("content-type")?.includes("json") ? await answer.json() : null;
  if (!answer.ok) throw new Error(data?.error || `${answer.status} ${answer.statusText}`);
  return data;
}

// A shot that resembles its reference as a zoom into it (a rostrum camera's into its photograph): how far.
function zoomOf(s) {
  return s.zoom >= 1.05 ? ` (${s.zoom.toFixed(1)}x)` : "";
}

function say(text, error = false) {
  const m = $("message");
  m.textContent = text;
  m.className = error ? "error" : "";
}

async function attempt(work) {
  try { await work(); } catch (e) { say(e.message, true); }
}

function shotOf(n) { return plan.shots.find((s) => s.first_frame <= n && n <= s.last_frame); }
function statusOf(s) { return s.overrides.neutral ? "neutral" : s.status; }
function fileOf(spec) { return spec ? spec.replace(/@[^@/]*$/, "") : null; }
function referenceIndex(spec) {
  const file = fileOf(spec);
  const ref = state.references.find((r) => r.file === file || r.file === spec);
  return ref ? ref.index : -1;
}
function pictureUrl(n, view, width) {
  // A coloured frame changes with the plan: its address names the plan's colour key, so no stale picture is shown.
  const plan = view === "colour" ? `&plan=${state.render_key}` : "";
  return `/api/frames/${n}?view=${view}` + (width ? `&width=${width}` : "") + plan;
}

async function load() {
  [state, plan] = await Promise.all([api("GET", "/api/studio"), api("GET", "/api/plan")]);
  $("film").textContent = `${state.input.name}: ${state.input.frames} frames at ${state.input.rate} fps, ${plan.shots.length} shots`;
  $("scrub").max = state.input.frames - 1;
  $("warnings").replaceChildren(...state.warnings.map((w) => Object.assign(document.createElement("li"), { textContent: w })));
  $("reference").replaceChildren(...state.references.map((r) => new Option(r.name, r.index)));
  $("legend").replaceChildren(...Object.entries(state.regions).map(([name, colour]) =>
    Object.assign(document.createElement("span"), { textContent: name, style: `background:${colour}` })));
  drawStrip();
  showFrame(frame);
}

function drawStrip() {
  const cards = plan.shots.map((s) => {
    const card = document.createElement("div");
    const status = statusOf(s);
    card.className = "shot" + (NEEDS_REFERENCE.has(status) ? " needs" : "");
    card.dataset.shot = s.index;
    const middle = Math.floor((s.first_frame + s.last_frame) / 2);
    const thumbs = document.createElement("div");
    thumbs.className = "thumbs";
    for (const n of [s.first_frame, middle, s.last_frame]) {
      thumbs.append(Object.assign(document.createElement("img"), { src: pictureUrl(n, "grey", 160), alt: `frame ${n}`, loading: "lazy" }));
    }
    const text = document.createElement("div");
    text.innerHTML = `<b>${s.index}</b> <span class="time">${s.start_timecode}–${s.end_timecode}</span> ` +
      `<span class="badge ${status}">${status}</span>`;
    const ref = referenceIndex(s.overrides.reference || s.reference);
    if (ref >= 0) {
      text.append(" ", Object.assign(document.createElement("img"), { className: "ref", src: `/api/files/reference/${ref}`, alt: "reference" }));
      text.append(` ${s.similarity.toFixed(2)}${zoomOf(s)}`);
    }
    card.append(thumbs, text);
    card.addEventListener("click", () => showFrame(s.first_frame));
    return card;
  });
  $("strip").replaceChildren(...cards);
}

function showFrame(n) {
  frame = Math.max(0, Math.min(n, state.input.frames - 1));
  $("scrub").value = frame;
  const s = shotOf(frame);
  $("frame-text").textContent = `frame ${frame} · shot ${s.index}`;
  $("grey").src = pictureUrl(frame, "grey");
  $("over").src = pictureUrl(frame, $("view").value);
  for (const card of document.querySelectorAll(".shot")) card.classList.toggle("current", Number(card.dataset.shot) === s.index);
  $("shot-number").textContent = s.index;
  const status = statusOf(s);
  $("shot-status").textContent = status;
  $("shot-status").className = `badge ${status}`;
  const ref = referenceIndex(s.overrides.reference || s.reference);
  $("shot-text").textContent = `frames ${s.first_frame}–${s.last_frame}, ${s.start_timecode}–${s.end_timecode}` +
    (s.transition === "dissolve" ? ", begins halfway through a dissolve" : "") +
    (ref >= 0 ? `, reference ${state.references[ref].name} (similarity ${s.similarity.toFixed(2)}${zoomOf(s) ?
      `, a ${s.zoom.toFixed(1)}x zoom into it` : ""})` : ", no reference");
  $("neutral").checked = s.overrides.neutral;
  $("merge").disabled = s.index === 1;
  $("split").disabled = frame === s.first_frame;
  $("reference-image").src = ref >= 0 ? `/api/files/reference/${ref}` : "";
  if (ref >= 0) $("reference").value = ref;
  resetCanvas();
}

function wipe() { $("over").style.clipPath = `inset(0 ${100 - Number($("wipe").value)}% 0 0)`; }

// ------------------------------------------------------------------------------------------- hints

function resetCanvas() {
  const canvas = $("paint");
  canvas.width = state.input.width;
  canvas.height = state.input.height;
  strokes = [];
}

function canvasPoint(event) {
  const canvas = $("paint");
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
}

function sample(image, x, y) {
  const c = document.createElement("canvas");
  c.width = image.naturalWidth; c.height = image.naturalHeight;
  const g = c.getContext("2d");
  g.drawImage(image, 0, 0);
  const [r, gg, b] = g.getImageData(Math.floor(x * c.width), Math.floor(y * c.height), 1, 1).data;
  return "#" + [r, gg, b].map((v) => v.toString(16).padStart(2, "0")).join("");
}

function setupPainting() {
  const canvas = $("paint");
  const g = canvas.getContext("2d");
  let drawing = false;
  let last = null;
  canvas.addEventListener("pointerdown", (event) => {
    const [x, y] = canvasPoint(event);
    if ($("eyedropper").checked) {
      $("colour").value = sample($("over"), x / canvas.width, y / canvas.height);
      $("eyedropper").checked = false;
      return;
    }
    strokes.push(g.getImageData(0, 0, canvas.width, canvas.height));
    drawing = true;
    last = [x, y];
    stroke(g, last, last);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const point = canvasPoint(event);
    stroke(g, last, point);
    last = point;
  });
  for (const end of ["pointerup", "pointerleave"]) canvas.addEventListener(end, () => { drawing = false; });
  $("reference-image").addEventListener("click", (event) => {
    if (!$("eyedropper").checked) return;
    const box = event.target.getBoundingClientRect();
    $("colour").value = sample(event.target, (event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
    $("eyedropper").checked = false;
  });
  $("undo").addEventListener("click", () => { if (strokes.length) g.putImageData(strokes.pop(), 0, 0); });
}

function stroke(g, from, to) {
  g.globalCompositeOperation = $("eraser").checked ? "destination-out" : "source-over";
  g.strokeStyle = $("colour").value;
  g.lineWidth = Number($("brush").value);
  g.lineCap = "round";
  g.beginPath();
  g.moveTo(...from);
  g.lineTo(...to);
  g.stroke();
}

// ------------------------------------------------------------------------------------------- jobs

function showJob(job) {
  const total = job.total || 0;
  $("progress").max = total || 1;
  $("progress").value = job.frames;
  const eta = job.eta_s != null ? `, ETA ${job.eta_s.toFixed(0)} s` : "";
  const seg = job.segments;
  const segments = seg ? `; segments ${seg.done}/${seg.total}` + (seg.in_flight.length ? `, on ${seg.in_flight.join(", ")}` : "") : "";
  $("job-text").textContent = `${job.kind} ${job.state}: ${job.frames}${total ? "/" + total : ""} frames, ${job.fps} fps${eta}${segments}`;
  const running = job.state === "running";
  $("cancel").disabled = !running;
  $("render").disabled = running;
  $("preview").disabled = running;
}

function listen() {
  const events = new EventSource("/api/events");
  for (const type of ["started", "progress", "segments", "cancelled"]) events.addEventListener(type, (e) => showJob(JSON.parse(e.data)));
  events.addEventListener("failed", (e) => { const job = JSON.parse(e.data); showJob(job); say(`${job.kind} failed: ${job.error}`, true); });
  events.addEventListener("done", (e) => {
    const job = JSON.parse(e.data);
    showJob(job);
    if (job.kind === "preview") showPreview(job.result);
    else say(`rendered ${job.result.output} (${job.result.frames} frames, ${job.result.seconds} s); plan saved as ${job.result.plan_file}`);
    document.body.dataset.lastJob = `${job.kind}:${job.state}`;
  });
  events.addEventListener("plan", () => attempt(load));
}

function studioUrl(path) {
  const folder = state.folder;
  return "/api/files/studio/" + path.slice(folder.length + 1).split("/").map(encodeURIComponent).join("/");
}

function showPreview(result) {
  const s = plan.shots[result.shot - 1];
  const [num, den = "1"] = state.input.rate.split("/");  // "25" or "30000/1001"
  const rate = Number(num) / Number(den);
  $("preview-grey").src = `/api/files/input#t=${(s.first_frame / rate).toFixed(3)},${((s.last_frame + 1) / rate).toFixed(3)}`;
  $("preview-colour").src = studioUrl(result.video);
  $("sheet").src = studioUrl(result.sheet);
  say(`preview of shot ${result.shot} ready`);
}

// ------------------------------------------------------------------------------------------ wiring

function wire() {
  $("scrub").addEventListener("input", () => showFrame(Number($("scrub").value)));
  $("view").addEventListener("change", () => showFrame(frame));
  $("wipe").addEventListener("input", wipe);
  $("split").addEventListener("click", () => attempt(async () => { plan = await api("POST", "/api/split", { frame }); await load(); say(`cut added at frame ${frame}`); }));
  $("merge").addEventListener("click", () => attempt(async () => { const n = shotOf(frame).index; await api("POST", `/api/shots/${n}/merge`); await load(); say(`shot ${n} merged into shot ${n - 1}`); }));
  $("neutral").addEventListener("change", () => attempt(async () => { await api("POST", `/api/shots/${shotOf(frame).index}`, { neutral: $("neutral").checked }); await load(); }));
  $("give").addEventListener("click", () => attempt(async () => {
    const n = shotOf(frame).index;
    await api("POST", `/api/shots/${n}/reference`, { reference: Number($("reference").value), pin_frame: $("pin").checked ? frame : null });
    await load();
    const s = plan.shots[n - 1];
    say(`shot ${n} takes ${state.references[Number($("reference").value)].name}: similarity ${s.similarity.toFixed(2)}, ${statusOf(s)}`);
  }));
  $("upload").addEventListener("change", () => attempt(async () => {
    const file = $("upload").files[0];
    if (!file) return;
    const added = await api("POST", "/api/references", file, file.name);
    await load();
    $("reference").value = added.index;
    say(`${file.name} uploaded; give it to a shot`);
  }));
  $("save-hints").addEventListener("click", () => attempt(async () => {
    const blob = await new Promise((done) => $("paint").toBlob(done, "image/png"));
    await api("POST", `/api/hints/${frame}`, blob);
    await load();
    say(`hints saved on frame ${frame}`);
  }));
  $("clear-hints").addEventListener("click", () => attempt(async () => { await api("DELETE", `/api/hints/${frame}`); await load(); say(`hints on frame ${frame} removed`); }));
  $("preview").addEventListener("click", () => attempt(async () => { showJob(await api("POST", "/api/preview", { shot: shotOf(frame).index })); }));
  $("render").addEventListener("click", () => attempt(async () => { showJob(await api("POST", "/api/render", { overwrite: true })); }));
  $("cancel").addEventListener("click", () => attempt(() => api("POST", "/api/cancel")));
  setupPainting();
  wipe();
}

wire();
listen();
attempt(async () => { await load(); document.body.dataset.ready = "yes"; });
