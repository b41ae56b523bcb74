//! `netsim generate`: a synthetic cluster's manifests (`sim_k8s::synth`) on standard output or
//! in a file, for scale measurements anyone can rerun (`docs/performance.md`).

use std::path::PathBuf;

use clap::Args;
use sim_k8s::synth::{self, Shape, SynthSpec};

use super::exit;

/// Arguments of `netsim generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Nodes (the first is the control plane).
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// Services.
    #[arg(long, default_value_t = 100)]
    pub services: usize,
    /// Pods (or endpoints) in all, spread evenly over the services.
    #[arg(long, default_value_t = 1000)]
    pub pods: usize,
    /// What backs the services: `deployments` (pods made by the controllers),
    /// `endpointslices` (selector-less services, no pods) or `dump` (running pods with status
    /// and their EndpointSlices, as `kubectl get -o yaml` of a real cluster).
    #[arg(long, default_value = "deployments")]
    pub shape: String,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `netsim generate`.
pub fn run(a: GenerateArgs) -> u8 {
    let Some(shape) = Shape::parse(&a.shape) else {
        eprintln!(
            "error: invalid value '{}' for '--shape': expected deployments, endpointslices or dump",
            a.shape
        );
        return exit::INVALID;
    };
    let text = synth::manifests(&SynthSpec { nodes: a.nodes, services: a.services, pods: a.pods, shape });
    match &a.output {
        Some(p) => {
            if let Err(e) = std::fs::write(p, text) {
                eprintln!("{}: cannot write file: {e}", p.display());
                return exit::INVALID;
            }
        }
        None => print!("{text}"),
    }
    exit::OK
}
