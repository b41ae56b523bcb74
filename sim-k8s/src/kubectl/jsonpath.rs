//! kubectl's JSONPath templates (`-o jsonpath=...`) and custom columns (`-o custom-columns=...`),
//! evaluated over an object's JSON form. Follows k8s.io/client-go util/jsonpath (parser.go,
//! jsonpath.go) and kubectl pkg/cmd/get customcolumn.go: text outside `{}` is copied, actions are
//! field paths (`.a.b`, `.a\.b`, `['a.b']`, `[N]`, `[-N]`, `[*]`, `[a:b]`, `.*`), filters
//! `[?(@.k=="v")]` (`==`, `!=`, existence), quoted literals with Go escapes, and `range`/`end`.
//! Several results of one action are joined by a space; maps and lists print as compact JSON,
//! strings raw. Missing keys print nothing, as kubectl's printer allows them. Custom columns keep
//! headers as given, join several values with `,` and print `<none>` for missing ones.
//! Left out: recursive descent (`..`), `{.a,.b}` unions, filter comparisons other than
//! `==`/`!=`, `-o jsonpath-as-json`, `-o jsonpath-file`.

use std::fmt;

use serde_json::Value;

/// A template kubectl would reject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPathError {
    /// What is wrong (kubectl's wording where it has one).
    pub message: String,
}

impl fmt::Display for JsonPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonPathError {}

fn perr<T>(template: &str, what: &str) -> Result<T, JsonPathError> {
    Err(JsonPathError { message: format!("error parsing jsonpath {template}, {what}") })
}

/// One step of a field path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// `.name` / `['name']`.
    Field(String),
    /// `.*` / `[*]`: every element or value.
    Wildcard,
    /// `[N]` (negative counts from the end).
    Index(i64),
    /// `[a:b]`.
    Slice(Option<i64>, Option<i64>),
    /// `[?(@.path OP literal)]`, or `[?(@.path)]` for existence (op None).
    Filter(Vec<Step>, Option<(bool, Value)>),
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(String),
    /// A path; `root` when it starts with `$`.
    Path {
        root: bool,
        steps: Vec<Step>,
    },
    Range {
        root: bool,
        steps: Vec<Step>,
        body: Vec<Node>,
    },
}

/// An open `range` while parsing (its path, `None` at top level) and the nodes so far.
type Frame = (Option<(bool, Vec<Step>)>, Vec<Node>);

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    nodes: Vec<Node>,
}

impl JsonPath {
    /// Parses a template such as `{.spec.clusterIP}` or
    /// `{range .items[*]}{.metadata.name}{"\n"}{end}`.
    pub fn parse(template: &str) -> Result<Self, JsonPathError> {
        let mut stack: Vec<Frame> = vec![(None, Vec::new())];
        let mut rest = template;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                push(&mut stack, Node::Text(rest.to_string()));
                break;
            };
            if open > 0 {
                push(&mut stack, Node::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let Some(close) = find_close(after) else {
                return perr(template, "unclosed action");
            };
            let action = after[..close].trim();
            rest = &after[close + 1..];
            if action == "end" {
                if stack.len() < 2 {
                    return perr(template, "not in range, nothing to end");
                }
                let Some((Some((root, steps)), body)) = stack.pop() else {
                    return perr(template, "not in range, nothing to end");
                };
                push(&mut stack, Node::Range { root, steps, body });
            } else if let Some(expr) = action.strip_prefix("range ") {
                let (root, steps) = parse_path(expr.trim(), template)?;
                stack.push((Some((root, steps)), Vec::new()));
            } else if let Some(lit) = string_literal(action) {
                push(&mut stack, Node::Text(lit));
            } else {
                let (root, steps) = parse_path(action, template)?;
                push(&mut stack, Node::Path { root, steps });
            }
        }
        if stack.len() != 1 {
            return perr(template, "unclosed range");
        }
        let nodes = stack.pop().map(|(_, n)| n).unwrap_or_default();
        Ok(JsonPath { nodes })
    }

    /// Renders the template over `data` (kubectl's `-o jsonpath` output, no newline added).
    pub fn render(&self, data: &Value) -> String {
        let mut out = String::new();
        render_nodes(&self.nodes, data, data, &mut out);
        out
    }

