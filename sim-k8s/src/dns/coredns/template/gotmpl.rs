//! The part of Go's text/template that the template plugin's records use: text with
//! `{{ ... }}` actions (`{{-`/`-}}` trim the whitespace beside them, `{{/* */}}` comments), an
//! action being a field chain (`.Name`, `.Group.a`, `.Question.Name`), `.Meta "name"`,
//! `index .Match 1` / `index .Group "a"`, or `parseInt .Group.b 16 8` (strconv.ParseUint).
//! A missing map key prints `<no value>` as text/template does. Errors are worded as
//! text/template words them (`template: answer:1: function "foo" not defined`).
//! Left out: pipelines (`|`), variables, `if`/`range`/`with`, the other builtin functions,
//! `.Message` (its Go dump); such an action is reported by [`Template::unsupported`].

use std::collections::BTreeMap;

/// A compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    name: String,
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Text(String),
    Action(Action),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    Field(Vec<String>),
    Meta,
    Index(Arg, Vec<Arg>),
    ParseInt(Arg, Arg, Arg),
    /// Valid Go that this model does not evaluate (the action's text).
    Unsupported(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Arg {
    Field(Vec<String>),
    Str(String),
    Int(i64),
}

/// What a template is executed with (plugin/template `templateData`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Data {
    /// `.Zone`.
    pub zone: String,
    /// `.Name` (lower case, absolute).
    pub name: String,
    /// `.Regex`.
    pub regex: String,
    /// `.Match`.
    pub matches: Vec<String>,
    /// `.Group`: every group by number, and the named ones by name.
    pub group: BTreeMap<String, String>,
    /// `.Class`.
    pub class: String,
    /// `.Type`.
    pub qtype: String,
    /// `.Question.Qtype` and `.Question.Qclass` as numbers.
    pub question: (u16, u16),
    /// `.Remote`.
    pub remote: String,
}

/// A value while executing.
enum Value {
    Str(String),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
    Int(u64),
    /// A missing map key (`<no value>`).
    Missing,
}

impl Value {
    fn print(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::List(l) => format!("[{}]", l.join(" ")),
            Value::Map(m) => {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", parts.join(" "))
            }
            Value::Int(n) => n.to_string(),
            Value::Missing => "<no value>".to_string(),
        }
    }
}

impl Template {
    /// `template.New(name).Funcs({parseInt}).Parse(text)`.
    pub fn parse(name: &str, text: &str) -> Result<Template, String> {
        let mut nodes = Vec::new();
        let mut rest = text;
        let mut trim_next = false;
        while let Some(open) = rest.find("{{") {
            let mut before = &rest[..open];
            if trim_next {
                before = before.trim_start();
            }
            let mut inner = &rest[open + 2..];
            if let Some(s) = inner.strip_prefix("- ") {
                before = before.trim_end();
                inner = s;
            }
            if !before.is_empty() {
                nodes.push(Node::Text(before.to_string()));
            }
            let Some(close) = inner.find("}}") else {
                return Err(format!("template: {name}:1: unclosed action"));
            };
            let mut body = &inner[..close];
            trim_next = false;
            if let Some(b) = body.strip_suffix(" -") {
                body = b;
                trim_next = true;
            }
            rest = &inner[close + 2..];
            let body = body.trim();
            if body.starts_with("/*") && body.ends_with("*/") {
                continue;
            }
            nodes.push(Node::Action(parse_action(name, body)?));
        }
        let tail = if trim_next { rest.trim_start() } else { rest };
        if !tail.is_empty() {
            nodes.push(Node::Text(tail.to_string()));
        }
        Ok(Template { name: name.to_string(), nodes })
    }

    /// The first action this model does not evaluate, if any (it would print nothing).
    pub fn unsupported(&self) -> Option<&str> {
        self.nodes.iter().find_map(|n| match n {
            Node::Action(Action::Unsupported(t)) => Some(t.as_str()),
            _ => None,
        })
    }

