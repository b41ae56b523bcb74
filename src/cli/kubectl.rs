//! `netsim kubectl -f PATH... ARGS...`: kubectl against a cluster built from manifests.

use clap::Args;

use super::cluster_args::{ClusterArgs, build};
use super::exit;

/// Arguments of `netsim kubectl`.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct KubectlArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The kubectl command line (`get svc -o wide`, `describe svc my-nginx`,
    /// `exec POD -- nslookup kubernetes`).
    #[arg(required = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Runs `netsim kubectl`.
pub fn run(a: KubectlArgs) -> u8 {
    let mut built = match build(&a.cluster) {
        Ok(b) => b,
        Err(code) => return code,
    };
    for n in &built.not_simulated {
        eprintln!("netsim: {n}");
    }
    let line = a
        .args
        .iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let out = built.cluster.kubectl_line(&line, std::path::Path::new("."));
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    if out.exit_code == 0 { exit::OK } else { exit::FAILED }
}
