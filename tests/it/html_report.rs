//! The `--html` report rendered by a real browser: headless Chromium loads the page, runs its
//! script, and the DOM it dumps is checked — the topology drawn with the packet's path, each
//! hop's rules behind a click (opened here through the `#hop=T.P.H` address the click handler
//! shares), the transcript beside it. Without a `chromium` binary (apt package `chromium`;
//! `.ci/run` installs it) the browser half prints a notice and is skipped; the page's own
//! structure is still checked.

use std::path::PathBuf;
use std::process::Command;

use crate::support::netsim;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().map(|o| o.status.success()).unwrap_or(false))
}

fn out_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(name)
}

/// The DOM after the page's script ran, as Chromium serializes it.
fn dump_dom(browser: &str, page: &std::path::Path, fragment: &str) -> String {
    let stem = page.file_stem().and_then(|s| s.to_str()).unwrap_or("page");
    let profile = out_file(&format!("chromium-profile-{stem}-{}", std::process::id()));
    let url = format!("file://{}{fragment}", page.display());
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &url,
        ])
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The opening tag of the element with `id`.
fn tag_with_id<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element with id {id}"));
    let start = dom[..at].rfind('<').unwrap_or(0);
    let end = at + dom[at..].find('>').unwrap_or(0);
    &dom[start..=end]
}

#[test]
fn trace_html_report_draws_the_path_and_opens_a_hop_in_chromium() {
    let page = out_file("trace-nodeport.html");
    let o = netsim(&[
        "trace",
        "-f",
        "scenarios/manifests/my-nginx.yaml",
        "--from",
        "client",
        "--to",
        "10.32.1.149:30380",
        "--detail",
        "summary",
        "--html",
        page.to_str().unwrap_or_default(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let html = std::fs::read_to_string(&page).expect("the report is written");
    // Self-contained: no external script, style or image.
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "the page loads nothing");
    // The topology: the external host, every node with its bridge, the serving pod.
    for s in [
        "data-host=\"client\"",
        "data-host=\"master\"",
        "data-host=\"node01\"",
        "data-host=\"node02\"",
        "cni0 10.244.2.1/24",
        "data-host=\"my-nginx-b8cc68944-55npr\"",
    ] {
        assert!(html.contains(s), "missing {s}");
    }
    // The summary as the text prints it, and the transcript beside the drawing.
    assert!(html.contains("<dd data-field=\"server saw\"><code>10.244.2.1:3717</code></dd>"));
    assert!(html.contains("<pre class=\"transcript\">trace: host/client (10.32.1.200)"));

    let Some(browser) = chromium() else {
        eprintln!("notice: no chromium binary (apt-get install chromium): the browser checks are skipped");
        return;
    };
    let dom = dump_dom(browser, &page, "#hop=1.1.2");
    assert!(dom.contains("data-ready=\"true\""), "the page's script ran to its end");
    // Packet 1's path is drawn (client → node02 → the pod: three numbered hops, two arrows);
    // the other packets' paths are hidden.
    let path1 = &dom[dom.find("<g class=\"path\" data-packet=\"1\"").expect("packet 1's path")..];
    let path1 = &path1[..path1.find("</g>\n</g>").map_or(path1.len(), |e| e + 4)];
    assert_eq!(path1.matches("<line ").count(), 2, "{path1}");
    assert_eq!(path1.matches("class=\"step\"").count(), 3, "{path1}");
    assert!(tag_with_id(&dom, "trace-1").contains("data-shown-packet=\"1\""));
    assert!(dom.contains("<g class=\"path\" data-packet=\"2\" style=\"display: none;\">"));
    // Hop 2 of packet 1 (node02) is open, its rules shown, and node02 is marked on the drawing.
    let hop = tag_with_id(&dom, "t1-p1-h2");
    assert!(hop.contains(" open=\"\""), "{hop}");
    assert!(tag_with_id(&dom, "trace-1").contains("data-selected-hop=\"t1-p1-h2\""));
    assert!(dom.contains("<g class=\"host node on-path selected\" data-host=\"node02\">"));
    assert!(!tag_with_id(&dom, "t1-p1-h1").contains(" open"), "only the chosen hop is open");
    let rules_at = dom.find("id=\"t1-p1-h2\"").unwrap_or(0);
    assert!(dom[rules_at..].contains("-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/my-nginx\""));
    // Packet 2's hops are hidden while packet 1 is shown.
    let at = dom.find("<div class=\"packet\" data-packet=\"2\"").expect("packet 2's hops");
    assert!(dom[at..at + 60].contains("hidden=\"\""), "{}", &dom[at..at + 60]);
}

#[test]
fn scenario_html_report_has_each_trace_step_and_the_transcript() {
    let page = out_file("lab-004.html");
    let o = netsim(&[
        "run",
        "scenarios/labs/004-external-access/lab.yaml",
        "--html",
        page.to_str().unwrap_or_default(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let html = std::fs::read_to_string(&page).expect("the report is written");
    assert!(html.contains("<h1>netsim scenario: "), "{}", &html[..html.len().min(600)]);
    // One section per trace step of the lab, each with its drawing, then the whole transcript.
    assert_eq!(html.matches("<section class=\"trace\"").count(), 2);
    assert!(html.contains("id=\"topology-1\"") && html.contains("id=\"topology-2\""));
    assert!(html.contains("<section class=\"run\" id=\"transcript\">"));
    let Some(browser) = chromium() else {
        eprintln!("notice: no chromium binary (apt-get install chromium): the browser checks are skipped");
        return;
    };
    let dom = dump_dom(browser, &page, "#hop=2.1.1");
    assert!(dom.contains("data-ready=\"true\""), "the page's script ran to its end");
    assert!(tag_with_id(&dom, "t2-p1-h1").contains(" open=\"\""));
    // The first trace's section is untouched by a fragment naming the second's hop.
    assert!(!tag_with_id(&dom, "trace-1").contains("data-selected-hop"));
}
