//! TLS as the simulated clients and servers use it: the handshake is not byte-encoded, and
//! nothing is encrypted. A client opens with a [`ClientHello`] record — the SNI name and
//! whether it will verify the certificate — then sends its HTTP request in clear; a server
//! that terminates TLS (the ingress-nginx controller on 443) answers with a [`ServerHello`]
//! naming the certificate it presents, then its HTTP response.
//!
//! Certificates are not simulated: a certificate is a subject and an issuer, either the
//! controller's own self-signed "Kubernetes Ingress Controller Fake Certificate" or the one
//! stored in a `kubernetes.io/tls` Secret (not decoded). No certificate in a simulated
//! cluster chains to a CA the client trusts, so a verifying client refuses every one (curl's
//! exit 60) and only `-k` gets through. A verifying client aborts the handshake after the
//! certificate, so the server is told in the hello that it will (`verify`), and then answers
//! the hello alone: the request is never processed, as in the real handshake. HTTP/2 (ALPN)
//! is not simulated: the TLS connection carries HTTP/1.1.

/// The record a [`ClientHello`] starts with (a TLS handshake record header, then a marker).
const CLIENT_HELLO: &[u8] = b"\x16\x03\x01netsim-client-hello ";
/// The record a [`ServerHello`] starts with.
const SERVER_HELLO: &[u8] = b"\x16\x03\x03netsim-server-hello ";

/// ingress-nginx's default certificate (`ssl.GetFakeSSLCert`: `O=Acme Co`, this CN, self-signed).
pub const FAKE_CERTIFICATE_SUBJECT: &str = "O=Acme Co; CN=Kubernetes Ingress Controller Fake Certificate";

/// What a client says in its first handshake message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    /// The server name (SNI); clients send none for an IP address.
    pub sni: Option<String>,
    /// The client will verify the certificate and abort the handshake if it fails.
    pub verify: bool,
}

impl ClientHello {
    /// The record followed by `payload` (the request sent once the handshake is done).
    pub fn wrap(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = CLIENT_HELLO.to_vec();
        out.extend_from_slice(
            format!("sni={} verify={}\r\n", self.sni.as_deref().unwrap_or(""), u8::from(self.verify))
                .as_bytes(),
        );
        out.extend_from_slice(payload);
        out
    }

    /// The hello and the bytes after it, or `None` for bytes that do not open with one.
    pub fn parse(bytes: &[u8]) -> Option<(ClientHello, &[u8])> {
        let rest = bytes.strip_prefix(CLIENT_HELLO)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&rest[..end]).ok()?;
        let mut hello = ClientHello { sni: None, verify: true };
        for kv in line.split(' ') {
            match kv.split_once('=') {
                Some(("sni", v)) if !v.is_empty() => hello.sni = Some(v.to_string()),
                Some(("verify", v)) => hello.verify = v == "1",
                _ => {}
            }
        }
        Some((hello, &rest[end + 2..]))
    }
}

/// The certificate a server presents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// Subject, as curl prints it (`O=Acme Co; CN=...`).
    pub subject: String,
    /// Issuer.
    pub issuer: String,
}

impl ServerHello {
    /// The controller's fake certificate.
    pub fn fake() -> ServerHello {
        ServerHello { subject: FAKE_CERTIFICATE_SUBJECT.into(), issuer: FAKE_CERTIFICATE_SUBJECT.into() }
    }

    /// The record followed by `payload` (the response).
    pub fn wrap(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = SERVER_HELLO.to_vec();
        out.extend_from_slice(format!("{}\t{}\r\n", self.subject, self.issuer).as_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// The hello and the bytes after it, or `None` when the answer is not a TLS handshake.
    pub fn parse(bytes: &[u8]) -> Option<(ServerHello, &[u8])> {
        let rest = bytes.strip_prefix(SERVER_HELLO)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&rest[..end]).ok()?;
        let (subject, issuer) = line.split_once('\t')?;
        Some((ServerHello { subject: subject.into(), issuer: issuer.into() }, &rest[end + 2..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hellos_round_trip() {
        let h = ClientHello { sni: Some("foo.example.com".into()), verify: false };
        let bytes = h.wrap(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(ClientHello::parse(&bytes), Some((h, &b"GET / HTTP/1.1\r\n\r\n"[..])));
        assert_eq!(ClientHello::parse(b"GET / HTTP/1.1\r\n\r\n"), None);
        let s = ServerHello::fake();
        let bytes = s.wrap(b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(ServerHello::parse(&bytes), Some((s, &b"HTTP/1.1 200 OK\r\n\r\n"[..])));
    }
}
