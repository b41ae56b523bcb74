//! The self-contained HTML report of a trace or a whole scenario run (`--html FILE`).
//!
//! One file, no network access needed to view it: the styles and the small script are inline,
//! the topology is inline SVG. Each traced connection gets a section with its summary (the same
//! fields as the text summary), the cluster's topology at the time of the trace — the node
//! network, every node with its CNI bridge and pods, the external hosts — with the packet's path
//! drawn as numbered arrows from host to host, the packets of the connection (a button each:
//! the path drawn is the selected packet's), each hop a `<details>` element whose body is that
//! hop's steps at `rules` detail (the text `--detail rules` prints), and the transcript beside
//! it. Clicking a host in the drawing opens its hop; opening a hop marks its host. A scenario
//! report ends with the scenario's whole transcript.
//!
//! The page is rendered from the same [`TraceReport`] the text and JSON are rendered from; the
//! script only shows and hides what the HTML already holds, so the report reads without it.
//! `#hop=T.P.H` in the address opens hop H of packet P of trace T when the page loads (how a
//! link points at a hop, and how the headless-Chromium test checks the click handling).
//! Left out: the routes and netfilter tables of hosts the packet did not cross.

use std::fmt::Write as _;

use sim_k8s::cluster::Cluster;
use sim_k8s::cluster::trace_report::{TraceReport, TraceStep, render_hop_rules};

/// What the drawing shows: the cluster's hosts as the trace's hop names refer to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// The L2 segment the nodes and external hosts share.
    pub segment: String,
    /// Nodes, in configuration order.
    pub nodes: Vec<TopoNode>,
    /// External hosts, in configuration order.
    pub externals: Vec<TopoHost>,
}

/// A node, its bridge and its pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopoNode {
    /// The host (the node's name).
    pub host: TopoHost,
    /// The CNI bridge and its address with the pod CIDR's prefix (`cni0 10.244.1.1/24`).
    pub bridge: String,
    /// False while the node is stopped.
    pub up: bool,
    /// Its pods with their own network namespace, sorted by namespace and name.
    pub pods: Vec<TopoHost>,
    /// Its hostNetwork pods (they share the node's namespace), sorted likewise.
    pub host_network_pods: Vec<String>,
}

/// One network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopoHost {
    /// The name shown (`my-nginx-…` for a pod of the default namespace, `ns/name` otherwise).
    pub label: String,
    /// The namespace's name as traces name hops.
    pub host: String,
    /// Its address.
    pub ip: String,
}

impl Topology {
    /// The cluster as it is now.
    pub fn of(cluster: &Cluster) -> Topology {
        let w = cluster.world();
        let mut nodes: Vec<TopoNode> = w
            .nodes
            .iter()
            .map(|n| TopoNode {
                host: TopoHost {
                    label: n.name.clone(),
                    host: w.net.host_name(n.host).to_string(),
                    ip: n.ip.to_string(),
                },
                bridge: format!("{} {}/{}", w.config.bridge, n.bridge_ip, n.pod_cidr.prefix_len()),
                up: n.up,
                pods: Vec::new(),
                host_network_pods: Vec::new(),
            })
            .collect();
        let mut pods: Vec<(&String, &sim_k8s::cluster::world::PodRt)> = w.pods.iter().collect();
        pods.sort_by(|a, b| a.0.cmp(b.0));
        for (key, p) in pods {
            let Some(node) = nodes.get_mut(p.node) else { continue };
            let label = key.strip_prefix("default/").unwrap_or(key).to_string();
            if p.veth.is_none() {
                node.host_network_pods.push(label);
            } else {
                node.pods.push(TopoHost {
                    label,
                    host: w.net.host_name(p.host).to_string(),
                    ip: p.ip.to_string(),
                });
            }
        }
        let externals = w
            .config
            .external_hosts
            .iter()
            .filter_map(|e| {
                let id = w.externals.get(&e.name)?;
                Some(TopoHost {
                    label: e.name.clone(),
                    host: w.net.host_name(*id).to_string(),
                    ip: e.ip.to_string(),
                })
            })
            .collect();
        Topology { segment: "node-net".to_string(), nodes, externals }
    }
}

