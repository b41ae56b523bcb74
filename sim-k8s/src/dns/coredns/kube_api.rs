//! The kubernetes plugin's client of the API server, as CoreDNS 1.11.1 runs it (client-go
//! v0.27.4): at start each informer's reflector LISTs its kind from the in-cluster address
//! (`KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT`, the `kubernetes` Service), and the
//! plugin counts as synced when every one has listed (`dnsControl.HasSynced`).
//!
//! The plugin's `onStart` (plugin/kubernetes/kubernetes.go `InitKubeCache`) blocks the servers'
//! start: it checks `HasSynced` every 100 ms, logs `waiting for Kubernetes API before starting
//! server` every 500 ms, and after 5 s logs `starting server with unsynced Kubernetes API` and
//! lets the servers start anyway. While unsynced, a name the plugin does not find is SERVFAIL
//! instead of NXDOMAIN (handler.go) and `ready` answers 503.
//!
//! A failed LIST is logged as client-go does (reflector.go `list`'s warning, utiltrace's
//! `Trace[N]` block when it took over 10 s, then `Failed to watch`), and tried again after the
//! reflector's back-off (`NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, 1.0)`: the wait
//! doubles from 800 ms up to 30 s, each draw jittered by up to 100 %, from a seeded stream).
//! The dial gives up after 30 s (the transport's `net.Dialer` timeout): `i/o timeout`.
//!
//! Departures: the informers share one connection (HTTP/2 multiplexes their requests), so one
//! TCP conversation stands for every reflector's LIST and one back-off for their retries; TLS
//! is not modelled (the request is plain HTTP, and any answer counts as the lists); after the
//! LIST the WATCH is not a connection (the plugin's view follows the API without packets, and
//! a later loss of the API server is not seen); a reload's new plugin instance is taken as
//! synced (it re-lists over the connection the old one had).

use std::net::SocketAddrV4;

use sim_core::{SimDuration, SimRng, SimTime};

/// How often `onStart` checks `HasSynced`.
pub const SYNC_CHECK: SimDuration = SimDuration::from_millis(100);
/// How often `onStart` logs that it is waiting.
pub const WAIT_LOG: SimDuration = SimDuration::from_millis(500);
/// How long `onStart` waits before the servers start unsynced.
pub const STARTUP_TIMEOUT: SimDuration = SimDuration::from_secs(5);
/// The transport's dial timeout (client-go's `net.Dialer{Timeout: 30 * time.Second}`).
pub const DIAL_TIMEOUT: SimDuration = SimDuration::from_secs(30);
/// utiltrace `LogIfLong` for a reflector's ListAndWatch.
const TRACE_THRESHOLD: SimDuration = SimDuration::from_secs(10);
/// The reflector back-off's first wait, cap and reset.
const BACKOFF_INITIAL: SimDuration = SimDuration::from_millis(800);
const BACKOFF_CAP: SimDuration = SimDuration::from_secs(30);
const BACKOFF_RESET: SimDuration = SimDuration::from_secs(120);

/// Where client-go's reflector logs from (`r.name`, the caller of `NewReflector`).
const REFLECTOR: &str = "pkg/mod/k8s.io/client-go@v0.27.4/tools/cache/reflector.go:231";

/// One informer: the type client-go names and the path its LIST reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reflector {
    /// `*v1.Service`.
    pub type_name: &'static str,
    /// `/api/v1/services`.
    pub path: &'static str,
}

/// The informers dnsControl runs, in the order `Run` starts them (the pod informer only with
/// `pods verified`).
pub fn reflectors(pods_verified: bool) -> Vec<Reflector> {
    let mut v = vec![
        Reflector { type_name: "*v1.Service", path: "/api/v1/services" },
        Reflector { type_name: "*v1.EndpointSlice", path: "/apis/discovery.k8s.io/v1/endpointslices" },
    ];
    if pods_verified {
        v.push(Reflector { type_name: "*v1.Pod", path: "/api/v1/pods" });
    }
    v.push(Reflector { type_name: "*v1.Namespace", path: "/api/v1/namespaces" });
    v
}

/// Why a LIST failed, as Go's net package words the dial's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListError {
    /// No answer to the SYNs within the dial timeout.
    Timeout,
    /// RST, or ICMP port unreachable (`ECONNREFUSED`).
    Refused,
    /// ICMP host unreachable or prohibited (`EHOSTUNREACH`).
    HostUnreachable,
    /// ICMP net unreachable, or no route (`ENETUNREACH`).
    NetUnreachable,
    /// The connection was reset after it opened.
    Reset,
}

impl ListError {
    fn words(self) -> &'static str {
        match self {
            ListError::Timeout => "i/o timeout",
            ListError::Refused => "connect: connection refused",
            ListError::HostUnreachable => "connect: no route to host",
            ListError::NetUnreachable => "connect: network is unreachable",
            ListError::Reset => "read: connection reset by peer",
        }
    }
}

