//! The bad-input catalogue: every file under `tests/bad_inputs/` is loaded and then created
//! against a fresh API server (`kubectl create -f`), and the full rendered outcome — loader
//! errors with file:line:column, not-simulated kinds, and the server's kubectl-worded replies
//! with each field error positioned in the source — is snapshotted. Plus generated hostile
//! inputs that must not be committed (a 50 MB file).

use std::fmt::Write as _;
use std::path::Path;

use sim_core::SimRng;
use sim_k8s::api::Kind;
use sim_k8s::apiserver::{ApiServer, ApiServerConfig};
use sim_k8s::manifest::{self, MAX_SOURCE_BYTES, Source};

fn render(name: &str, text: &str) -> String {
    let out = manifest::load_str(name, text);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "== load: {} objects, {} not simulated, {} errors",
        out.objects.len(),
        out.not_simulated.len(),
        out.errors.len()
    );
    for e in &out.errors {
        let _ = writeln!(s, "{e}");
    }
    for n in &out.not_simulated {
        let _ = writeln!(s, "{n}");
    }
    // A kube-proxy config file is validated by kube-proxy, not created through the API.
    let (configs, objects): (Vec<_>, Vec<_>) =
        out.objects.into_iter().partition(|l| l.value.kind() == Kind::KubeProxyConfiguration);
    if !configs.is_empty() {
        let _ = writeln!(s, "== kube-proxy --config {name}");
        for e in sim_k8s::apiserver::lint(&configs) {
            let _ = writeln!(s, "{e}");
        }
    }
    if !objects.is_empty() {
        let _ = writeln!(s, "== kubectl create -f {name}");
        let mut server = ApiServer::new(ApiServerConfig::default(), &SimRng::new(1));
        for r in server.create_loaded(&objects) {
            s.push_str(&r.kubectl_line());
            for e in &r.located {
                let _ = writeln!(s, "    at {e}");
            }
        }
    }
    s
}

#[test]
fn bad_input_catalogue() {
    insta::glob!("bad_inputs/*.yaml", |path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        insta::assert_snapshot!(render(&name, &text));
    });
}

#[test]
fn catalogue_has_at_least_forty_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    assert!(n >= 40, "only {n} catalogue files");
}

#[test]
fn huge_input_is_rejected_before_parsing() {
    // A file past the cap, sparse (nothing is written or read): rejected from its size alone.
    let path = std::env::temp_dir().join(format!("netsim-huge-{}.yaml", std::process::id()));
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_SOURCE_BYTES as u64 + 1).unwrap();
    let out = manifest::load(&[Source::Path(path.clone())]);
    let _ = std::fs::remove_file(&path);
    assert!(out.objects.is_empty() && out.not_simulated.is_empty());
    assert_eq!(out.errors.len(), 1);
    assert_eq!(
        out.errors[0].to_string(),
        format!(
            "{}: manifest is too large: {} bytes (limit {MAX_SOURCE_BYTES} bytes)",
            path.display(),
            MAX_SOURCE_BYTES + 1
        )
    );
}

#[test]
fn large_but_allowed_input_with_many_documents_stays_bounded() {
    // 4 MiB: thousands of documents, each parsed on its own.
    let doc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n---\n";
    let n = 4 * 1024 * 1024 / doc.len() / 32;
    let text = doc.repeat(n);
    let out = manifest::load_str("many.yaml", &text);
    assert!(out.errors.is_empty());
    assert_eq!(out.objects.len(), n);
}

#[test]
fn one_list_document_as_large_as_a_cluster_dump_loads() {
    // `kubectl get -o yaml` prints one `kind: List`: 20,000 items are far more nodes than the
    // small-document budget, but no more than the document's size allows.
    let mut text = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s{i}\n    labels: {{app: a{i}, tier: t}}\n  spec:\n    ports:\n    - port: 80\n      targetPort: 8080\n"
        ));
    }
    let out = manifest::load_str("dump.yaml", &text);
    assert!(out.errors.is_empty(), "{:?}", out.errors.first().map(|e| e.to_string()));
    assert_eq!(out.objects.len(), 20_000);
}

#[test]
fn deep_nesting_generated_at_100k_levels() {
    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: deep\nspec:\n  selector: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let out = manifest::load_str("deep.yaml", &text);
    assert_eq!(out.errors.len(), 1);
    assert!(out.objects.is_empty());
}
