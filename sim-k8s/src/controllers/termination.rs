//! How long a deleted pod's containers take to stop, as the kubelet's `killContainer` runs it
//! (pkg/kubelet/kuberuntime/kuberuntime_container.go): first the container's `preStop` hook,
//! then the image's stop signal (SIGTERM unless the image says otherwise), then SIGKILL when
//! `terminationGracePeriodSeconds` (counted from the deletion, hook included) runs out. What the
//! process does with the signal depends on the image:
//!
//! - nginx (the official image's `STOPSIGNAL SIGQUIT`, a graceful quit) and the echo servers
//!   exit within [`PROMPT_EXIT`];
//! - mysql/mariadb flush and shut down in [`MYSQL_EXIT`];
//! - client images (busybox, alpine, curl, ...) run `sleep` or a shell as PID 1, and PID 1 of a
//!   PID namespace gets no default signal action: SIGTERM is ignored, and the container lives
//!   until SIGKILL at the end of the grace period;
//! - any other image is taken to handle SIGTERM and exit within [`PROMPT_EXIT`].
//!
//! preStop hooks: `exec` running `sleep N` (directly or through `sh -c`), the `sleep` action
//! (`preStop: {sleep: {seconds: N}}`, KEP-3960) and `httpGet` (taken as instantaneous).
//! Left out: hooks that fail, a `sleep` inside a longer shell script, per-image STOPSIGNAL
//! overrides in the pod spec (KEP-4960).

use sim_core::SimDuration;

use crate::api::{Container, Pod};
use crate::apps::AppKind;

/// How long a process that handles its stop signal takes to exit.
pub const PROMPT_EXIT: SimDuration = SimDuration::from_millis(100);
/// How long mysqld takes to shut down cleanly.
pub const MYSQL_EXIT: SimDuration = SimDuration::from_secs(2);

/// How long the container's `preStop` hook runs.
pub fn pre_stop(c: &Container) -> SimDuration {
    let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.get("preStop")) else { return SimDuration::ZERO };
    if let Some(secs) = hook.get("sleep").and_then(|s| s.get("seconds")).and_then(|s| s.as_u64()) {
        return SimDuration::from_secs(secs);
    }
    let words: Vec<&str> = hook
        .get("exec")
        .and_then(|e| e.get("command"))
        .and_then(|c| c.as_array())
        .map(|a| a.iter().filter_map(|w| w.as_str()).collect())
        .unwrap_or_default();
    sleep_seconds(&words).map(SimDuration::from_millis).unwrap_or(SimDuration::ZERO)
}

/// `sleep N` (`N` in seconds, possibly fractional) as an argv, directly or as `sh -c "sleep N"`;
/// the duration in milliseconds.
fn sleep_seconds(argv: &[&str]) -> Option<u64> {
    let (first, rest) = argv.split_first()?;
    let base = first.rsplit('/').next().unwrap_or(first);
    match base {
        "sleep" => parse_seconds(rest.first()?),
        "sh" | "bash" | "ash" if rest.first() == Some(&"-c") => {
            let script: Vec<&str> = rest.get(1)?.split_whitespace().collect();
            sleep_seconds(&script)
        }
        _ => None,
    }
}

fn parse_seconds(s: &str) -> Option<u64> {
    let s = s.trim_end_matches('s');
    match s.split_once('.') {
        Some((a, b)) => {
            let whole: u64 = a.parse().ok()?;
            let frac = format!("{b:0<3}");
            let ms: u64 = frac.get(..3)?.parse().ok()?;
            Some(whole * 1000 + ms)
        }
        None => Some(s.parse::<u64>().ok()? * 1000),
    }
}

/// How long the container's process takes to exit once signalled, or `None` if it ignores the
/// signal (PID 1 without a handler) and waits for SIGKILL.
pub fn exit_after_signal(c: &Container) -> Option<SimDuration> {
    match AppKind::from_image(&c.image) {
        // hello-app is a Go server: the Go runtime's own SIGTERM handler makes even PID 1 exit.
        // The ingress-nginx controller stops nginx gracefully and exits (its deploy.yaml's
        // preStop hook `/wait-shutdown` is what holds it, as a hook).
        AppKind::Nginx
        | AppKind::EchoServer
        | AppKind::PhpEchoServer
        | AppKind::HelloApp { .. }
        | AppKind::IngressNginx
        | AppKind::GatewayFabric
        | AppKind::GatewayFabricNginx
        | AppKind::Generic(_) => Some(PROMPT_EXIT),
        AppKind::Mysql => Some(MYSQL_EXIT),
        AppKind::Client => None,
    }
}

/// How long after the deletion every container of `pod` has stopped, given the grace period:
/// the slowest container's hook plus its exit, each cut off at `grace` by SIGKILL. `exit`
/// may say how a container's process answers the signal (`Some`), else its image decides.
pub fn stop_after(
    pod: &Pod,
    grace: SimDuration,
    mut exit: impl FnMut(&Container) -> Option<Option<SimDuration>>,
) -> SimDuration {
    pod.spec
        .containers
        .iter()
        .map(|c| {
            let hook = pre_stop(c);
            match exit(c).unwrap_or_else(|| exit_after_signal(c)) {
                Some(exit) => (hook + exit).min(grace),
                None => grace,
            }
        })
        .max()
        .unwrap_or(SimDuration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(image: &str, lifecycle: Option<serde_json::Value>) -> Container {
        Container { image: image.into(), lifecycle, ..Default::default() }
    }

    #[test]
    fn hooks_and_signals() {
        let grace = SimDuration::from_secs(30);
        let nginx = container("nginx:1.27", None);
        assert_eq!(pre_stop(&nginx), SimDuration::ZERO);
        assert_eq!(exit_after_signal(&nginx), Some(PROMPT_EXIT));
        let hooked = container(
            "nginx",
            Some(serde_json::json!({"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 5"]}}})),
        );
        assert_eq!(pre_stop(&hooked), SimDuration::from_secs(5));
        let action = container("nginx", Some(serde_json::json!({"preStop": {"sleep": {"seconds": 7}}})));
        assert_eq!(pre_stop(&action), SimDuration::from_secs(7));
        let frac =
            container("nginx", Some(serde_json::json!({"preStop": {"exec": {"command": ["sleep", "1.5"]}}})));
        assert_eq!(pre_stop(&frac), SimDuration::from_millis(1500));
        assert_eq!(exit_after_signal(&container("busybox", None)), None);
        let mut pod = Pod::default();
        std::sync::Arc::make_mut(&mut pod.spec).containers = vec![hooked.clone()].into();
        assert_eq!(stop_after(&pod, grace, |_| None), SimDuration::from_secs(5) + PROMPT_EXIT);
        assert_eq!(stop_after(&pod, SimDuration::from_secs(2), |_| None), SimDuration::from_secs(2));
        std::sync::Arc::make_mut(&mut pod.spec).containers = vec![hooked, container("busybox", None)].into();
        assert_eq!(stop_after(&pod, grace, |_| None), grace, "sleep as PID 1 waits for SIGKILL");
    }
}