    /// The values a single-path template selects (custom columns); empty when missing.
    fn values<'a>(&self, data: &'a Value) -> Vec<&'a Value> {
        let mut vals = Vec::new();
        for n in &self.nodes {
            if let Node::Path { steps, .. } = n {
                vals.extend(eval(steps, data));
            }
        }
        vals
    }
}

fn push(stack: &mut [Frame], node: Node) {
    if let Some(top) = stack.last_mut() {
        top.1.push(node);
    }
}

/// The `}` closing an action, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '}' => return Some(i),
                _ => {}
            },
        }
    }
    None
}

/// `"text"` with Go escapes (`\n`, `\t`, `\"`, `\\`) → the text.
fn string_literal(action: &str) -> Option<String> {
    let inner = action.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn parse_path(expr: &str, template: &str) -> Result<(bool, Vec<Step>), JsonPathError> {
    let (root, mut rest) = match expr.strip_prefix('$') {
        Some(r) => (true, r),
        None => (false, expr.strip_prefix('@').unwrap_or(expr)),
    };
    let mut steps = Vec::new();
    if rest.is_empty() || rest == "." {
        return Ok((root, steps));
    }
    if !rest.starts_with('.') && !rest.starts_with('[') {
        return perr(template, &format!("unrecognized identifier {expr}"));
    }
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            if r.starts_with('.') {
                return perr(template, "recursive descent (..) is not supported");
            }
            if let Some(r2) = r.strip_prefix('*') {
                steps.push(Step::Wildcard);
                rest = r2;
                continue;
            }
            // `\.` keeps a dot inside a key (`labels.app\.kubernetes\.io/name`).
            let bytes = r.as_bytes();
            let end = (0..bytes.len())
                .find(|&i| (bytes[i] == b'.' && (i == 0 || bytes[i - 1] != b'\\')) || bytes[i] == b'[')
                .unwrap_or(r.len());
            let raw = &r[..end];
            let unescaped = raw.replace("\\.", ".");
            let name = unescaped.as_str();
            if name.is_empty() {
                if end == r.len() {
                    break;
                }
                rest = r;
                continue;
            }
            if !name.chars().all(|c| c.is_alphanumeric() || "_-/$.".contains(c)) {
                return perr(template, &format!("unrecognized character in action: {name}"));
            }
            steps.push(Step::Field(name.to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(close) = find_bracket(r) else {
                return perr(template, "unterminated array");
            };
            let inner = r[..close].trim();
            rest = &r[close + 1..];
            steps.push(parse_bracket(inner, template)?);
        } else {
            return perr(template, &format!("unrecognized character in action: {rest}"));
        }
    }
    Ok((root, steps))
}

/// The `]` closing a bracket, skipping quoted strings and nested parentheses.
fn find_bracket(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ']' if depth == 0 => return Some(i),
                _ => {}
            },
        }
    }
    None
}

fn parse_bracket(inner: &str, template: &str) -> Result<Step, JsonPathError> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(q) = inner
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
    {
        return Ok(Step::Field(q.to_string()));
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|s| s.strip_suffix(')')) {
        return parse_filter(f.trim(), template);
    }
    let int = |s: &str| -> Result<Option<i64>, JsonPathError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<i64>().map(Some).or_else(|_| perr(template, &format!("invalid array index {s}")))
    };
    match inner.split_once(':') {
        Some((a, b)) => {
            let b = b.split(':').next().unwrap_or("");
            Ok(Step::Slice(int(a)?, int(b)?))
        }
        None => match int(inner)? {
            Some(i) => Ok(Step::Index(i)),
            None => perr(template, "invalid array index"),
        },
    }
}

fn parse_filter(f: &str, template: &str) -> Result<Step, JsonPathError> {
    let (lhs, cmp) = if let Some((l, r)) = f.split_once("==") {
        (l.trim(), Some((true, r.trim())))
    } else if let Some((l, r)) = f.split_once("!=") {
        (l.trim(), Some((false, r.trim())))
    } else {
        (f, None)
    };
    if !lhs.starts_with('@') {
        return perr(template, &format!("unrecognized filter {f}"));
    }
    let (_, steps) = parse_path(lhs, template)?;
    let cmp = match cmp {
        None => None,
        Some((eq, lit)) => {
            let v = if let Some(s) = lit
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| lit.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
            {
                Value::String(s.to_string())
            } else if let Ok(v) = serde_json::from_str::<Value>(lit) {
                v
            } else {
                return perr(template, &format!("unrecognized filter value {lit}"));
            };
            Some((eq, v))
        }
    };
    Ok(Step::Filter(steps, cmp))
}