/// Where the plugin's start stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Startup {
    /// `onStart` is waiting: the DNS servers do not listen yet.
    Waiting,
    /// The servers started (synced, or after the start-up timeout).
    Serving,
}

/// One CoreDNS process's kubernetes plugin client.
#[derive(Clone, Debug)]
pub struct KubeApiClient {
    /// The in-cluster address of the API (the `kubernetes` Service).
    pub api: SocketAddrV4,
    /// When the process started (`onStart`'s clock).
    pub started: SimTime,
    /// `onStart`'s state.
    pub startup: Startup,
    reflectors: Vec<Reflector>,
    synced: bool,
    /// The back-off's next base wait, and when the last wait began.
    backoff: SimDuration,
    last_backoff: Option<SimTime>,
    /// When the LIST in flight began.
    listing_since: SimTime,
    /// Jitter and trace ids.
    rng: SimRng,
    epoch_unix_secs: i64,
}

impl KubeApiClient {
    /// The client of a process started at `now`, listing `reflectors` from `api`.
    pub fn new(
        api: SocketAddrV4,
        reflectors: Vec<Reflector>,
        rng: SimRng,
        now: SimTime,
        epoch_unix_secs: i64,
    ) -> Self {
        KubeApiClient {
            api,
            started: now,
            startup: Startup::Waiting,
            reflectors,
            synced: false,
            backoff: BACKOFF_INITIAL,
            last_backoff: None,
            listing_since: now,
            rng,
            epoch_unix_secs,
        }
    }

    /// `dnsControl.HasSynced`: every informer has listed.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// The LIST request the connection carries (the first informer's; TLS is not modelled),
    /// sent at `now`.
    pub fn request(&mut self, now: SimTime) -> Vec<u8> {
        self.listing_since = now;
        let path = self.reflectors.first().map_or("/api/v1/services", |r| r.path);
        format!(
            "GET {path}?limit=500&resourceVersion=0 HTTP/1.1\r\nHost: {}\r\nUser-Agent: coredns/v0.0.0 \
             (linux/amd64) kubernetes/$Format\r\nAccept: application/json, */*\r\n\r\n",
            self.api
        )
        .into_bytes()
    }

    /// The LIST ended at `now`: the lines client-go logs, and how long until the next try
    /// (`None`: listed, the plugin is synced).
    pub fn listed(
        &mut self,
        now: SimTime,
        result: Result<(), ListError>,
    ) -> (Vec<String>, Option<SimDuration>) {
        let Err(err) = result else {
            self.synced = true;
            return (Vec::new(), None);
        };
        let took = now.saturating_since(self.listing_since);
        let mut lines = Vec::new();
        for r in &self.reflectors {
            let url = format!("https://{}{}?limit=500&resourceVersion=0", self.api, r.path);
            let why = format!("Get \"{url}\": dial tcp {}: {}", self.api, err.words());
            lines.push(format!(
                "[INFO] plugin/kubernetes: {REFLECTOR}: failed to list {}: {why}",
                r.type_name
            ));
            if took > TRACE_THRESHOLD {
                let id = self.rng.below(0, 1 << 31);
                let start = wall(self.epoch_unix_secs, self.listing_since);
                let end = wall(self.epoch_unix_secs, now);
                let ms = took.as_millis();
                lines.push(format!(
                    "[INFO] plugin/kubernetes: Trace[{id}]: \"Reflector ListAndWatch\" name:{REFLECTOR} ({}) \
                     (total time: {ms}ms):",
                    start.date_time()
                ));
                lines.push(format!("Trace[{id}]: ---\"Objects listed\" error:{why} {ms}ms ({})", end.time()));
                let d = super::super::server::go_duration(took);
                lines.push(format!("Trace[{id}]: [{d}] [{d}] END"));
            }
            lines.push(format!(
                "[ERROR] plugin/kubernetes: {REFLECTOR}: Failed to watch {}: failed to list {}: {why}",
                r.type_name, r.type_name
            ));
        }
        (lines, Some(self.next_backoff(now)))
    }

    /// exponentialBackoffManagerImpl `getNextBackoff` and `Backoff.Step` with jitter 1.0.
    fn next_backoff(&mut self, now: SimTime) -> SimDuration {
        if self.last_backoff.is_some_and(|t| now.saturating_since(t) > BACKOFF_RESET) {
            self.backoff = BACKOFF_INITIAL;
        }
        self.last_backoff = Some(now);
        let base = self.backoff;
        let doubled = SimDuration::from_nanos(base.as_nanos().saturating_mul(2));
        self.backoff = if doubled > BACKOFF_CAP { BACKOFF_CAP } else { doubled };
        // wait.Jitter(d, 1.0): d + rand.Float64() * d.
        let extra = self.rng.below(0, base.as_nanos().max(1));
        SimDuration::from_nanos(base.as_nanos() + extra)
    }
}

