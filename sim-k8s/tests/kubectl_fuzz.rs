//! Robustness: arbitrary command lines built from kubectl's vocabulary (and raw junk) never
//! panic; they end with exit code 0 or 1 like the real tool.

mod controllers_common;

use controllers_common::*;
use proptest::prelude::*;
use sim_core::SimRng;
use sim_k8s::controllers::Controllers;
use sim_k8s::kubectl::{Kubectl, RunResult};

const WORDS: &[&str] = &[
    "get",
    "describe",
    "apply",
    "create",
    "delete",
    "scale",
    "patch",
    "expose",
    "run",
    "label",
    "rollout",
    "status",
    "wait",
    "exec",
    "logs",
    "deployment",
    "deploy/web",
    "svc",
    "svc/web",
    "po",
    "pods",
    "ep",
    "endpointslices",
    "nodes",
    "ns",
    "all",
    "rs",
    "sts",
    "ds",
    "web",
    "web-0",
    "nope",
    "-n",
    "kube-system",
    "-A",
    "-o",
    "wide",
    "yaml",
    "json",
    "name",
    "-l",
    "app=web",
    "app!=x",
    "--show-labels",
    "--no-headers",
    "-f",
    "001-service-my-nginx.yaml",
    "missing.yaml",
    "--replicas=2",
    "--replicas",
    "x",
    "--image=nginx",
    "--port=80",
    "--target-port=http",
    "--type=NodePort",
    "--type",
    "merge",
    "-p",
    "{\"spec\":{\"replicas\":3}}",
    "{bad",
    "--",
    "sh",
    "-c",
    "--for=condition=Ready",
    "--for=delete",
    "tier=a",
    "tier-",
    "--overwrite",
    "--force",
    "--grace-period=0",
    "--all",
    "=",
    "'",
    "\"",
    "\\",
    "deployment.apps",
    "foo",
    "--bogus",
    "-Z",
    "-oyaml",
    "-n=default",
    "events",
];

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(WORDS), 0..7)
            .prop_map(|w| format!("kubectl {}", w.join(" "))),
        ".{0,60}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn never_panics(lines in prop::collection::vec(line(), 1..6)) {
        let mut store = cluster(1);
        let mut c = Controllers::new(&SimRng::new(3));
        apply_yaml(&mut store, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: c\n        image: nginx\n        ports:\n        - name: http\n          containerPort: 80\n", secs(0));
        run_until(&mut c, &mut store, secs(0), secs(3));
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/articles");
        let reader = move |p: &str, recursive: bool| sim_k8s::kubectl::read_manifest_path(&dir, p, recursive);
        for l in &lines {
            let events = c.events().to_vec();
            let mut k = Kubectl { store: &mut store, now: secs(3), files: &reader, events: &events };
            if let RunResult::Done(out) = k.run(l) {
                prop_assert!(out.exit_code == 0 || out.exit_code == 1);
                prop_assert!(out.exit_code == 0 || !out.stderr.is_empty(), "{l}: silent failure");
            }
            c.reconcile(&mut store, secs(3));
        }
    }
}
