//! Which network tools a container image ships, by its reference: the one table `exec` asks
//! before it runs `ping`, `wget`, `nc`, `netstat`, `traceroute`, `ss` or `nslookup` in a pod.
//!
//! Three userlands cover the images the articles use. busybox-based images (`busybox`,
//! `alpine`, any `*alpine*` tag such as `nginx:1.27-alpine`, and `curlimages/curl` and the
//! ingress-nginx controller, which are built on Alpine) have busybox's applets: `wget`, `nc`, `ping`, `netstat`, `traceroute`,
//! `nslookup`, and no `ss`. `nicolaka/netshoot` is an Alpine toolbox whose packages replace
//! some applets: iputils `ping`, OpenBSD `nc`, iproute2 `ss`, the traceroute package, bind9's
//! `nslookup`, net-tools' `netstat` (not simulated), busybox's `wget`. Every other image is taken as Debian-based with
//! none of these installed (the nginx image installs neither iproute2, net-tools, iputils nor
//! wget), except that `nslookup` and `dig` (bind9's) work everywhere, as the DNS articles run
//! them in whatever pod they have. `curl` is not gated. Nodes and external hosts are Debian
//! machines with iputils, iproute2 and the traceroute package (not this table).

use super::ping::PingFlavour;
use super::traceroute::Flavour as TracerouteFlavour;
use crate::dns::command::NslookupImpl;

/// Which `nc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Netcat {
    /// busybox's applet.
    Busybox,
    /// OpenBSD netcat (Debian's netcat-openbsd; nodes have it too).
    OpenBsd,
}

/// The userland an image carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Userland {
    /// busybox's applets (busybox, alpine, `*alpine*` tags, curlimages/curl).
    Busybox,
    /// nicolaka/netshoot: iputils, iproute2, traceroute, bind9 tools.
    Netshoot,
    /// A Debian-based application image without network tools (nginx, agnhost, ...).
    Bare,
}

impl Userland {
    /// The userland of an image reference (`registry/repo/name:tag@digest`).
    pub fn of_image(image: &str) -> Userland {
        let without_digest = image.split('@').next().unwrap_or(image);
        let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
        let (repo, tag) = last.split_once(':').unwrap_or((last, "latest"));
        let path = without_digest.split(':').next().unwrap_or(without_digest);
        let path = path.strip_prefix("docker.io/").unwrap_or(path);
        // The ingress-nginx controller image is built on Alpine too.
        let alpine_based = path == "curlimages/curl" || path.ends_with("ingress-nginx/controller");
        if matches!(repo, "busybox" | "alpine") || tag.contains("alpine") || alpine_based {
            Userland::Busybox
        } else if path == "nicolaka/netshoot" {
            Userland::Netshoot
        } else {
            Userland::Bare
        }
    }

    /// The `ping` the image has.
    pub fn ping(self) -> Option<PingFlavour> {
        match self {
            Userland::Busybox => Some(PingFlavour::Busybox),
            Userland::Netshoot => Some(PingFlavour::Iputils),
            Userland::Bare => None,
        }
    }

    /// The `traceroute` the image has.
    pub fn traceroute(self) -> Option<TracerouteFlavour> {
        match self {
            Userland::Busybox => Some(TracerouteFlavour::Busybox),
            Userland::Netshoot => Some(TracerouteFlavour::Modern),
            Userland::Bare => None,
        }
    }

    /// The `nslookup` the image has (bind9's where no busybox provides one), taking busybox's
    /// to be ≥ 1.29 (what every current busybox and Alpine image carries).
    pub fn nslookup(self) -> NslookupImpl {
        match self {
            Userland::Busybox => NslookupImpl::Busybox,
            Userland::Netshoot | Userland::Bare => NslookupImpl::Bind9,
        }
    }

    /// The `nslookup` of an image, by its reference: the `busybox` image tagged with a
    /// version up to 1.28 (`busybox:1.28`, `busybox:1.28.4`, `busybox:1.27-glibc`) has the old
    /// applet, whose output the Kubernetes docs show; every other busybox userland the new one.
    pub fn nslookup_of_image(image: &str) -> NslookupImpl {
        match Userland::of_image(image).nslookup() {
            NslookupImpl::Busybox if busybox_version(image).is_some_and(|v| v <= (1, 28)) => {
                NslookupImpl::BusyboxLegacy
            }
            other => other,
        }
    }

    /// Whether the image has `wget` (busybox's: netshoot keeps the applet).
    pub fn has_wget(self) -> bool {
        matches!(self, Userland::Busybox | Userland::Netshoot)
    }

    /// The `nc` the image has.
    pub fn nc(self) -> Option<Netcat> {
        match self {
            Userland::Busybox => Some(Netcat::Busybox),
            Userland::Netshoot => Some(Netcat::OpenBsd),
            Userland::Bare => None,
        }
    }

    /// busybox's `netstat` applet (netshoot's net-tools `netstat` is another program).
    pub fn has_busybox_netstat(self) -> bool {
        self == Userland::Busybox
    }

    /// iproute2's `ss`.
    pub fn has_ss(self) -> bool {
        self == Userland::Netshoot
    }
}

/// The (major, minor) version in the tag of a `busybox` image (`busybox:1.28.4-uclibc`):
/// `None` for other images and for tags that name no version (`latest`, `musl`).
fn busybox_version(image: &str) -> Option<(u32, u32)> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (repo, tag) = last.split_once(':')?;
    if repo != "busybox" {
        return None;
    }
    let mut parts = tag.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_of_the_articles() {
        for image in [
            "busybox",
            "busybox:1.28",
            "busybox:1.36",
            "docker.io/library/alpine:3.19",
            "nginx:1.27-alpine",
            "curlimages/curl",
            "curlimages/curl:8.10.1",
            "docker.io/curlimages/curl:latest",
            "registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1",
        ] {
            assert_eq!(Userland::of_image(image), Userland::Busybox, "{image}");
        }
        assert_eq!(Userland::of_image("nicolaka/netshoot:v0.13"), Userland::Netshoot);
        for image in [
            "nginx",
            "nginx:1.27",
            "registry.k8s.io/e2e-test-images/agnhost:2.39",
            "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3",
            "gcr.io/google-samples/hello-app:1.0",
        ] {
            assert_eq!(Userland::of_image(image), Userland::Bare, "{image}");
        }
    }

    #[test]
    fn tools_follow_the_userland() {
        let bb = Userland::Busybox;
        assert_eq!(
            (bb.ping(), bb.nslookup(), bb.has_ss()),
            (Some(PingFlavour::Busybox), NslookupImpl::Busybox, false)
        );
        let ns = Userland::Netshoot;
        assert_eq!(
            (ns.ping(), ns.nslookup(), ns.has_ss()),
            (Some(PingFlavour::Iputils), NslookupImpl::Bind9, true)
        );
        assert!(!ns.has_busybox_netstat() && ns.has_wget());
        assert_eq!((bb.nc(), ns.nc()), (Some(Netcat::Busybox), Some(Netcat::OpenBsd)));
        let bare = Userland::Bare;
        assert_eq!((bare.ping(), bare.traceroute(), bare.nc(), bare.has_wget()), (None, None, None, false));
    }
}