/// One traced connection in the report.
#[derive(Clone, Debug)]
pub struct TracedConnection {
    /// What was typed (`netsim trace --from client --to 10.32.1.149:30380`).
    pub command: String,
    /// The cluster when it was traced.
    pub topology: Topology,
    /// The connection.
    pub report: TraceReport,
    /// Its text rendering, as printed.
    pub text: String,
}

/// A whole report: traces, and for a scenario its transcript.
#[derive(Clone, Debug)]
pub struct HtmlReport {
    /// The page title.
    pub title: String,
    /// The seed.
    pub seed: u64,
    /// The traced connections, in order.
    pub traces: Vec<TracedConnection>,
    /// The cluster at the end (drawn when no connection was traced).
    pub topology: Topology,
    /// A scenario's whole transcript.
    pub transcript: Option<String>,
}

/// Escapes text for an HTML element or a quoted attribute value (the five characters HTML
/// gives meaning to; SVG text is XML and needs the same).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #1b1f24; background: #fff; }
h1 { font-size: 1.4em; margin: .8em 0 .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
h3 { font-size: 1em; margin: .6em 0 .3em; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.seed { color: #57606a; margin: 0; }
section.trace { border-top: 1px solid #d0d7de; margin-top: 1em; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; margin: .4em 0 .8em; }
dl.summary dt { font-weight: 600; } dl.summary dd { margin: 0; }
.cols { display: grid; grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr); gap: 1.2em; align-items: start; }
.topology svg { width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; }
svg text { font: 11px ui-monospace, Menlo, monospace; fill: #1b1f24; }
svg .title { font-weight: 700; font-size: 12px; } svg text.ip { text-anchor: end; fill: #57606a; }
svg .box { fill: #fff; stroke: #8c959f; }
svg .node > rect.box { fill: #eef2f6; }
svg .down > rect.box { stroke-dasharray: 4 3; fill: #f3f3f3; }
svg .bridge { fill: #ddf4ff; stroke: #54aeff; }
svg .segment { stroke: #6e7781; stroke-width: 4; } svg .link { stroke: #6e7781; stroke-width: 2; }
svg .veth { stroke: #54aeff; stroke-width: 1.5; }
svg [data-host] { cursor: pointer; }
svg .on-path > rect.box { stroke: #0969da; stroke-width: 2; }
svg .selected > rect.box { fill: #fff8c5; stroke: #bf8700; stroke-width: 3; }
svg .path line { stroke: #cf222e; stroke-width: 2.5; }
svg .path circle { fill: #cf222e; } svg .path text.n { fill: #fff; font-weight: 700; text-anchor: middle; }
svg .path g.step { cursor: pointer; }
.packets button { font: inherit; margin: 0 .3em .3em 0; padding: .15em .6em; border: 1px solid #d0d7de;
  border-radius: 4px; background: #f6f8fa; cursor: pointer; }
.packets button[aria-pressed="true"] { background: #0969da; color: #fff; border-color: #0969da; }
details.hop { border: 1px solid #d0d7de; border-radius: 4px; margin: .25em 0; background: #fff; }
details.hop > summary { padding: .25em .5em; cursor: pointer; }
details.hop[open] { border-color: #bf8700; } details.hop[open] > summary { background: #fff8c5; }
details.hop pre { margin: 0; padding: .4em .6em; overflow-x: auto; border-top: 1px solid #d0d7de; }
.nat { color: #8250df; font-weight: 600; } .disp { color: #57606a; }
pre.transcript { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .6em;
  overflow: auto; max-height: 48em; margin: 0; }
"#;

const SCRIPT: &str = r#"
(function () {
  function section(el) { return el.closest('section.trace'); }
  function markHost(sec, host) {
    sec.querySelectorAll('svg [data-host]').forEach(function (g) {
      g.classList.toggle('selected', host !== null && g.getAttribute('data-host') === host);
    });
  }
  function showPacket(sec, n) {
    sec.querySelectorAll('.packet').forEach(function (p) { p.hidden = p.getAttribute('data-packet') !== n; });
    sec.querySelectorAll('svg g.path').forEach(function (g) {
      g.style.display = g.getAttribute('data-packet') === n ? '' : 'none';
    });
    sec.querySelectorAll('.packets button').forEach(function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-packet') === n ? 'true' : 'false');
    });
    sec.setAttribute('data-shown-packet', n);
    markHost(sec, null);
  }
  function openHop(d) {
    var sec = section(d);
    sec.querySelectorAll('details.hop[open]').forEach(function (o) { if (o !== d) { o.open = false; } });
    d.open = true;
    markHost(sec, d.getAttribute('data-host'));
    sec.setAttribute('data-selected-hop', d.id);
  }
  document.querySelectorAll('section.trace').forEach(function (sec) {
    sec.querySelectorAll('.packets button').forEach(function (b) {
      b.addEventListener('click', function () { showPacket(sec, b.getAttribute('data-packet')); });
    });
    sec.querySelectorAll('details.hop').forEach(function (d) {
      d.querySelector('summary').addEventListener('click', function (e) {
        e.preventDefault();
        if (d.open) { d.open = false; markHost(sec, null); } else { openHop(d); }
      });
    });
    sec.querySelectorAll('svg [data-host]').forEach(function (g) {
      g.addEventListener('click', function () {
        var n = sec.getAttribute('data-shown-packet');
        var hop = sec.querySelector('.packet[data-packet="' + n + '"] details.hop[data-host="' +
          g.getAttribute('data-host') + '"]');
        if (hop) { openHop(hop); hop.scrollIntoView({ block: 'nearest' }); } else { markHost(sec, g.getAttribute('data-host')); }
      });
    });
    sec.querySelectorAll('svg g.step').forEach(function (s) {
      s.addEventListener('click', function () {
        var hop = document.getElementById(s.getAttribute('data-hop'));
        if (hop) { openHop(hop); }
      });
    });
    showPacket(sec, '1');
  });
  var m = /^#hop=(\d+)\.(\d+)\.(\d+)$/.exec(location.hash);
  if (m) {
    var sec = document.getElementById('trace-' + m[1]);
    var hop = document.getElementById('t' + m[1] + '-p' + m[2] + '-h' + m[3]);
    if (sec && hop) { showPacket(sec, m[2]); openHop(hop); }
  }
  document.body.setAttribute('data-ready', 'true');
})();
"#;

/// The page.
pub fn render(r: &HtmlReport) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"generator\" content=\"netsim\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&r.title)
    );
    let _ = writeln!(out, "<header><h1>{}</h1><p class=\"seed\">seed {}</p></header>", esc(&r.title), r.seed);
    if r.traces.is_empty() {
        out.push_str("<section class=\"topology-only\">\n<h2>Topology</h2>\n<div class=\"topology\">\n");
        out.push_str(&svg(&r.topology, 0, &[]));
        out.push_str("</div>\n</section>\n");
    }
    for (i, t) in r.traces.iter().enumerate() {
        trace_section(&mut out, i + 1, t);
    }
    if let Some(text) = &r.transcript {
        let _ = writeln!(
            out,
            "<section class=\"run\" id=\"transcript\">\n<h2>Transcript</h2>\n<pre class=\"transcript\">{}</pre>\n</section>",
            esc(text)
        );
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn trace_section(out: &mut String, t: usize, c: &TracedConnection) {
    let r = &c.report;
    let s = &r.summary;
    let _ = writeln!(out, "<section class=\"trace\" id=\"trace-{t}\">");
    let _ = writeln!(out, "<h2 class=\"mono\">$ {}</h2>", esc(&c.command));
    out.push_str("<dl class=\"summary\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "<dt>{k}</dt><dd data-field=\"{k}\">{v}</dd>");
    };
    row("outcome", esc(&s.outcome));
    row("path", esc(&s.path.join(" → ")));
    for n in &s.nat {
        row(
            "NAT",
            format!(
                "<span class=\"nat\">{}</span> on {} {}: <code>{}</code> → <code>{}</code>",
                esc(n.kind.label()),
                esc(&n.host),
                esc(n.hook.as_deref().unwrap_or("")),
                esc(&n.before),
                esc(&n.after)
            ),
        );
    }
    if let Some(sb) = &s.served_by {
        row("served by", format!("{} on <code>{}</code>", esc(&sb.name), esc(&sb.address)));
    }
    if let Some(seen) = &s.client_seen {
        row("server saw", format!("<code>{}</code>", esc(seen)));
    }
    if let Some(d) = &s.disposition {
        row("disposition", format!("{} on {}: {}", esc(d.kind), esc(&d.host), esc(&d.text)));
    }
    row("packets", s.packet_count.to_string());
    out.push_str("</dl>\n<div class=\"cols\">\n<div class=\"left\">\n<div class=\"topology\">\n");
    let paths: Vec<(usize, Vec<(String, String)>)> = r
        .packets
        .iter()
        .map(|p| {
            let hops = p
                .hops
                .iter()
                .enumerate()
                .map(|(h, hop)| (hop.host.clone(), format!("t{t}-p{}-h{}", p.index, h + 1)));
            (p.index, hops.collect())
        })
        .collect();
    out.push_str(&svg(&c.topology, t, &paths));
    out.push_str("</div>\n<div class=\"packets\">");
    for p in &r.packets {
        let _ = write!(
            out,
            "<button type=\"button\" data-packet=\"{0}\" title=\"{1}\">{0} {2}</button>",
            p.index,
            esc(&p.header),
            p.direction
        );
    }
    out.push_str("</div>\n");
    for p in &r.packets {
        let _ = writeln!(
            out,
            "<div class=\"packet\" data-packet=\"{}\">\n<h3>packet {} ({}): <code>{}</code></h3>",
            p.index,
            p.index,
            p.direction,
            esc(&p.header)
        );
        for (h, hop) in p.hops.iter().enumerate() {
            let ifaces = match (&hop.in_iface, &hop.out_iface) {
                (Some(i), Some(o)) => format!("{i} → {o}"),
                (None, Some(o)) => format!("out {o}"),
                (Some(i), None) => format!("in {i}"),
                (None, None) => String::new(),
            };
            let mut nat = String::new();
            let mut disp = String::new();
            for step in &hop.steps {
                match step {
                    TraceStep::Nat { nat: n, .. } => {
                        let _ = write!(
                            nat,
                            " <span class=\"nat\">{} {} → {}</span>",
                            esc(n.kind.label()),
                            esc(&n.before),
                            esc(&n.after)
                        );
                    }
                    TraceStep::Disposition { disposition, .. } => {
                        disp = format!(" <span class=\"disp\">⇒ {}</span>", esc(&disposition.text));
                    }
                    _ => {}
                }
            }
            let mut rules = String::new();
            render_hop_rules(&mut rules, hop);
            let _ = writeln!(
                out,
                "<details class=\"hop\" id=\"t{t}-p{}-h{}\" data-host=\"{}\"><summary>{}. <b>{}</b> {}{nat}{disp}</summary><pre>{}</pre></details>",
                p.index,
                h + 1,
                esc(&hop.host),
                h + 1,
                esc(&hop.host),
                esc(&ifaces),
                esc(&rules)
            );
        }
        out.push_str("</div>\n");
    }
    let _ = writeln!(
        out,
        "</div>\n<div class=\"right\">\n<pre class=\"transcript\">{}</pre>\n</div>\n</div>\n</section>",
        esc(&c.text)
    );
}

/// Drawing sizes (SVG user units).
const BOX_W: i32 = 250;
const GAP: i32 = 24;
const EXT_Y: i32 = 16;
const EXT_H: i32 = 40;
const SEG_Y: i32 = 88;
const NODE_Y: i32 = 116;
const POD_H: i32 = 30;

/// The topology as SVG, with each packet's hops (`(host, hop element id)`) drawn as a path
/// group (`data-packet`). `t` numbers the section, for unique ids.
fn svg(topo: &Topology, t: usize, paths: &[(usize, Vec<(String, String)>)]) -> String {
    // Each host's centre, for the path; every host drawn has one.
    let mut centres: Vec<(&str, (i32, i32))> = Vec::new();
    let on_path = |host: &str| paths.iter().any(|(_, hops)| hops.iter().any(|(h, _)| h == host));
    let cls = |host: &str| if on_path(host) { " on-path" } else { "" };
    let mut body = String::new();
    let node_h = |n: &TopoNode| {
        let extra =
            if n.host_network_pods.is_empty() { 0 } else { 16 * n.host_network_pods.len() as i32 + 4 };
        84 + POD_H * n.pods.len() as i32 + extra
    };
    let cols = topo.nodes.len().max(topo.externals.len()).max(1) as i32;
    let width = GAP + cols * (BOX_W + GAP);
    let height = NODE_Y + topo.nodes.iter().map(node_h).max().unwrap_or(0) + GAP;
    for (i, e) in topo.externals.iter().enumerate() {
        let x = GAP + i as i32 * (BOX_W + GAP);
        let _ = writeln!(
            body,
            "<g class=\"host external{}\" data-host=\"{}\"><rect class=\"box\" x=\"{x}\" y=\"{EXT_Y}\" width=\"{BOX_W}\" height=\"{EXT_H}\" rx=\"6\"/>\
             <text class=\"title\" x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\">{} (external)</text></g>",
            cls(&e.host),
            esc(&e.host),
            x + 10,
            EXT_Y + 17,
            esc(&e.label),
            x + 10,
            EXT_Y + 32,
            esc(&e.ip)
        );
        let _ = writeln!(
            body,
            "<line class=\"link\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{SEG_Y}\"/>",
            x + BOX_W / 2,
            EXT_Y + EXT_H
        );
        centres.push((&e.host, (x + BOX_W / 2, EXT_Y + EXT_H / 2)));
    }
    let _ = writeln!(
        body,
        "<line class=\"segment\" x1=\"{GAP}\" y1=\"{SEG_Y}\" x2=\"{}\" y2=\"{SEG_Y}\"/><text x=\"{}\" y=\"{}\">{} (L2)</text>",
        width - GAP,
        width - GAP - 110,
        SEG_Y - 6,
        esc(&topo.segment)
    );
    for (i, n) in topo.nodes.iter().enumerate() {
        let x = GAP + i as i32 * (BOX_W + GAP);
        let h = node_h(n);
        let down = if n.up { "" } else { " down" };
        let _ = writeln!(
            body,
            "<line class=\"link\" x1=\"{0}\" y1=\"{SEG_Y}\" x2=\"{0}\" y2=\"{NODE_Y}\"/>",
            x + BOX_W / 2
        );
        let _ = writeln!(
            body,
            "<g class=\"host node{}{down}\" data-host=\"{}\"><rect class=\"box\" x=\"{x}\" y=\"{NODE_Y}\" width=\"{BOX_W}\" height=\"{h}\" rx=\"6\"/>\
             <text class=\"title\" x=\"{}\" y=\"{}\">{}{}</text><text x=\"{}\" y=\"{}\">eth0 {}</text></g>",
            cls(&n.host.host),
            esc(&n.host.host),
            x + 10,
            NODE_Y + 17,
            esc(&n.host.label),
            if n.up { "" } else { " (stopped)" },
            x + 10,
            NODE_Y + 32,
            esc(&n.host.ip)
        );
        centres.push((&n.host.host, (x + BOX_W / 2, NODE_Y + 24)));
        let by = NODE_Y + 44;
        let _ = writeln!(
            body,
            "<rect class=\"bridge\" x=\"{}\" y=\"{by}\" width=\"{}\" height=\"18\" rx=\"3\"/><text x=\"{}\" y=\"{}\">{}</text>",
            x + 8,
            BOX_W - 16,
            x + 14,
            by + 13,
            esc(&n.bridge)
        );
        for (k, p) in n.pods.iter().enumerate() {
            let py = by + 26 + k as i32 * POD_H;
            let (vx, vy, px, pw, ph, tx, ty) =
                (x + 18, by + 18, x + 24, BOX_W - 32, POD_H - 6, x + 30, py + 16);
            let ix = px + pw - 6;
            let _ = writeln!(
                body,
                "<line class=\"veth\" x1=\"{vx}\" y1=\"{vy}\" x2=\"{vx}\" y2=\"{py}\"/>\
                 <g class=\"host pod{}\" data-host=\"{}\"><rect class=\"box\" x=\"{px}\" y=\"{py}\" width=\"{pw}\" height=\"{ph}\" rx=\"4\"/>\
                 <text x=\"{tx}\" y=\"{ty}\">{}</text><text class=\"ip\" x=\"{ix}\" y=\"{ty}\">{}</text></g>",
                cls(&p.host),
                esc(&p.host),
                esc(&truncate(&p.label, 22)),
                esc(&p.ip)
            );
            centres.push((&p.host, (x + 24 + (BOX_W - 32) / 2, py + (POD_H - 6) / 2)));
        }
        for (k, p) in n.host_network_pods.iter().enumerate() {
            let _ = writeln!(
                body,
                "<text x=\"{}\" y=\"{}\">hostNetwork: {}</text>",
                x + 14,
                by + 38 + (n.pods.len() as i32) * POD_H + k as i32 * 16,
                esc(&truncate(p, 26))
            );
        }
    }
    // The paths: an arrow from each hop's host to the next, numbered at the arrow's start
    // with the hop it leaves (clicking the number opens that hop).
    let centre = |host: &str| centres.iter().find(|(h, _)| *h == host).map(|(_, c)| *c);
    for (index, hops) in paths {
        let _ = writeln!(body, "<g class=\"path\" data-packet=\"{index}\">");
        for (k, (host, id)) in hops.iter().enumerate() {
            let Some((x1, y1)) = centre(host) else { continue };
            if let Some((x2, y2)) = hops.get(k + 1).and_then(|(next, _)| centre(next)) {
                // Stop short of the next host's centre so the arrowhead shows; alternate a
                // small offset so a reply drawn over its request stays visible.
                let off = if k % 2 == 0 { 4 } else { -4 };
                let (dx, dy) = ((x2 - x1) as f64, (y2 - y1) as f64);
                let len = (dx * dx + dy * dy).sqrt().max(1.0);
                let (ex, ey) = (x2 as f64 - dx / len * 14.0, y2 as f64 - dy / len * 14.0);
                let _ = writeln!(
                    body,
                    "<line x1=\"{}\" y1=\"{}\" x2=\"{ex:.0}\" y2=\"{:.0}\" marker-end=\"url(#arrow-{t})\"/>",
                    x1 + off,
                    y1 + off,
                    ey + off as f64
                );
            }
            let _ = writeln!(
                body,
                "<g class=\"step\" data-hop=\"{id}\"><circle cx=\"{}\" cy=\"{}\" r=\"8\"/><text class=\"n\" x=\"{}\" y=\"{}\">{}</text></g>",
                x1 - 14 - 6 * (k as i32 % 3),
                y1,
                x1 - 14 - 6 * (k as i32 % 3),
                y1 + 4,
                k + 1
            );
        }
        body.push_str("</g>\n");
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"topology\" id=\"topology-{t}\">\n\
         <defs><marker id=\"arrow-{t}\" viewBox=\"0 0 10 10\" refX=\"8\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#cf222e\"/></marker></defs>\n{body}</svg>\n"
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn truncates_long_labels_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
