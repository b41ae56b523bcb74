//! The picture of a traffic step (`netsim run --plots DIR`): one stacked bar per time bucket —
//! requests served at the bottom, each failure outcome stacked above in its own colour — with
//! the steps that ran meanwhile as dashed vertical lines at their instants, labelled.
//!
//! Hand-written SVG: the chart is a few rectangles, lines and text elements, so a plotting
//! crate (and its font and image dependencies) would add more than it saves. Coordinates are
//! integers or fixed-precision decimals, so the file is byte-identical for the same run.

use std::fmt::Write as _;

use crate::html_report::esc as escape;
use crate::traffic::{FAILURES, Report, clock};

const WIDTH: u64 = 960;
const HEIGHT: u64 = 360;
const LEFT: u64 = 56;
const RIGHT: u64 = 180;
const TOP: u64 = 40;
const BOTTOM: u64 = 48;
const SERVED: &str = "#4c9f70";
/// One colour per entry of [`FAILURES`], then pending.
const FAILURE_COLOURS: [&str; 7] =
    ["#d1495b", "#edae49", "#8e44ad", "#e07a5f", "#222222", "#999999", "#cccccc"];

/// The SVG document for `r`, titled with the scenario's name.
pub fn svg(scenario: &str, r: &Report) -> String {
    let mut out = String::new();
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = r.servers.len();
    let max = r.buckets.iter().map(|b| b.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    let buckets = r.buckets.len().max(1) as u64;
    let bar_w = plot_w as f64 / buckets as f64;
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="20" font-size="14">{} — traffic {} to {} ({} requests, {} failed)</text>"#,
        escape(scenario),
        escape(&r.traffic.name),
        escape(&r.traffic.to),
        r.requests.len(),
        r.failed()
    );
    // Axes and the count scale.
    let base = TOP + plot_h;
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#333"/><line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#333"/>"##,
        LEFT + plot_w
    );
    for tick in [0, max / 2, max] {
        let y = base as f64 - tick as f64 * plot_h as f64 / max as f64;
        let _ = writeln!(out, r#"<text x="{}" y="{y:.1}" text-anchor="end">{tick}</text>"#, LEFT - 6);
    }
    let _ = writeln!(
        out,
        r#"<text x="12" y="{}" transform="rotate(-90 12 {})">requests</text>"#,
        TOP + 80,
        TOP + 80
    );
    // Bars: served, then each failure outcome, stacked.
    for (b, row) in r.buckets.iter().enumerate() {
        let x = LEFT as f64 + b as f64 * bar_w;
        let mut y = base as f64;
        let served: u64 = row[..n].iter().sum();
        let mut parts: Vec<(u64, &str)> = vec![(served, SERVED)];
        for (j, colour) in FAILURE_COLOURS.iter().enumerate() {
            if let Some(v) = row.get(n + j) {
                parts.push((*v, colour));
            }
        }
        for (v, colour) in parts {
            if v == 0 {
                continue;
            }
            let h = v as f64 * plot_h as f64 / max as f64;
            y -= h;
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{colour}"/>"#,
                (bar_w - 1.0).max(0.5)
            );
        }
    }
    // Time labels: the first bucket, the middle and the end.
    let width_ns = r.traffic.bucket.as_nanos().max(1);
    for b in [0, buckets / 2, buckets] {
        let x = LEFT as f64 + b as f64 * bar_w;
        let at = r.started + sim_core::SimDuration::from_nanos(width_ns * b);
        let _ =
            writeln!(out, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#, base + 16, clock(at));
    }
    // Events.
    let span = (width_ns * buckets) as f64;
    for (k, m) in r.marks.iter().enumerate() {
        let off = m.at.saturating_since(r.started).as_nanos() as f64;
        let x = LEFT as f64 + off / span * plot_w as f64;
        let label: String = m.label.chars().take(48).collect();
        let ly = TOP + 12 + (k as u64 % 4) * 12;
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{base}" stroke="#1f4e79" stroke-dasharray="4 3"/><text x="{:.1}" y="{ly}" fill="#1f4e79">{}</text>"##,
            x + 3.0,
            escape(&label)
        );
    }
    // Legend.
    let lx = LEFT + plot_w + 16;
    let mut ly = TOP;
    let mut legend: Vec<(&str, &str)> = vec![("served", SERVED)];
    for (j, (name, _)) in FAILURES.iter().enumerate() {
        legend.push((name, FAILURE_COLOURS[j]));
    }
    for (name, colour) in legend {
        let _ = writeln!(
            out,
            r#"<rect x="{lx}" y="{ly}" width="10" height="10" fill="{colour}"/><text x="{}" y="{}">{name}</text>"#,
            lx + 14,
            ly + 9
        );
        ly += 16;
    }
    let _ = writeln!(out, "</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Traffic;
    use crate::traffic::Mark;
    use sim_core::{SimDuration, SimTime};
    use sim_k8s::cluster::traffic::{Request, RequestOutcome};

    #[test]
    fn bars_stack_outcomes_and_marks_are_escaped() {
        let t = Traffic {
            name: "t1".into(),
            from: "pod/client".into(),
            to: "web:80".into(),
            proto: sim_net::network::ConvProto::Tcp,
            count: 2,
            per: SimDuration::from_secs(1),
            duration: SimDuration::from_secs(2),
            src_port: None,
            timeout: SimDuration::from_secs(1),
            bucket: SimDuration::from_secs(1),
            connection: Default::default(),
            query: None,
        };
        let at = |ms| SimTime::ZERO + SimDuration::from_millis(ms);
        let requests = vec![
            Request { at: at(0), outcome: RequestOutcome::Served("pod/web-a".into()), syn_retransmits: 0 },
            Request { at: at(500), outcome: RequestOutcome::Served("pod/web-b".into()), syn_retransmits: 0 },
            Request { at: at(1000), outcome: RequestOutcome::Served("pod/web-a".into()), syn_retransmits: 0 },
            Request { at: at(1500), outcome: RequestOutcome::Refused, syn_retransmits: 0 },
        ];
        let marks = vec![Mark { at: at(1200), label: "kubectl delete pod <x>".into() }];
        let r = Report::new(&t, SimTime::ZERO, requests, marks);
        let s = svg("lab", &r);
        // Bucket 0: one served bar (2); bucket 1: served (1) and refused (1) stacked; plus
        // each colour's legend swatch.
        assert_eq!(s.matches(&format!(r#"fill="{SERVED}"/>"#)).count(), 3);
        assert_eq!(s.matches(r##"fill="#d1495b"/>"##).count(), 2);
        assert!(s.contains("kubectl delete pod &lt;x&gt;"));
        assert_eq!(s, svg("lab", &r), "same report, same bytes");
    }
}
