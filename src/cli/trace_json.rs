//! `netsim trace --from ... --format json`: a traced connection as JSON Lines, one event per
//! line, rendered from the same [`TraceReport`] the text is rendered from. The schema
//! (`netsim.trace/v1`) is documented in docs/trace-json.md; `tests/it/trace_json.rs` checks that
//! every documented field appears.

use serde_json::{Map, Value, json};
use sim_k8s::cluster::trace_report::{PacketSelection, TraceDetail, TraceReport};

/// The schema name and version written in the first event.
pub const SCHEMA: &str = "netsim.trace/v1";

/// The events of `report`, one JSON object per line: `trace`, `summary`, then for each
/// selected packet a `packet` event, its `hop`s and (at `rules` detail) every `step`, and last
/// `end`.
pub fn json_lines(
    report: &TraceReport,
    detail: TraceDetail,
    which: PacketSelection,
    exit_code: i32,
) -> String {
    let mut out = String::new();
    let mut push = |v: Value| {
        out.push_str(&v.to_string());
        out.push('\n');
    };
    push(json!({
        "event": "trace",
        "schema": SCHEMA,
        "seed": report.seed,
        "from": report.from,
        "fromAddress": report.from_address,
        "dest": report.dest,
        "destination": report.destination,
        "proto": report.proto,
    }));
    push(with_event("summary", serde_json::to_value(&report.summary).unwrap_or(Value::Null)));
    if detail != TraceDetail::Summary {
        for p in report.packets.iter().filter(|p| which.includes(p.index)) {
            push(json!({
                "event": "packet",
                "packet": p.index,
                "direction": p.direction,
                "header": p.header,
                "hops": p.hops.len(),
                "disposition": p.disposition,
            }));
            for (k, h) in p.hops.iter().enumerate() {
                push(json!({
                    "event": "hop",
                    "packet": p.index,
                    "hop": k + 1,
                    "host": h.host,
                    "inIface": h.in_iface,
                    "outIface": h.out_iface,
                    "nextHop": h.next_hop,
                    "header": h.header,
                }));
                if detail == TraceDetail::Rules {
                    for s in &h.steps {
                        let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
                        if let Value::Object(m) = &mut v {
                            m.insert("packet".into(), json!(p.index));
                            m.insert("hop".into(), json!(k + 1));
                            m.insert("host".into(), json!(h.host));
                        }
                        push(with_event("step", v));
                    }
                }
            }
        }
    }
    push(json!({ "event": "end", "packets": report.packets.len(), "exitCode": exit_code }));
    out
}

/// `{"event": NAME, ...fields of v}` (the event name first).
fn with_event(name: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert("event".into(), json!(name));
    if let Value::Object(fields) = v {
        m.extend(fields);
    }
    Value::Object(m)
}
