//! `-o yaml` and `-o json` renderings as kubectl produces them: objects go through a generic map,
//! so keys come out sorted; YAML follows go-yaml v2 (sigs.k8s.io/yaml) style — two-space
//! indent, sequences not indented under their key, strings quoted only when they would read
//! back as another type (numbers, booleans, null, timestamps) or start with an indicator;
//! JSON uses four-space indentation like kubectl's `json.MarshalIndent(obj, "", "    ")`.
//! Left out: YAML block scalars for multi-line strings (they are double-quoted with escapes).

use serde_json::Value;

/// Renders a JSON value as kubectl's YAML (ends with a newline).
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => write_seq(a, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

/// Renders a JSON value with four-space indentation (ends with a newline).
pub fn to_json(v: &Value) -> String {
    let sorted = sort_keys(v);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(&sorted, &mut ser).is_err() {
        return "{}\n".into();
    }
    let mut s = String::from_utf8(buf).unwrap_or_default();
    s.push('\n');
    s
}

/// The value with every map's keys sorted (Go's `encoding/json` order for maps).
pub(crate) fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sort_keys(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn indent(n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn write_map(m: &serde_json::Map<String, Value>, ind: usize, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let mut first = true;
    for k in keys {
        if !first {
            indent(ind, out);
        }
        first = false;
        out.push_str(&quote_str(k));
        out.push(':');
        write_value_after_key(&m[k], ind, out);
    }
}

fn write_value_after_key(v: &Value, ind: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            indent(ind + 2, out);
            write_map(m, ind + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            indent(ind, out);
            write_seq(a, ind, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_seq(a: &[Value], ind: usize, out: &mut String) {
    let mut first = true;
    for item in a {
        if !first {
            indent(ind, out);
        }
        first = false;
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(m, ind + 2, out),
            Value::Array(inner) if !inner.is_empty() => write_seq(inner, ind + 2, out),
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote_str(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn looks_like_number(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    if t.starts_with("0x") || t.starts_with("0o") || t.starts_with("0b") {
        return true;
    }
    if matches!(t, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let mut digits = 0;
    for c in t.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' | 'e' | 'E' | '_' | '+' | '-' => {}
            _ => return false,
        }
    }
    digits > 0 && t.parse::<f64>().is_ok() || t.replace('_', "").parse::<i64>().is_ok()
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~") {
        return true;
    }
    if looks_like_number(s) || looks_like_timestamp(s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // "-" followed by a space or alone, or other indicators.
        return !(first == '-' && s.len() > 1 && !s[1..].starts_with(' ')) || s == "-";
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(|c| c.is_control())
}

fn quote_str(s: &str) -> String {
    if !needs_quotes(s) {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => q.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_like_kubectl() {
        let v = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "creationTimestamp": "2024-01-01T00:00:00Z", "labels": {"app": "web"}, "annotations": {}},
            "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": "80"}], "selector": {"app": "web"}, "clusterIPs": ["10.96.0.5"]},
        });
        assert_eq!(
            to_yaml(&v),
            "apiVersion: v1\nkind: Service\nmetadata:\n  annotations: {}\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\n  labels:\n    app: web\n  name: web\nspec:\n  clusterIPs:\n  - 10.96.0.5\n  ports:\n  - port: 80\n    protocol: TCP\n    targetPort: \"80\"\n  selector:\n    app: web\n"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_str(""), "\"\"");
        assert_eq!(quote_str("true"), "\"true\"");
        assert_eq!(quote_str("nginx:1.27"), "nginx:1.27");
        assert_eq!(quote_str("a: b"), "\"a: b\"");
        assert_eq!(quote_str("-x"), "-x");
        assert_eq!(quote_str("- x"), "\"- x\"");
        assert_eq!(quote_str("*"), "\"*\"");
        assert_eq!(quote_str("10.244.1.2"), "10.244.1.2");
    }

    #[test]
    fn json_four_spaces() {
        assert_eq!(
            to_json(&json!({"b": 1, "a": [true]})),
            "{\n    \"a\": [\n        true\n    ],\n    \"b\": 1\n}\n"
        );
    }
}