    /// `Execute`: the text, or text/template's execution error.
    pub fn execute(&self, data: &Data) -> Result<String, String> {
        let mut out = String::new();
        for n in &self.nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(a) => out.push_str(&self.eval(a, data)?.print()),
            }
        }
        Ok(out)
    }

    fn eval(&self, a: &Action, data: &Data) -> Result<Value, String> {
        let at = |what: &str, e: String| {
            format!("template: {}:1: executing \"{}\" at <{what}>: {e}", self.name, self.name)
        };
        match a {
            Action::Field(path) => self.field(path, data),
            Action::Meta => Ok(Value::Str(String::new())),
            Action::Unsupported(_) => Ok(Value::Str(String::new())),
            Action::Index(of, keys) => {
                let mut v = self.arg(of, data)?;
                for k in keys {
                    let k = self.arg(k, data)?;
                    v = match (v, k) {
                        (Value::List(l), Value::Int(i)) => match l.get(i as usize) {
                            Some(s) => Value::Str(s.clone()),
                            None => {
                                return Err(at(
                                    "index",
                                    format!("error calling index: index out of range: {i}"),
                                ));
                            }
                        },
                        (Value::Map(m), Value::Str(s)) => Value::Str(m.get(&s).cloned().unwrap_or_default()),
                        _ => return Err(at("index", "error calling index: cannot index".to_string())),
                    };
                }
                Ok(v)
            }
            Action::ParseInt(s, base, bits) => {
                let (Value::Str(s), Value::Int(base), Value::Int(bits)) =
                    (self.arg(s, data)?, self.arg(base, data)?, self.arg(bits, data)?)
                else {
                    return Err(at("parseInt", "wrong type for value".to_string()));
                };
                parse_uint(&s, base as u32, bits as u32)
                    .map(Value::Int)
                    .map_err(|e| at("parseInt", format!("error calling parseInt: {e}")))
            }
        }
    }

    fn arg(&self, a: &Arg, data: &Data) -> Result<Value, String> {
        match a {
            Arg::Field(p) => self.field(p, data),
            Arg::Str(s) => Ok(Value::Str(s.clone())),
            Arg::Int(i) => Ok(Value::Int(*i as u64)),
        }
    }

    fn field(&self, path: &[String], data: &Data) -> Result<Value, String> {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        Ok(match p.as_slice() {
            ["Zone"] => Value::Str(data.zone.clone()),
            ["Name"] => Value::Str(data.name.clone()),
            ["Regex"] => Value::Str(data.regex.clone()),
            ["Class"] => Value::Str(data.class.clone()),
            ["Type"] => Value::Str(data.qtype.clone()),
            ["Remote"] => Value::Str(data.remote.clone()),
            ["Match"] => Value::List(data.matches.clone()),
            ["Group"] => Value::Map(data.group.clone()),
            ["Group", key] => data.group.get(*key).map_or(Value::Missing, |v| Value::Str(v.clone())),
            ["Question", "Name"] => Value::Str(data.name.clone()),
            ["Question", "Qtype"] => Value::Int(u64::from(data.question.0)),
            ["Question", "Qclass"] => Value::Int(u64::from(data.question.1)),
            _ => {
                let shown = format!(".{}", path.join("."));
                let last = path.last().map_or("", String::as_str);
                return Err(format!(
                    "template: {}:1: executing \"{}\" at <{shown}>: can't evaluate field {last} in type *template.templateData",
                    self.name, self.name
                ));
            }
        })
    }
}

fn parse_action(name: &str, body: &str) -> Result<Action, String> {
    let words = split_words(body);
    let Some(first) = words.first() else {
        return Err(format!("template: {name}:1: missing value for command"));
    };
    let args = || -> Result<Vec<Arg>, String> { words[1..].iter().map(|w| parse_arg(name, w)).collect() };
    if body.contains('|') || body.contains('$') || body.contains('(') {
        return Ok(Action::Unsupported(body.to_string()));
    }
    match first.as_str() {
        ".Meta" => Ok(Action::Meta),
        f if f.starts_with('.') => {
            if words.len() > 1 {
                return Ok(Action::Unsupported(body.to_string()));
            }
            Ok(Action::Field(f[1..].split('.').map(str::to_string).collect()))
        }
        "index" => {
            let mut a = args()?;
            if a.is_empty() {
                return Err(format!(
                    "template: {name}:1: wrong number of args for index: want at least 1 got 0"
                ));
            }
            let of = a.remove(0);
            Ok(Action::Index(of, a))
        }
        "parseInt" => {
            let a = args()?;
            let [s, b, n] = <[Arg; 3]>::try_from(a).map_err(|a: Vec<Arg>| {
                format!("template: {name}:1: wrong number of args for parseInt: want 3 got {}", a.len())
            })?;
            Ok(Action::ParseInt(s, b, n))
        }
        "if" | "range" | "with" | "define" | "template" | "block" | "else" | "end" | "printf" | "print"
        | "println" | "len" | "slice" | "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "and" | "or" | "not"
        | "html" | "js" | "urlquery" | "call" => Ok(Action::Unsupported(body.to_string())),
        f => Err(format!("template: {name}:1: function \"{f}\" not defined")),
    }
}

