//! Cluster DNS: what a pod sees when it resolves a name.
//!
//! Models the whole path of a lookup inside a Kubernetes cluster: the pod's `/etc/resolv.conf`
//! written by the kubelet ([`resolv_conf`]), the libc stub resolver walking the search list
//! ([`resolver`]), the DNS messages it sends as UDP payload to the kube-dns Service
//! ([`message`], [`name`]), CoreDNS answering from the cluster's Services and endpoints
//! ([`coredns`], [`view`]) as its Corefile configures it ([`corefile`]) and as it runs, reloads
//! and logs ([`server`]), the output of `nslookup`, `dig` and `getent` ([`tools`]; busybox's own
//! `nslookup`, which sends its queries itself: [`busybox_nslookup`]), and the
//! older discovery mechanism, docker-links environment variables ([`env`]).
//!
//! References: kubernetes/dns docs/specification.md, coredns/coredns plugin/kubernetes,
//! glibc resolv/res_query.c, musl src/network/lookup_name.c, bind9 bin/dig, kubelet
//! pkg/kubelet/network/dns and pkg/kubelet/envvars. Nothing here sends packets: the scenario
//! runner carries the encoded messages through the simulated dataplane, and the cluster runs
//! CoreDNS's forwarder and the upstream resolver hosts ([`upstream`]) as applications there
//! (`cluster/dns_apps.rs`).
//!
//! A lookup from a pod, with CoreDNS answering directly (the runner puts a real UDP packet to
//! the kube-dns Service IP in between):
//!
//! ```
//! use sim_k8s::dns::*;
//!
//! let mut view = ClusterDnsView::default();
//! view.services.push(
//!     DnsService::cluster_ip("default", "kubernetes", "10.96.0.1".parse().unwrap())
//!         .with_port("https", Protocol::Tcp, 443),
//! );
//! let config = CoreDnsConfig::default();
//! let coredns = CoreDns { config: &config, view: &view };
//! let conf = pod_resolv_conf(&KubeletDns::default(), "default", DnsPolicy::ClusterFirst, false, None).unwrap();
//! let result = StubResolver::new(ResolverFlavour::Bind9, &conf, "kubernetes", AddressFamily::Unspec, 1)
//!     .run(|q| match coredns.answer_bytes(&q.message.encode()) {
//!         Ok(bytes) => Message::decode(&bytes).map_or(QueryOutcome::Timeout, QueryOutcome::Response),
//!         Err(_) => QueryOutcome::Timeout,
//!     });
//! assert_eq!(
//!     tools::nslookup_bind9("10.96.0.10".parse().unwrap(), &result),
//!     "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n"
//! );
//! ```

pub mod busybox_nslookup;
pub mod command;
pub mod coredns;
pub mod corefile;
pub mod env;
pub mod hosts_file;
pub mod message;
pub mod name;
pub mod resolv_conf;
pub mod resolver;
pub mod server;
pub mod tools;
pub mod upstream;
pub mod view;

pub use coredns::{CoreDns, CoreDnsConfig, KUBEADM_COREFILE, PodMode, ServerDrop, Upstream};
pub use corefile::Corefile;
pub use message::{Message, RData, Rcode, Record, RecordType};
pub use name::Name;
pub use resolv_conf::{
    DnsPolicy, KubeletDns, PodDnsConfig, ResolvConf, pod_resolv_conf, pod_resolv_conf_with_events,
};
pub use resolver::{
    AddressFamily, LookupResult, LookupStatus, QueryOutcome, ResolverFlavour, Step, StubResolver, Transport,
};
pub use view::{ClusterDnsView, DnsEndpoint, DnsPod, DnsPort, DnsService, Protocol, ServiceType};