fn slice_index(i: i64, len: usize) -> usize {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let j = if i < 0 { (len_i + i).max(0) } else { i.min(len_i) };
    usize::try_from(j).unwrap_or(0)
}

fn eval<'a>(steps: &[Step], start: &'a Value) -> Vec<&'a Value> {
    let mut cur = vec![start];
    for step in steps {
        let mut next = Vec::new();
        for v in cur {
            match step {
                Step::Field(name) => {
                    if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                        next.push(x);
                    }
                }
                Step::Wildcard => match v {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => {
                        let mut keys: Vec<&String> = m.keys().collect();
                        keys.sort();
                        next.extend(keys.into_iter().filter_map(|k| m.get(k)));
                    }
                    _ => {}
                },
                Step::Index(i) => {
                    if let Value::Array(a) = v {
                        let idx = if *i < 0 { i64::try_from(a.len()).ok().map(|l| l + i) } else { Some(*i) };
                        if let Some(x) = idx.and_then(|j| usize::try_from(j).ok()).and_then(|j| a.get(j)) {
                            next.push(x);
                        }
                    }
                }
                Step::Slice(from, to) => {
                    if let Value::Array(a) = v {
                        let s = slice_index(from.unwrap_or(0), a.len());
                        let e = to.map_or(a.len(), |t| slice_index(t, a.len()));
                        if s < e {
                            next.extend(a[s..e].iter());
                        }
                    }
                }
                Step::Filter(path, cmp) => {
                    let items: Vec<&Value> = match v {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for item in items {
                        let found = eval(path, item);
                        let keep = match cmp {
                            None => !found.is_empty(),
                            Some((eq, lit)) => found.iter().any(|f| (*f == lit) == *eq),
                        };
                        if keep {
                            next.push(item);
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

fn render_nodes(nodes: &[Node], root: &Value, cur: &Value, out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Path { root: r, steps } => {
                let vals = eval(steps, if *r { root } else { cur });
                let texts: Vec<String> = vals.iter().map(|v| text(v)).collect();
                out.push_str(&texts.join(" "));
            }
            Node::Range { root: r, steps, body } => {
                for v in eval(steps, if *r { root } else { cur }) {
                    match v {
                        Value::Array(a) if !range_selects_elements(steps) => {
                            for item in a {
                                render_nodes(body, root, item, out);
                            }
                        }
                        other => render_nodes(body, root, other, out),
                    }
                }
            }
        }
    }
}

/// `range .items[*]` already yields the elements; `range .items` iterates the list itself.
fn range_selects_elements(steps: &[Step]) -> bool {
    matches!(steps.last(), Some(Step::Wildcard | Step::Slice(..) | Step::Filter(..)))
}

/// client-go's text for one result: strings raw, maps and lists as compact JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Object(_) | Value::Array(_) => {
            serde_json::to_string(&super::output::sort_keys(v)).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

/// Go's `fmt.Sprint` of a decoded JSON value (custom-columns cells): `map[k:v]`, `[a b]`.
fn go_sprint(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_sprint).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{k}:{}", go_sprint(&m[*k]))).collect();
            format!("map[{}]", parts.join(" "))
        }
        other => other.to_string(),
    }
}

/// kubectl's `RelaxedJSONPathExpression`: `a.b`, `.a.b`, `{a.b}`, `{.a.b}` → `{.a.b}`.
fn relaxed(expr: &str) -> Result<String, JsonPathError> {
    let bad = || {
        JsonPathError {
        message: "unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'".into(),
    }
    };
    let body = match expr.strip_prefix('{') {
        Some(r) => r.strip_suffix('}').ok_or_else(bad)?,
        None => expr,
    };
    let body = body.strip_prefix('.').unwrap_or(body);
    if body.is_empty() || body.contains(['{', '}']) {
        return Err(bad());
    }
    Ok(format!("{{.{body}}}"))
}

/// A parsed `-o custom-columns=HEADER:PATH,...` spec.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomColumns {
    columns: Vec<(String, JsonPath)>,
}

