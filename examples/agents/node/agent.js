#!/usr/bin/env node
// An evalkit example agent in Node.js: a small but genuine incident investigator.
//
// It speaks the JSON-lines protocol of docs/agent-protocol.md on stdin/stdout (logs go to stderr):
// reads the alert from `start`, walks the dependency graph below the alerting component best-first
// (the most anomalous trail first, within the call budget), queries a few metrics per component, scores
// each series' shift against its own pre-incident part (median / MAD), and names the deepest clearly
// anomalous component (or the external provider its error logs name), with a fault type guessed from
// the anomalous metric names, recent change events and error logs. The seed only breaks ties in the
// exploration order, so a given seed always gives the same answer.
//
// Run by evalkit:   evalkit run --suite smoke --agent 'cmd:node examples/agents/node/agent.js'
'use strict';

const readline = require('readline');

// ---- protocol plumbing -------------------------------------------------------------------------
const inbox = [];
const waiters = [];
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  if (waiters.length) waiters.shift().resolve(msg);
  else inbox.push(msg);
});
rl.on('close', () => {
  while (waiters.length) waiters.shift().reject(new Error('evalkit closed stdin'));
});

function next() {
  if (inbox.length) return Promise.resolve(inbox.shift());
  return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
}

function send(msg) {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

function log(...parts) {
  process.stderr.write(parts.join(' ') + '\n');
}

let callsLeft = 0;
let nextId = 0;
const refsSeen = new Map(); // component -> Set(refs)

async function call(tool, args = {}) {
  const id = ++nextId;
  callsLeft -= 1;
  send({ type: 'tool_call', id, tool, args });
  const msg = await next();
  if (msg.type !== 'tool_result' || msg.id !== id) {
    throw new Error(`expected tool_result ${id}, got ${JSON.stringify(msg).slice(0, 200)}`);
  }
  if (!msg.ok) {
    log(`tool ${tool} failed: ${msg.error}`);
    return null;
  }
  for (const ref of msg.refs || []) {
    const comp = ref.split(':')[1];
    if (!refsSeen.has(comp)) refsSeen.set(comp, new Set());
    refsSeen.get(comp).add(ref);
  }
  return msg.result;
}

// ---- small numeric helpers ---------------------------------------------------------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// How far the series moved after the incident started, in robust standard deviations of its calm part.
function shiftScore(series, firedAt) {
  const pts = [];
  series.timestamps.forEach((t, i) => {
    const v = series.values[i];
    if (v !== null && Number.isFinite(v)) pts.push([t, v]);
  });
  if (pts.length < 8) return { z: 0, up: true };
  const t0 = pts[0][0];
  const tEnd = pts[pts.length - 1][0];
  const fire = Number.isFinite(firedAt) ? firedAt : t0 + (tEnd - t0) * 0.7;
  // calm part: well before the alert; incident part: shortly before the alert until the end.
  const lead = Math.max((fire - t0) * 0.35, 1);
  let calm = pts.filter(([t]) => t < fire - lead).map(([, v]) => v);
  let hot = pts.filter(([t]) => t >= fire - lead * 0.5).map(([, v]) => v);
  if (calm.length < 4 || hot.length < 2) {
    const cut = Math.floor(pts.length / 2);
    calm = pts.slice(0, cut).map(([, v]) => v);
    hot = pts.slice(cut).map(([, v]) => v);
  }
  const mCalm = median(calm);
  const mad = median(calm.map((v) => Math.abs(v - mCalm))) * 1.4826;
  const scale = Math.max(mad, Math.abs(mCalm) * 0.02, 1e-6);
  const mHot = median(hot);
  return { z: Math.min(Math.abs(mHot - mCalm) / scale, 1000), up: mHot >= mCalm };
}

// ---- what to look at and what it means -----------------------------------------------------------
const METRIC_PRIORITY = [
  'restart', 'oom', 'memory', 'throttl', 'query_time', 'pool', 'lag', 'rebalanc', 'retransmit', 'packet',
  'servfail', 'dns', 'disk', 'cert', 'tls', 'error', '5xx', 'latency', 'p99', 'timeout', 'request', 'cpu',
];

function metricRank(name) {
  const i = METRIC_PRIORITY.findIndex((w) => name.includes(w));
  return i < 0 ? METRIC_PRIORITY.length : i;
}

// The most telling metrics first, one per family (p50 and p99 of one latency say the same thing).
function pickMetrics(names, n) {
  const sorted = [...names].sort((a, b) => metricRank(a) - metricRank(b) ||
    Number(b.includes('p99')) - Number(a.includes('p99')) || (a < b ? -1 : 1));
  const chosen = [];
  const families = new Set();
  for (const name of sorted) {
    const family = metricRank(name);
    if (families.has(family) && family < METRIC_PRIORITY.length) continue;
    families.add(family);
    chosen.push(name);
    if (chosen.length >= n) break;
  }
  return chosen;
}

// keyword -> fault type, first match wins (metric names, then log lines, then change events)
const FAULT_WORDS = [
  [['oom', 'out of memory', 'restart', 'memory', 'crashloop'], 'oom_kill_loop'],
  [['throttl', 'cfs quota'], 'cpu_throttling'],
  [['query_time', 'slow query', 'lock wait', 'full scan'], 'slow_query'],
  [['pool', 'acquire connection', 'too many connections'], 'db_pool_exhaustion'],
  [['rebalanc', 'consumer_lag', 'lag'], 'kafka_rebalance_storm'],
  [['retransmit', 'packet', 'connection reset'], 'packet_loss'],
  [['servfail', 'nxdomain', 'dns', 'resolve'], 'dns_failure'],
  [['disk', 'no space', 'enospc'], 'disk_full'],
  [['certificate', 'cert', 'tls', 'x509', 'handshake'], 'cert_expiry'],
];

function faultFromWords(text) {
  for (const [words, fault] of FAULT_WORDS) {
    if (words.some((w) => text.includes(w))) return fault;
  }
  return null;
}

function faultType(comp, kind, anomalies, events, logText) {
  const metricText = anomalies.map((a) => a.metric).join(' ');
  const byMetric = faultFromWords(metricText);
  if (byMetric) return byMetric;
  const kinds = events.map((e) => `${e.kind} ${e.summary || ''}`.toLowerCase()).join(' ');
  if (kinds.includes('flag')) return 'bad_feature_flag';
  const byLogs = faultFromWords(logText);
  if (byLogs) return byLogs;
  if (kinds.includes('deploy')) return 'bad_deploy';
  if (kinds.includes('config') && (metricText.includes('latency') || logText.includes('timeout'))) {
    return 'timeout_chain';
  }
  if (kind === 'external') return metricText.includes('latency') ? 'third_party_timeout' : 'cert_expiry';
  const up = anomalies.find((a) => a.metric.includes('request'));
  if (up && up.up) return 'traffic_surge';
  if (metricText.includes('latency') || logText.includes('timeout')) return 'timeout_chain';
  return 'bad_deploy';
}

// Dependencies of a component: what it calls/consumes/runs on, and its own pods.
function downstream(edges) {
  const deps = new Map();
  const add = (a, b) => {
    if (!deps.has(a)) deps.set(a, new Set());
    deps.get(a).add(b);
  };
  for (const { source, target, relation } of edges) {
    if (relation === 'instance-of') add(target, source); // a service's pods are part of it
    else add(source, target); // calls, runs-on, consumes, produces, uses
  }
  return deps;
}

// ---- the investigation ---------------------------------------------------------------------------
async function investigate(start) {
  const alert = start.alert || {};
  const rng = mulberry32(start.seed || 0);
  callsLeft = start.max_calls || 60;
  const firedAt = Number(alert.fired_at);
  const origin = alert.component;
  log(`alert: ${alert.title || alert.monitor} on ${origin}`);

  const comps = (await call('list_components')) || [];
  const kindOf = new Map(comps.map((c) => [c.name, c.kind]));
  const topo = (await call('get_topology')) || { edges: [] };
  const deps = downstream(topo.edges);

  // best-first walk down the dependencies: follow the most anomalous trail first; the seed breaks ties
  const events = (await call('list_events')) || [];
  const reserve = 3; // keep calls for reading logs of the final suspects
  const depth = new Map([[origin, 0]]);
  const queue = kindOf.has(origin) ? [{ comp: origin, prio: Infinity, tie: 0 }] : [];
  const findings = new Map(); // component -> {z, anomalies}
  while (queue.length && callsLeft >= reserve + 2) {
    queue.sort((a, b) => b.prio - a.prio || a.tie - b.tie);
    const { comp } = queue.shift();
    const metrics = (await call('list_metrics', { component: comp })) || [];
    const chosen = pickMetrics(metrics.map((m) => m.metric), Math.min(3, callsLeft - reserve));
    const anomalies = [];
    for (const metric of chosen) {
      const series = await call('query_metric', { component: comp, metric });
      if (!series) continue;
      const { z, up } = shiftScore(series, firedAt);
      anomalies.push({ metric, z, up });
    }
    anomalies.sort((a, b) => b.z - a.z);
    const z = anomalies.length ? anomalies[0].z : 0;
    findings.set(comp, { z, anomalies: anomalies.filter((a) => a.z >= 3) });
    log(`  ${comp} (depth ${depth.get(comp)}): max shift ${z.toFixed(1)}`);
    for (const d of [...(deps.get(comp) || [])].sort()) {
      if (!depth.has(d)) {
        depth.set(d, depth.get(comp) + 1);
        queue.push({ comp: d, prio: Math.log1p(z), tie: rng() });
      }
    }
  }

  // the deepest clearly anomalous component is the likeliest cause; victims sit above it
  const ANOMALOUS = 5;
  const ranked = [...findings.entries()]
    .map(([comp, f]) => ({ comp, ...f, depth: depth.get(comp) || 0 }))
    .sort((a, b) => {
      const aa = a.z >= ANOMALOUS;
      const ba = b.z >= ANOMALOUS;
      if (aa !== ba) return aa ? -1 : 1;
      if (aa && a.depth !== b.depth) return b.depth - a.depth;
      return b.z - a.z;
    });
  if (!ranked.length && origin && kindOf.has(origin)) ranked.push({ comp: origin, z: 0, anomalies: [], depth: 0 });

  // an external provider has no metrics of its own: its callers' error logs name it
  if (ranked.length && callsLeft > 0) {
    const top = ranked[0];
    const externals = [...(deps.get(top.comp) || [])].filter((d) => kindOf.get(d) === 'external');
    if (externals.length) {
      const logs = await call('search_logs', { component: top.comp, level: 'ERROR', limit: 100 });
      const text = ((logs && logs.records) || []).map((x) => x.message).join(' ').toLowerCase();
      const blamed = externals.find((e) => text.includes(e.toLowerCase()));
      if (blamed) {
        log(`  ${top.comp}'s errors name the external ${blamed}`);
        ranked.unshift({ comp: blamed, z: top.z, anomalies: [], depth: top.depth + 1, logText: text });
      }
    }
  }

  const hypotheses = [];
  for (const r of ranked.slice(0, 3)) {
    const evs = events.filter((e) => e.component === r.comp);
    let logText = r.logText || '';
    if (!logText && hypotheses.length < 2 && callsLeft > 0) {
      const logs = await call('search_logs', { component: r.comp, level: 'ERROR', limit: 50 });
      logText = ((logs && logs.records) || []).map((x) => x.message).join(' ').toLowerCase();
    }
    const refs = [...(refsSeen.get(r.comp) || [])].filter((ref) => {
      if (!ref.startsWith('metric:')) return true;
      return r.anomalies.some((a) => ref.endsWith(`:${a.metric}`));
    });
    if (evs.length) refs.push(`events:${r.comp}`);
    hypotheses.push({
      component: r.comp,
      fault_type: faultType(r.comp, kindOf.get(r.comp), r.anomalies, evs, logText),
      confidence: 0,
      evidence: refs,
      z: r.z,
    });
  }
  const total = hypotheses.reduce((s, h) => s + Math.max(h.z, 0.1), 0);
  for (const h of hypotheses) {
    h.confidence = Math.round((Math.max(h.z, 0.1) / total) * 1000) / 1000;
    delete h.z;
  }
  const top = hypotheses[0];
  let summary = 'No component could be inspected.';
  if (top && top.component === origin) {
    summary = `${origin} itself shows the clearest shift after the alert (${top.fault_type}); nothing below it does.`;
  } else if (top) {
    summary = `${top.component} is the deepest component with a clear shift after the alert ` +
      `(${top.fault_type}); ${origin} alerted as a symptom of it.`;
  }
  return { hypotheses, summary };
}

async function main() {
  const start = await next();
  if (start.type !== 'start') throw new Error(`expected start, got ${start.type}`);
  const finding = await investigate(start);
  process.stdout.write(JSON.stringify({ type: 'final', finding }) + '\n', () => process.exit(0));
}

main().catch((err) => {
  log(err.stack || String(err));
  process.stdout.write(JSON.stringify({ type: 'error', message: String(err.message || err) }) + '\n', () =>
    process.exit(1));
});
