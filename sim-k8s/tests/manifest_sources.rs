//! Loader sources: directories are walked recursively in sorted order and only
//! `.yaml`/`.yml`/`.json` files are read; JSON manifests get the same positions and field
//! paths; a missing path is an error, not a panic.

use std::path::PathBuf;

use sim_k8s::manifest::{self, LoadErrorKind, Source};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netsim-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::create_dir_all(d.join("b/nested"));
    d
}

const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: NAME\nspec:\n  ports:\n  - port: 80\n";

#[test]
fn directories_are_recursive_sorted_and_filtered() {
    let d = scratch("dir");
    let write = |rel: &str, name: &str| {
        let _ = std::fs::write(d.join(rel), SVC.replace("NAME", name));
    };
    write("b/nested/z.yml", "z");
    write("a.yaml", "a");
    write("b/m.yaml", "m");
    write("notes.txt", "ignored");
    let _ = std::fs::write(
        d.join("c.json"),
        r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j"}, "spec": {"ports": [{"port": 80}]}}"#,
    );
    let out = manifest::load(&[Source::Path(d.clone())]);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let names: Vec<&str> = out.objects.iter().map(|l| l.value.name()).collect();
    assert_eq!(names, vec!["a", "m", "z", "j"]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn json_errors_have_positions_and_paths() {
    let text = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",\n  \"metadata\": {\"name\": \"j\"},\n  \"spec\": {\"ports\": [{\"port\": \"eighty\"}], \"portz\": 1}\n}\n";
    let out = manifest::load(&[Source::text("svc.json", text)]);
    let msgs: Vec<String> = out.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        vec![
            "svc.json:5:31: spec.ports[0].port: invalid type: string \"eighty\", expected an integer"
                .to_string(),
            "svc.json:5:43: unknown field \"spec.portz\"".to_string(),
        ]
    );
}

#[test]
fn missing_paths_are_reported() {
    let out = manifest::load(&[Source::Path(PathBuf::from("/nonexistent/netsim/manifests"))]);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].kind, LoadErrorKind::Io);
    assert!(out.errors[0].to_string().starts_with(
        "/nonexistent/netsim/manifests: the path \"/nonexistent/netsim/manifests\" does not exist"
    ));
}

#[test]
fn stdin_text_and_empty_documents() {
    let text = format!(
        "---\n{}---\n---\n# only a comment\n---\n{}",
        SVC.replace("NAME", "one"),
        SVC.replace("NAME", "two")
    );
    let out = manifest::load(&[Source::text("STDIN", &text)]);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let origins: Vec<String> = out.objects.iter().map(|l| l.origin.to_string()).collect();
    assert_eq!(origins, vec!["STDIN:2:1", "STDIN:13:1"]);
}

#[test]
fn crlf_and_byte_order_mark_are_accepted() {
    let text = format!("\u{feff}{}", SVC.replace("NAME", "win").replace('\n', "\r\n"));
    let text = format!("{text}---\r\n{}", SVC.replace("NAME", "two").replace('\n', "\r\n"));
    let out = manifest::load(&[Source::text("win.yaml", &text)]);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let names: Vec<&str> = out.objects.iter().map(|l| l.value.name()).collect();
    assert_eq!(names, vec!["win", "two"]);
    assert_eq!(out.objects[1].origin.loc.line, 9);
}