impl CustomColumns {
    /// Parses a spec such as `NAME:.metadata.name,IP:.status.podIP`.
    pub fn parse(spec: &str) -> Result<Self, JsonPathError> {
        if spec.is_empty() {
            return Err(JsonPathError {
                message: "custom-columns format specified but no custom columns given".into(),
            });
        }
        let mut columns = Vec::new();
        for part in spec.split(',') {
            let Some((header, path)) = part.split_once(':') else {
                return Err(JsonPathError {
                    message: format!(
                        "unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
                    ),
                });
            };
            columns.push((header.to_string(), JsonPath::parse(&relaxed(path)?)?));
        }
        Ok(CustomColumns { columns })
    }

    /// The header row.
    pub fn header(&self) -> Vec<String> {
        self.columns.iter().map(|(h, _)| h.clone()).collect()
    }

    /// One object's row: values joined by `,`, `<none>` when the path selects nothing.
    pub fn row(&self, obj: &Value) -> Vec<String> {
        self.columns
            .iter()
            .map(|(_, p)| {
                let vals = p.values(obj);
                if vals.is_empty() {
                    "<none>".to_string()
                } else {
                    vals.iter().map(|v| go_sprint(v)).collect::<Vec<_>>().join(",")
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(t: &str, v: &Value) -> String {
        match JsonPath::parse(t) {
            Ok(p) => p.render(v),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn client_go_examples() {
        // client-go util/jsonpath jsonpath_test.go style vectors.
        let list = json!({"kind": "List", "items": [
            {"metadata": {"name": "a"}, "status": {"podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "b"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        ]});
        assert_eq!(render("{.items[*].metadata.name}", &list), "a b");
        assert_eq!(render("{range .items[*]}{.metadata.name}{\"\\n\"}{end}", &list), "a\nb\n");
        assert_eq!(render("{.items[0].metadata.name}", &list), "a");
        assert_eq!(render("{.items[-1].metadata.name}", &list), "b");
        assert_eq!(render("{.items[0:1].metadata.name}", &list), "a");
        assert_eq!(render("{.items[1].status.podIP}", &list), "");
        assert_eq!(render("{.items[*].status.conditions[?(@.type==\"Ready\")].status}", &list), "True False");
        assert_eq!(render("ip={.items[0].status.podIP}!", &list), "ip=10.0.0.1!");
        assert_eq!(render("{.items[0].metadata}", &list), "{\"name\":\"a\"}");
        assert_eq!(render("{$.kind}", &list), "List");
        let pod = json!({"metadata": {"labels": {"app.kubernetes.io/name": "web"}}});
        assert_eq!(render(r"{.metadata.labels.app\.kubernetes\.io/name}", &pod), "web");
        assert_eq!(render("{.metadata.labels['app.kubernetes.io/name']}", &pod), "web");
        assert_eq!(render("{range .items[*]}[{.metadata.name}]{end}", &list), "[a][b]");
        assert!(render("{.items", &list).starts_with("ERR error parsing jsonpath {.items, unclosed action"));
        assert!(render("{range .items[*]}{.x}", &list).starts_with("ERR "));
    }

    #[test]
    fn custom_columns_like_kubectl() {
        let cc = CustomColumns::parse("NAME:.metadata.name,IP:.status.podIP,SEL:spec.selector");
        let Ok(cc) = cc else { panic!("{cc:?}") };
        assert_eq!(cc.header(), vec!["NAME", "IP", "SEL"]);
        let pod = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web", "b": "c"}}});
        assert_eq!(cc.row(&pod), vec!["web", "<none>", "map[app:web b:c]"]);
        assert_eq!(
            CustomColumns::parse("NAME").err().map(|e| e.message),
            Some("unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>".into())
        );
    }

    proptest::proptest! {
        /// Any template either parses or is rejected with a message — never a panic — and a
        /// parsed template renders over any list.
        #[test]
        fn any_template_parses_or_errors(t in "[{}a-z.\\[\\]*?@=\"'0-9:() -]{0,24}", n in 0usize..4) {
            let items: Vec<Value> = (0..n).map(|i| json!({"metadata": {"name": format!("p{i}")}, "x": [i, {"y": "z"}]})).collect();
            let doc = json!({"kind": "List", "items": items});
            match JsonPath::parse(&t) {
                Ok(p) => { let _ = p.render(&doc); }
                Err(e) => proptest::prop_assert!(e.message.starts_with("error parsing jsonpath ")),
            }
            if let Ok(cc) = CustomColumns::parse(&format!("A:{t}")) {
                proptest::prop_assert_eq!(cc.row(&doc).len(), 1);
            }
        }
    }
}
