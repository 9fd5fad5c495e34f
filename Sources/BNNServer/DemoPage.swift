/// The draw-a-digit page: one self-contained HTML document (inline CSS and JavaScript, no external assets).
///
/// How it talks to the server:
/// - the canvas (280×280, white strokes on black like MNIST) is reduced to 28×28 by area averaging (the
///   mean of each 10×10 block) and sent as `pixels` to `POST /api/predict` after every stroke; the server
///   normalises it like `bnn predict` does;
/// - a loaded sample (`GET /api/sample`) is drawn as 10×10 blocks and, while it is untouched, its own 784
///   values are sent with `"normalize": false`, so the answer is the one `bnn evaluate` gives for it.
///
/// Every answer comes with what explains it (`#why`): for a refusal, the score against the threshold, the
/// best guess's mean probability and 5–95% band over the sampled networks, the entropy and the mutual
/// information; the strips show each class's mean probability (the medians of a refused input are often
/// all near 0, which alone would not say why the best guess is what it is).
///
/// Hooks for the browser test: element ids (`pad`, `answer`, `why`, `clear`, `undo`, `sample-mnist`,
/// `sample-notmnist`, `sample-noise`) and `data-predictions` on `<body>`, counting the answers shown.
enum DemoPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Draw a digit · swift-bnn</title>
<link rel="icon" href="data:,">
<style>
  :root { --bg:#101418; --panel:#1a2027; --text:#e8edf2; --muted:#8b98a5; --accent:#4cc38a; --warn:#f2a33a;
          --refuse:#ef6b6b; --band:#3b82f6; --track:#2a323b; }
  * { box-sizing: border-box; }
  body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--text); }
  header { padding: 14px 18px 4px; }
  h1 { font-size: 1.25rem; margin: 0; }
  header p { margin: 4px 0 0; color: var(--muted); font-size: .9rem; }
  main { display:flex; flex-wrap:wrap; gap:18px; padding: 12px 18px 18px; align-items:flex-start; }
  .panel { background: var(--panel); border-radius: 12px; padding: 14px; }
  #left { flex: 0 1 312px; }
  #right { flex: 1 1 320px; min-width: 0; }
  #pad { display:block; width:280px; max-width:100%; height:auto; aspect-ratio:1; background:#000; border-radius:6px;
         touch-action:none; cursor:crosshair; border:1px solid #39424c; }
  .row { display:flex; flex-wrap:wrap; gap:8px; margin-top:10px; }
  button { font: inherit; font-size:.9rem; color:var(--text); background:#2b3540; border:1px solid #3c4854; border-radius:8px;
           padding:8px 12px; cursor:pointer; touch-action: manipulation; }
  button:hover:not(:disabled) { background:#354150; }
  button:disabled { opacity:.4; cursor:default; }
  #caption { color:var(--muted); font-size:.85rem; min-height:1.2em; margin-top:8px; }
  #answer { font-size: 3.4rem; font-weight: 700; line-height:1.1; min-height:1.2em; letter-spacing:.01em; }
  #answer.refused { color: var(--refuse); }
  #answer.accepted { color: var(--accent); }
  #answer.idle { color: var(--muted); font-size: 1.6rem; font-weight:500; }
  #detail { color: var(--muted); font-size:.9rem; margin: 4px 0 6px; min-height:1.2em; }
  #why { font-size:.85rem; line-height:1.35; margin: 0 0 12px; min-height:1.2em; }
  #why .reason { color: var(--refuse); font-weight:600; }
  .gauge { position:relative; height:14px; background:var(--track); border-radius:7px; overflow:hidden; }
  .gauge .fill { position:absolute; left:0; top:0; bottom:0; width:0; background:var(--accent); transition: width .15s; }
  .gauge .fill.over { background: var(--refuse); }
  .gauge .limit { position:absolute; top:-2px; bottom:-2px; width:2px; background:#fff; }
  .gaugelabels { display:flex; justify-content:space-between; color:var(--muted); font-size:.75rem; margin-top:3px; }
  h2 { font-size: .95rem; margin: 16px 0 6px; font-weight:600; }
  .strip { display:grid; grid-template-columns: 1.6em 1fr 3.2em; gap:8px; align-items:center; height:22px; }
  .strip .name { text-align:right; font-weight:600; color:var(--muted); }
  .strip.selected .name { color: var(--accent); }
  .strip .track { position:relative; height:12px; background:var(--track); border-radius:6px; }
  .strip .band { position:absolute; top:0; bottom:0; background: var(--band); opacity:.45; border-radius:6px; min-width:2px; }
  .strip.selected .band { background: var(--accent); opacity:.6; }
  .strip.guess .name { color: var(--warn); }
  .strip.guess .band { background: var(--warn); opacity:.6; }
  .strip .median { position:absolute; top:-3px; bottom:-3px; width:3px; margin-left:-1px; background:#fff; border-radius:1px; }
  .strip .value { font-variant-numeric: tabular-nums; font-size:.8rem; color:var(--muted); text-align:right; }
  .strip.selected .value { color: var(--text); }
  .legend { color:var(--muted); font-size:.75rem; margin-top:6px; }
  #error { color: var(--refuse); font-size:.85rem; min-height:1em; margin-top:8px; }
  label.samples { color: var(--muted); font-size: .85rem; display:flex; align-items:center; gap:6px; }
  label.samples input { width: 5em; font: inherit; background:#0c1014; color:var(--text); border:1px solid #3c4854; border-radius:6px; padding:4px 6px; }
  footer { color: var(--muted); font-size: .75rem; padding: 0 18px 18px; }
  @media (max-width: 640px) {
    main { padding: 8px; gap: 10px; }
    #left, #right { flex: 1 1 100%; }
    #pad { width: 100%; max-width: 360px; margin: 0 auto; }
    #answer { font-size: 2.8rem; }
  }
  .upload-only #undo, .upload-only #clear, .upload-only button[data-kind] { display: none; }
  .upload-only #pad { pointer-events: none; }
</style>
</head>
<body data-predictions="0">
<header>
  <h1>Draw a digit</h1>
  <p>A Bayesian network answers with a digit, with two candidates, or with "I don't know".</p>
</header>
<main>
  <section id="left" class="panel">
    <canvas id="pad" width="280" height="280" aria-label="Drawing area: draw one digit"></canvas>
    <div class="row">
      <button id="undo" title="Undo (Ctrl+Z)">Undo</button>
      <button id="clear" title="Clear (Esc)">Clear</button>
    </div>
    <div class="row">
      <button id="sample-mnist" data-kind="mnist" title="A random MNIST test digit">MNIST digit</button>
      <button id="sample-notmnist" data-kind="notmnist" title="A random notMNIST letter (A–J): not a digit">Letter</button>
      <button id="sample-noise" data-kind="noise" title="Uniform white noise: not a digit">Noise</button>
    </div>
    <div class="row">
      <label class="upload" title="Any PNG image: a digit model normalises it as MNIST was made, another model brings it to its own size">
        Upload a PNG <input id="upload" type="file" accept="image/png"></label>
    </div>
    <div id="caption"></div>
    <div class="row">
      <label class="samples">Samples <input id="samples" type="number" min="1" max="1000" value="100"></label>
    </div>
  </section>
  <section id="right" class="panel" aria-live="polite">
    <div id="answer" class="idle">Draw a digit</div>
    <div id="detail"></div>
    <p id="why"></p>
    <div class="gauge" id="gauge" title="Uncertainty score against the refusal threshold">
      <div class="fill" id="gauge-fill"></div><div class="limit" id="gauge-limit" style="left:50%"></div>
    </div>
    <div class="gaugelabels"><span>sure</span><span id="gauge-text"></span><span>unsure</span></div>
    <h2>Probability of each class over the sampled networks</h2>
    <div id="strips"></div>
    <div class="legend">Bar: 5–95% of the samples; white tick: median; number: mean probability; green: the classes in the answer;
      orange: the best guess of a refused input.</div>
    <div id="error" role="alert"></div>
  </section>
</main>
<footer id="footer">swift-bnn</footer>
<script>
"use strict";
const SIDE = 28, SCALE = 10, LINE_WIDTH = 22;
const pad = document.getElementById("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true });
const answerEl = document.getElementById("answer"), detailEl = document.getElementById("detail");
const whyEl = document.getElementById("why");
const errorEl = document.getElementById("error"), captionEl = document.getElementById("caption");
const samplesEl = document.getElementById("samples");
let classNames = ["0","1","2","3","4","5","6","7","8","9"];
// What the answer box says before any input: "Upload an image" for models that do not read digits.
let idleText = "Draw a digit";
let history = [];          // snapshots for Undo: {image, raw, caption}
let raw = null;            // the 784 values of an untouched loaded sample
let ink = false;           // anything on the canvas?
let drawing = false, last = null;
let inFlight = false, again = false, shown = 0;

function clearPad() { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); }
clearPad();
buildStrips();

function snapshot() {
  history.push({ image: ctx.getImageData(0, 0, pad.width, pad.height), raw, caption: captionEl.textContent, ink });
  if (history.length > 50) history.shift();
}
function point(event) {
  const box = pad.getBoundingClientRect();
  return { x: (event.clientX - box.left) * pad.width / box.width, y: (event.clientY - box.top) * pad.height / box.height };
}
function segment(a, b) {
  ctx.strokeStyle = "#fff"; ctx.lineWidth = LINE_WIDTH; ctx.lineCap = "round"; ctx.lineJoin = "round";
  ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
}
pad.addEventListener("pointerdown", event => {
  if (event.button !== undefined && event.button > 0) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  snapshot();
  raw = null; ink = true; drawing = true;
  last = point(event);
  segment(last, last);
});
pad.addEventListener("pointermove", event => {
  if (!drawing) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of (events.length ? events : [event])) { const p = point(e); segment(last, p); last = p; }
});
function endStroke(event) {
  if (!drawing) return;
  drawing = false;
  if (captionEl.textContent && !captionEl.textContent.endsWith("(drawn over)")) captionEl.textContent += " (drawn over)";
  predict();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

// Area averaging: each of the 28×28 values is the mean of a 10×10 block of the canvas.
function downsample() {
  const data = ctx.getImageData(0, 0, pad.width, pad.height).data;
  const out = new Array(SIDE * SIDE).fill(0);
  const block = pad.width / SIDE;
  for (let y = 0; y < pad.height; y++) {
    const row = Math.floor(y / block) * SIDE;
    for (let x = 0; x < pad.width; x++) out[row + Math.floor(x / block)] += data[(y * pad.width + x) * 4];
  }
  const scale = 255 * block * block;
  return out.map(v => Math.round(v / scale * 1000) / 1000);
}

function requestedSamples() {
  const n = Math.round(Number(samplesEl.value));
  return Number.isFinite(n) ? Math.min(1000, Math.max(1, n)) : 100;
}

async function predict() {
  if (!ink) { showIdle(); return; }
  if (inFlight) { again = true; return; }
  inFlight = true;
  const body = raw ? { pixels: raw, samples: requestedSamples(), normalize: false }
                   : { pixels: downsample(), samples: requestedSamples() };
  try {
    await ask("/api/predict", "application/json", JSON.stringify(body));
  } finally {
    inFlight = false;
    if (again) { again = false; predict(); }
  }
}

// Posts a body to the API and shows the answer, or the error.
async function ask(url, type, body) {
  try {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": type }, body: body });
    const result = await response.json();
    if (!response.ok) throw new Error(result.error || ("HTTP " + response.status));
    errorEl.textContent = "";
    show(result);
  } catch (error) {
    errorEl.textContent = "Could not get an answer: " + error.message;
  }
}

function showIdle() {
  answerEl.textContent = idleText; answerEl.className = "idle";
  detailEl.textContent = ""; whyEl.textContent = ""; setGauge(null);
  updateStrips(null);
}

function fmt(v) { return Math.abs(v) >= 1e-3 ? v.toPrecision(3) : v.toExponential(1); }
function pct(p) { return (100 * p).toFixed(p < 0.1 ? 1 : 0) + "%"; }

// Rules on probabilities (median, percentile, mean) refuse when their score 1 − p exceeds 1 − τ;
// score rules (calibrated, entropy, mutual information) refuse when the score exceeds τ.
function scoreLimit(result) {
  return ["median", "percentile", "mean"].includes(result.rule) ? 1 - result.threshold : result.threshold;
}

function show(result) {
  answerEl.textContent = result.answer;
  answerEl.className = result.refused ? "refused" : "accepted";
  const scoreName = result.score.replace(/_/g, " ");
  const limit = scoreLimit(result);
  detailEl.textContent = (result.refused ? "Refused" : "Accepted") + " by the " + result.rule + " rule: " + scoreName + " " +
    fmt(result.score_value) + (result.score_value > limit ? " > " : " ≤ ") + fmt(limit) +
    " · best guess " + classNames[result.prediction] + " · " + result.samples + " samples";
  explain(result);
  setGauge(result);
  updateStrips(result);
  shown += 1;
  document.body.dataset.predictions = String(shown);
}

// What the answer rests on. A refused input's medians are often all near 0 (the sampled networks
// disagree), so the mean probability and the spread of the best guess say what the median cannot.
function explain(result) {
  const best = result.prediction, limit = scoreLimit(result);
  whyEl.textContent = "";
  if (result.refused) {
    const reason = document.createElement("span");
    reason.className = "reason";
    reason.textContent = "Refused: " + result.score.replace(/_/g, " ") + " " + fmt(result.score_value) + " is above the threshold " + fmt(limit) + ". ";
    whyEl.appendChild(reason);
  }
  whyEl.appendChild(document.createTextNode(
    "Best guess " + classNames[best] + ": mean probability " + pct(result.mean[best]) + ", between " + pct(result.p05[best]) +
    " and " + pct(result.p95[best]) + " for 90% of the sampled networks (median " + pct(result.median[best]) + "). " +
    "Entropy " + fmt(result.entropy) + ", mutual information " + fmt(result.mutual_information) + " (how much the networks disagree)."));
}

function setGauge(result) {
  const fill = document.getElementById("gauge-fill"), mark = document.getElementById("gauge-limit");
  const text = document.getElementById("gauge-text");
  if (!result) { fill.style.width = "0"; text.textContent = ""; return; }
  const limit = scoreLimit(result);
  const top = Math.max(2 * limit, 1.15 * result.score_value, 1e-6);
  fill.style.width = (100 * Math.min(1, result.score_value / top)) + "%";
  fill.classList.toggle("over", result.score_value > limit);
  mark.style.left = (100 * limit / top) + "%";
  text.textContent = "threshold " + fmt(limit);
}

function buildStrips() {
  const holder = document.getElementById("strips");
  holder.innerHTML = "";
  classNames.forEach((name, c) => {
    const row = document.createElement("div");
    row.className = "strip"; row.id = "strip-" + c;
    row.innerHTML = '<span class="name"></span><div class="track"><div class="band"></div><div class="median"></div></div><span class="value"></span>';
    row.querySelector(".name").textContent = name;
    holder.appendChild(row);
  });
  updateStrips(null);
}

function updateStrips(result) {
  classNames.forEach((_, c) => {
    const row = document.getElementById("strip-" + c);
    const band = row.querySelector(".band"), median = row.querySelector(".median"), value = row.querySelector(".value");
    if (!result) { band.style.left = "0"; band.style.width = "0"; median.style.display = "none"; value.textContent = ""; row.classList.remove("selected", "guess"); return; }
    const lo = result.p05[c], hi = result.p95[c], mid = result.median[c];
    band.style.left = (100 * lo) + "%"; band.style.width = (100 * Math.max(0, hi - lo)) + "%";
    median.style.display = "block"; median.style.left = (100 * mid) + "%";
    value.textContent = pct(result.mean[c]);
    row.title = classNames[c] + ": mean " + fmt(result.mean[c]) + ", median " + fmt(mid) + ", 5–95% " + fmt(lo) + "–" + fmt(hi);
    row.classList.toggle("selected", result.classes.includes(c));
    row.classList.toggle("guess", result.refused && c === result.prediction);
  });
}

async function loadSample(kind) {
  try {
    const response = await fetch("/api/sample?kind=" + encodeURIComponent(kind));
    const sample = await response.json();
    if (!response.ok) throw new Error(sample.error || ("HTTP " + response.status));
    snapshot();
    const small = document.createElement("canvas");
    small.width = SIDE; small.height = SIDE;
    const smallCtx = small.getContext("2d");
    const image = smallCtx.createImageData(SIDE, SIDE);
    sample.pixels.forEach((v, i) => { const g = Math.round(255 * v); image.data.set([g, g, g, 255], i * 4); });
    smallCtx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, pad.width, pad.height);
    raw = sample.pixels; ink = true;
    const names = { mnist: "MNIST test digit", notmnist: "notMNIST letter", noise: "White noise" };
    captionEl.textContent = names[sample.kind] + " #" + sample.index + (sample.label ? " (label " + sample.label + ")" : "");
    errorEl.textContent = "";
    predict();
  } catch (error) {
    errorEl.textContent = "Could not load a sample: " + error.message;
  }
}

function undo() {
  const previous = history.pop();
  if (!previous) return;
  ctx.putImageData(previous.image, 0, 0);
  raw = previous.raw; ink = previous.ink; captionEl.textContent = previous.caption;
  predict();
}
function clearAll() {
  if (ink) snapshot();
  clearPad(); raw = null; ink = false; captionEl.textContent = ""; errorEl.textContent = "";
  showIdle();
}

// An uploaded PNG goes to the API as it is (the server prepares it as `bnn predict` does); the pad shows it.
const uploadEl = document.getElementById("upload");
uploadEl.addEventListener("change", async () => {
  const file = uploadEl.files[0];
  if (!file) return;
  const url = URL.createObjectURL(file), img = new Image();
  img.onload = () => {
    clearPad();
    const scale = Math.min(pad.width / img.width, pad.height / img.height);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(img, (pad.width - img.width * scale) / 2, (pad.height - img.height * scale) / 2, img.width * scale, img.height * scale);
    URL.revokeObjectURL(url);
  };
  img.src = url;
  raw = null; ink = false; captionEl.textContent = file.name;
  await ask("/api/predict?samples=" + requestedSamples(), "image/png", await file.arrayBuffer());
  uploadEl.value = "";
});

document.getElementById("undo").addEventListener("click", undo);
document.getElementById("clear").addEventListener("click", clearAll);
document.querySelectorAll("button[data-kind]").forEach(b => b.addEventListener("click", () => loadSample(b.dataset.kind)));
samplesEl.addEventListener("change", () => predict());
document.addEventListener("keydown", event => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z") { event.preventDefault(); undo(); }
  else if (event.key === "Escape") clearAll();
});

fetch("/api/health").then(r => r.json()).then(health => {
  if (Array.isArray(health.classes) && health.classes.length > 0) { classNames = health.classes; buildStrips(); }
  samplesEl.value = health.samples;
  // A model that does not read digits gets the upload only: drawing a digit means nothing to it.
  if (health.input && !health.input.digit_normalization) {
    document.body.classList.add("upload-only");
    idleText = "Upload an image";
    document.querySelector("header h1").textContent = "Upload an image";
    document.querySelector("header p").textContent = "A Bayesian network answers with a class, with two candidates, or with \"I don't know\".";
    document.title = "Upload an image · swift-bnn";
    if (!ink) showIdle();
  }
  document.querySelectorAll("button[data-kind]").forEach(b => {
    if (!health.sample_kinds.includes(b.dataset.kind)) { b.disabled = true; b.title = "This server has no " + b.dataset.kind + " data (--data-dir)"; }
  });
  document.getElementById("footer").textContent = "Model " + health.model + " · rule " + health.rule +
    " (" + health.score.replace(/_/g, " ") + ", threshold " + fmt(health.threshold) + ") · swift-bnn";
}).catch(() => {});
</script>
</body>
</html>
"""#
}