/// A wall-clock instant as Go's layouts print it.
struct Wall {
    y: i64,
    mon: u32,
    d: u32,
    h: i64,
    min: i64,
    s: i64,
    ms: u64,
}

impl Wall {
    /// `02-Jan-2006 15:04:05.000`.
    fn date_time(&self) -> String {
        let mon = crate::apiserver::naming::month_abbrev(self.mon);
        format!("{:02}-{mon}-{:04} {}", self.d, self.y, self.time())
    }

    /// `15:04:05.000`.
    fn time(&self) -> String {
        format!("{:02}:{:02}:{:02}.{:03}", self.h, self.min, self.s, self.ms)
    }
}

fn wall(epoch_unix_secs: i64, t: SimTime) -> Wall {
    let secs = epoch_unix_secs + t.as_secs() as i64;
    let (y, mon, d) = crate::apiserver::naming::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let ms = t.as_nanos() % 1_000_000_000 / 1_000_000;
    Wall { y, mon, d, h: rem / 3600, min: rem % 3600 / 60, s: rem % 60, ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> KubeApiClient {
        let api = SocketAddrV4::new([10, 96, 0, 1].into(), 443);
        KubeApiClient::new(api, reflectors(false), SimRng::new(7), SimTime::ZERO, 1_704_067_200)
    }

    #[test]
    fn a_timed_out_list_logs_each_reflector_as_client_go_does() {
        let mut c = client();
        let _ = c.request(SimTime::ZERO);
        let (lines, retry) = c.listed(SimTime::ZERO + SimDuration::from_secs(30), Err(ListError::Timeout));
        assert!(!c.synced());
        let retry = retry.unwrap_or_default();
        assert!(retry >= BACKOFF_INITIAL && retry < SimDuration::from_millis(1600), "{retry:?}");
        // Three informers, five lines each (the list took over 10 s: a trace).
        assert_eq!(lines.len(), 15);
        assert_eq!(
            lines[0],
            "[INFO] plugin/kubernetes: pkg/mod/k8s.io/client-go@v0.27.4/tools/cache/reflector.go:231: failed to \
             list *v1.Service: Get \"https://10.96.0.1:443/api/v1/services?limit=500&resourceVersion=0\": dial \
             tcp 10.96.0.1:443: i/o timeout"
        );
        assert!(lines[1].starts_with("[INFO] plugin/kubernetes: Trace["), "{}", lines[1]);
        assert!(lines[1].ends_with("(01-Jan-2024 00:00:00.000) (total time: 30000ms):"), "{}", lines[1]);
        assert!(lines[2].ends_with(" 30000ms (00:00:30.000)"), "{}", lines[2]);
        assert!(lines[3].ends_with(": [30s] [30s] END"), "{}", lines[3]);
        assert!(lines[4].starts_with("[ERROR] plugin/kubernetes: "), "{}", lines[4]);
        assert!(lines[4].contains("Failed to watch *v1.Service: failed to list *v1.Service: Get "));
        assert!(
            lines[5].contains("*v1.EndpointSlice: Get \"https://10.96.0.1:443/apis/discovery.k8s.io/v1/")
        );
        assert!(lines[10].contains("failed to list *v1.Namespace"));
    }

    #[test]
    fn a_refused_list_has_no_trace_and_backs_off_exponentially() {
        let mut c = client();
        let mut now = SimTime::ZERO;
        let mut bases = Vec::new();
        for _ in 0..8 {
            let _ = c.request(now);
            let (lines, retry) = c.listed(now, Err(ListError::Refused));
            assert_eq!(lines.len(), 6);
            assert!(lines[0].ends_with("dial tcp 10.96.0.1:443: connect: connection refused"));
            let wait = retry.unwrap_or_default();
            bases.push(wait);
            now += wait;
        }
        // 800 ms, 1.6 s, 3.2 s ... each jittered by less than its base; capped at 30 s (+30 s).
        for (i, w) in bases.iter().enumerate() {
            let base = (800u64 << i).min(30_000);
            assert!(w.as_millis() >= base && w.as_millis() < 2 * base, "{i}: {w:?}");
        }
        let (lines, retry) = c.listed(now, Ok(()));
        assert!(lines.is_empty() && retry.is_none() && c.synced());
    }

    #[test]
    fn pods_verified_adds_the_pod_informer() {
        let names: Vec<_> = reflectors(true).iter().map(|r| r.type_name).collect();
        assert_eq!(names, ["*v1.Service", "*v1.EndpointSlice", "*v1.Pod", "*v1.Namespace"]);
    }
}
