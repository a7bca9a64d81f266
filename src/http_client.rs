//! The one shared `reqwest::Client`: keep-alive pool, connect and request timeouts, a user agent,
//! and the body-size caps (every body read from a receiver or the daemon API is capped). Every probe and channel uses this client (a tidy test forbids
//! `reqwest::Client::new` elsewhere). It must not interpret responses.

use std::time::Duration;

pub const USER_AGENT: &str = concat!("ledgerd/", env!("CARGO_PKG_VERSION"));

/// Options a probe may vary; the shared client covers the common case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientOptions {
    pub follow_redirects: bool,
    pub verify_tls: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            follow_redirects: true,
            verify_tls: true,
        }
    }
}

/// Builds a client. The daemon builds the default one once and shares it; probes that need
/// other redirect or TLS options build one with `build_with` once, at first use.
pub fn build_with(opts: ClientOptions) -> reqwest::Client {
    let redirect = if opts.follow_redirects {
        reqwest::redirect::Policy::limited(5)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .redirect(redirect)
        .tls_danger_accept_invalid_certs(!opts.verify_tls)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

pub fn shared() -> reqwest::Client {
    build_with(ClientOptions::default())
}

/// Most bytes of a receiver's answer (a channel's webhook, Alertmanager, a chat API) read: enough
/// for any error message; the rest is never read.
pub const RECEIVER_BODY_CAP: usize = 64 * 1024;

/// Most bytes of the daemon API's answer the command line reads.
pub const API_BODY_CAP: usize = 32 * 1024 * 1024;

/// A response body as text (lossy), at most `cap` bytes; the bool says it was cut. A body that
/// fails half way is what arrived.
pub async fn text_capped(resp: reqwest::Response, cap: usize) -> (String, bool) {
    match read_capped(resp, cap).await {
        Ok((b, cut)) => (String::from_utf8_lossy(&b).into_owned(), cut),
        Err(_) => (String::new(), false),
    }
}

/// " (answer cut at N bytes)" when `cut`, for receipts and errors.
pub fn cut_note(cut: bool, cap: usize) -> String {
    if cut {
        format!(" (answer cut at {cap} bytes)")
    } else {
        String::new()
    }
}

/// Reads at most `cap` bytes of a response body; the bool says whether the body was longer.
pub async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = cap.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A TLS server configuration presenting `cert` (signed for `key`), with the same crypto provider
/// as the client; for tests that stand up a TLS endpoint on 127.0.0.1.
#[cfg(test)]
pub fn test_tls_server(
    cert: &rcgen::Certificate,
    key: &rcgen::KeyPair,
) -> std::sync::Arc<tokio_rustls::rustls::ServerConfig> {
    use tokio_rustls::rustls;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    std::sync::Arc::new(server)
}
