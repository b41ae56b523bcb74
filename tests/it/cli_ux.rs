//! What a learner and a CI user meet first (issue 16): typos that are errors, step targets
//! checked when the step runs, every mistake of a scenario reported.

use crate::support::netsim;

#[test]
fn r16_a_kind_typo_is_an_error_and_a_not_simulated_kind_a_warning() {
    let out = netsim(&["kubectl", "-f", "tests/data/ux/kind-typo.yaml", "get", "svc"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("tests/data/ux/kind-typo.yaml:3:7: no matches for kind \"Servcie\" in version \"v1\""),
        "{}",
        out.stderr
    );
    let run = netsim(&["run", "tests/data/ux/apply-typo.yaml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "error: kind-typo.yaml:3:7: no matches for kind \"Servcie\" in version \"v1\"\n(exit status 1)"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("error: no objects passed to apply\n(exit status 1)"), "{}", run.stdout);
    let scenario = netsim(&["run", "tests/data/ux/manifest-typo.yaml"]);
    assert_eq!(scenario.code, 2, "{}{}", scenario.stdout, scenario.stderr);
    assert!(
        scenario.stderr.contains("no matches for kind \"Servcie\" in version \"v1\""),
        "{}",
        scenario.stderr
    );
}

#[test]
fn r16_a_missing_step_target_fails_the_scenario_at_the_step() {
    let out = netsim(&["run", "tests/data/ux/missing-target.yaml"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("[root@master ~]# kubectl exec nothere -- echo hi\n"), "{}", out.stdout);
    assert!(out.stdout.contains("[root@nothere ~]# echo hi\n"), "{}", out.stdout);
    assert_eq!(
        out.stderr,
        "tests/data/ux/missing-target.yaml:6:5: steps[1]: on: pod/nothere: Error from server (NotFound): pods \"nothere\" not found\n\
         tests/data/ux/missing-target.yaml:8:5: steps[2]: on: node/nothere: Error from server (NotFound): nodes \"nothere\" not found\n"
    );
}

#[test]
fn r16_every_mistake_of_a_scenario_is_reported() {
    let out = netsim(&["run", "tests/data/bad-scenarios/several-mistakes.yaml"]);
    assert_eq!(out.code, 2);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stderr);
    assert!(lines[0].starts_with(
        "tests/data/bad-scenarios/several-mistakes.yaml:5:5: steps[0]: unknown field `frobnicate`"
    ));
    assert!(
        lines[1]
            .starts_with("tests/data/bad-scenarios/several-mistakes.yaml:8:5: steps[2]: unknown field `onn`")
    );
    assert!(lines[2].starts_with(
        "tests/data/bad-scenarios/several-mistakes.yaml:9:5: steps[3]: sleep: invalid duration"
    ));
}

#[test]
fn r16_pipes_lists_redirects_and_substitution_around_simulated_commands() {
    let out = netsim(&["run", "tests/data/ux/pipes.yaml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for want in [
        "| grep nginx | wc -l\n2\n",
        "jq -r '.items[].metadata.name'\nkubernetes\nmy-nginx\n",
        "tail -n +2\nmy-nginx-b8cc68944-55npr\nmy-nginx-b8cc68944-bwpb9\n",
        "grep -o '<title>.*</title>'\n<title>Welcome to nginx!</title>\n",
        "cat /tmp/page | head -3\n615\n<!DOCTYPE html>\n",
        "echo $(hostname)\nmaster\n",
        "sh: sed: not simulated after a pipe (netsim's filters: grep, head, tail, wc, sort, uniq, cut, awk '{print $N}', jq, cat, tr -d)\n(exit status 127)",
    ] {
        assert!(out.stdout.contains(want), "missing {want:?} in\n{}", out.stdout);
    }
}

#[test]
fn r16_a_shell_on_manifests_saves_a_scenario_that_passes() {
    let dir = std::env::temp_dir().join(format!("netsim-ux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let saved = dir.join("saved.yaml");
    let script = format!(
        "kubectl get pods | wc -l\nssh pod/my-nginx-b8cc68944-55npr\ncurl -s my-nginx | grep -c nginx\nexit\nsleep 2\nsave {}\n",
        saved.display()
    );
    let out =
        crate::support::netsim_with_input(&["shell", "-f", "scenarios/manifests/my-nginx.yaml"], &script);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("[root@master ~]# kubectl get pods | wc -l\n3\n"), "{}", out.stdout);
    assert!(out.stdout.contains("/ # curl -s my-nginx | grep -c nginx\n6\n"), "{}", out.stdout);
    assert!(out.stdout.contains("saved 3 steps to"), "{}", out.stdout);
    let text = std::fs::read_to_string(&saved).expect("the shell wrote the scenario");
    assert!(text.contains("  - run: \"curl -s my-nginx | grep -c nginx\"\n    on: \"pod/my-nginx-b8cc68944-55npr\"\n    expect:\n      exit: 0\n      contains: \"6\"\n"), "{text}");
    let replay = netsim(&["run", saved.to_str().unwrap_or_default()]);
    assert_eq!(replay.code, 0, "{}{}", replay.stdout, replay.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn r16_hostile_input_names_the_limit_it_hit() {
    // A long invalid value is quoted cut, with its length.
    let dir = std::env::temp_dir().join(format!("netsim-ux-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let long = dir.join("long.yaml");
    let name = "A".repeat(100_000);
    std::fs::write(
        &long,
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  ports:\n  - port: 80\n"),
    )
    .expect("write");
    let out = netsim(&["kubectl", "-f", long.to_str().unwrap_or_default(), "get", "svc"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("\"... (100000 bytes, truncated): must be no more than 63 characters"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.len() < 2000, "stderr echoes the value: {} bytes", out.stderr.len());
    // The object budget counts workloads' pods and stops before the cluster is built.
    let out =
        netsim(&["kubectl", "-f", "scenarios/manifests/my-nginx.yaml", "--max-objects", "3", "get", "pods"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("more than --max-objects 3"), "{}", out.stderr);
    // Standard input is capped while it is read (a small cap stands in for the 1 GiB one).
    let piped = crate::support::netsim_with_input(&["kubectl", "-f", "-", "get", "svc"], "");
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn r16_diagrams_mark_where_nat_happened() {
    let args = |kind| {
        netsim(&[
            "trace",
            "-f",
            "scenarios/manifests/my-nginx.yaml",
            "--from",
            "client",
            "--to",
            "10.32.1.149:30380",
            "--diagram",
            kind,
        ])
    };
    let m = args("mermaid");
    assert!(
        m.stdout.contains("  Note over h1: DNAT 10.32.1.149#58;30380 -> 10.244.2.2#58;80\n"),
        "{}",
        m.stdout
    );
    assert!(
        m.stdout.contains("  Note over h1: un-DNAT 10.244.2.2#58;80 -> 10.32.1.149#58;30380\n"),
        "{}",
        m.stdout
    );
    let d = args("dot");
    assert!(
        d.stdout.contains("Flags [S]\\nDNAT 10.32.1.149:30380 -> 10.244.2.2:80\\nSNAT 10.32.1.200:52296 -> "),
        "{}",
        d.stdout
    );
}