fn parse_arg(name: &str, w: &str) -> Result<Arg, String> {
    if let Some(f) = w.strip_prefix('.') {
        return Ok(Arg::Field(f.split('.').map(str::to_string).collect()));
    }
    if let Some(s) = w.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Ok(Arg::Str(s.to_string()));
    }
    w.parse::<i64>().map(Arg::Int).map_err(|_| format!("template: {name}:1: function \"{w}\" not defined"))
}

/// Words of an action, a `"..."` string being one.
fn split_words(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in body.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// strconv.ParseUint with its error texts.
fn parse_uint(s: &str, base: u32, bits: u32) -> Result<u64, String> {
    let syntax = || format!("strconv.ParseUint: parsing \"{s}\": invalid syntax");
    if !(2..=36).contains(&base) || s.is_empty() {
        return Err(syntax());
    }
    let n = u64::from_str_radix(s, base).map_err(|_| syntax())?;
    if bits < 64 && n >> bits != 0 {
        return Err(format!("strconv.ParseUint: parsing \"{s}\": value out of range"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Data {
        let mut group = BTreeMap::new();
        for (k, v) in [("0", "ip0a7b7b7b.example."), ("1", "7b"), ("b", "7b"), ("c", "7b")] {
            group.insert(k.to_string(), v.to_string());
        }
        Data {
            zone: "example.".into(),
            name: "ip0a7b7b7b.example.".into(),
            matches: vec!["ip0a7b7b7b.example.".into(), "7b".into()],
            group,
            class: "IN".into(),
            qtype: "A".into(),
            ..Data::default()
        }
    }

    #[test]
    fn fields_index_and_parse_int() {
        let t = Template::parse(
            "answer",
            "{{ .Name }} 60 {{ .Class }} A 10.{{ parseInt .Group.b 16 8 }}.{{ index .Match 1 }}.{{ .Group.c }}",
        )
        .unwrap();
        assert_eq!(t.execute(&data()).unwrap(), "ip0a7b7b7b.example. 60 IN A 10.123.7b.7b");
        assert_eq!(
            Template::parse("answer", "{{ .Group.zz }}").unwrap().execute(&data()).unwrap(),
            "<no value>"
        );
        assert_eq!(Template::parse("a", "x {{- .Type -}} y").unwrap().execute(&data()).unwrap(), "xAy");
    }

    #[test]
    fn errors_are_text_templates() {
        assert_eq!(
            Template::parse("answer", "{{ .Name ").unwrap_err(),
            "template: answer:1: unclosed action"
        );
        assert_eq!(
            Template::parse("answer", "{{ foo .Name }}").unwrap_err(),
            "template: answer:1: function \"foo\" not defined"
        );
        let e = Template::parse("answer", "{{ .Nmae }}").unwrap().execute(&data()).unwrap_err();
        assert_eq!(
            e,
            "template: answer:1: executing \"answer\" at <.Nmae>: can't evaluate field Nmae in type *template.templateData"
        );
        let e =
            Template::parse("answer", "{{ parseInt .Group.b 16 4 }}").unwrap().execute(&data()).unwrap_err();
        assert!(e.ends_with("strconv.ParseUint: parsing \"7b\": value out of range"), "{e}");
        assert_eq!(Template::parse("a", "{{ if .Name }}x{{ end }}").unwrap().unsupported(), Some("if .Name"));
    }
}
