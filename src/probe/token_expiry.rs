//! `token_expiry`: when does a credential stop working (lesson 10)? It reads one credential
//! (an environment variable, a file, a field of a JSON file such as `~/.codex/auth.json`, a PEM
//! certificate, or the certificate a TLS endpoint presents), finds its expiry (JWT `exp`, a JSON
//! expiry field, epoch seconds or milliseconds, RFC 3339, X.509 notAfter) and judges the time
//! left. It must never reveal the credential: only its source (variable name or path), a
//! `sha256:` fingerprint, the expiry and, for certificates and JWTs, subject and issuer. It reads
//! JWT claims without verifying signatures and accepts any TLS certificate, because it only reads
//! dates; it never refreshes, rewrites or uses the credential.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::redact;
use crate::tokens::{expiry_of_value, from_epoch, jwt_claims, parse_epoch, parse_rfc3339};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_rustls::rustls;

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TokenExpiry {
    /// Source: environment variable holding the credential (the daemon's own environment).
    /// Exactly one of `env`, `file`, `pem_file`, `tls_endpoint` is required.
    env: Option<String>,
    /// Source: file holding the credential (whole file, trimmed), or a JSON file with `json_path`.
    /// Relative to the config file; `~/` allowed.
    file: Option<PathBuf>,
    /// With `file`: the file is a dotenv file (`KEY=value`, `export KEY=...`, quotes) and the
    /// credential is this key's value, e.g. "ANTHROPIC_AUTH_TOKEN".
    dotenv_key: Option<String>,
    /// An absent source (variable unset, file missing, dotenv key not set) is ok, not unknown.
    #[serde(default)]
    optional: bool,
    /// With `file`: JSONPath of the credential inside a JSON file, e.g. "$.tokens.access_token".
    /// It may select a string (a token, a date), a number (epoch) or an object (with an expiry
    /// field). Default none (the whole file is the credential).
    json_path: Option<String>,
    /// Source: PEM file; the first CERTIFICATE block's notAfter is the expiry (a DER file works
    /// too).
    pem_file: Option<PathBuf>,
    /// Source: "host:port" of a TLS server; the notAfter of the leaf certificate it presents.
    tls_endpoint: Option<String>,
    /// With `tls_endpoint`: the SNI name to send. Default the host part of `tls_endpoint`.
    server_name: Option<String>,
    /// How to read `env`/`file` credentials: "auto" (default: JWT, then JSON document, then epoch,
    /// then RFC 3339), "jwt", "json_field", "epoch" (seconds, or milliseconds above 1e12) or
    /// "rfc3339".
    #[serde(default)]
    format: Format,
    /// Name of the expiry field in a JSON document. Default: the first of `expires_at`, `expiry`,
    /// `exp`, `expires` that is present.
    field: Option<String>,
    /// Degraded when the credential expires within this, e.g. "3d". Default "7d".
    #[serde(default = "default_warn", deserialize_with = "crate::duration::de")]
    warn_before: Duration,
    /// Not configuration: the TLS client config for `tls_endpoint`, built at first use.
    #[serde(skip)]
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Format {
    #[default]
    Auto,
    Jwt,
    JsonField,
    Epoch,
    Rfc3339,
}

fn default_warn() -> Duration {
    Duration::from_secs(7 * 86_400)
}

/// Expiry field names tried, in order, when `field` is not set.
const EXPIRY_FIELDS: [&str; 4] = ["expires_at", "expiry", "exp", "expires"];

/// Credential files larger than this are not read (a credential is a few KiB at most).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// An expiry found in a credential.
struct Found {
    expires_at: DateTime<Utc>,
    /// What carried the date: "JWT", "JSON field expires_at", "certificate"...
    what: String,
    fingerprint: String,
    subject: Option<String>,
    issuer: Option<String>,
}

/// An expiry, what carried it ("JWT", "epoch time"...), and the claims when it was a JWT.
type Dated = (DateTime<Utc>, String, Option<Map<String, Value>>);

/// Why no expiry could be judged: `Unknown` (could not look) or `Critical` (endpoint down).
struct Fail {
    health: Health,
    why: String,
}

impl Fail {
    fn unknown(why: impl Into<String>) -> Self {
        Fail {
            health: Health::Unknown,
            why: why.into(),
        }
    }
    fn critical(why: impl Into<String>) -> Self {
        Fail {
            health: Health::Critical,
            why: why.into(),
        }
    }
}

impl Probe for TokenExpiry {
    const KIND: &'static str = "token_expiry";
    const SUMMARY: &'static str = "when a token, JWT, auth.json field or TLS certificate expires (never shows the credential)";
    const LESSONS: &'static [u32] = &[10];
    const EXAMPLE: &'static str = r#"[probe.codex_access_token]
lesson = 10
every = "1h"
# the Codex CLI login on the founder Mac; its refresh token is single-use, so a copied
# auth.json dies silently: warn before the access token runs out
file = "~/.codex/auth.json"
json_path = "$.tokens.access_token"
format = "jwt"
warn_before = "3d"
# other sources (exactly one per probe):
#   env = "ANTHROPIC_API_KEY"             # an OAuth/JWT token in the daemon's environment
#   file = "~/.hermes/.env"               # with dotenv_key = "GATEWAY_SESSION_TOKEN": a dotenv key
# optional = true: an absent variable, file or dotenv key is fine (not unknown)
#   pem_file = "/etc/ssl/certs/mcp.pem"    # a certificate file
#   tls_endpoint = "127.0.0.1:8443"        # the certificate a local TLS server presents
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        let sources = [
            self.env.is_some(),
            self.file.is_some(),
            self.pem_file.is_some(),
            self.tls_endpoint.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            bad.push(Invalid::new(
                "",
                "expected exactly one source: env, file, pem_file or tls_endpoint",
            ));
        }
        if self.env.as_deref() == Some("") {
            bad.push(Invalid::new("env", "expected an environment variable name"));
        }
        if let Some(k) = &self.dotenv_key {
            if self.file.is_none() {
                bad.push(Invalid::new("dotenv_key", "needs file"));
            }
            if self.json_path.is_some() {
                bad.push(Invalid::new(
                    "dotenv_key",
                    "set dotenv_key or json_path, not both",
                ));
            }
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                bad.push(Invalid::new(
                    "dotenv_key",
                    "expected a variable name, e.g. ANTHROPIC_AUTH_TOKEN",
                ));
            }
        }
        if self.optional && (self.pem_file.is_some() || self.tls_endpoint.is_some()) {
            bad.push(Invalid::new(
                "optional",
                "applies only to env and file sources",
            ));
        }
        if let Some(p) = &self.json_path {
            if self.file.is_none() {
                bad.push(Invalid::new("json_path", "needs file"));
            }
            if let Err(e) = super::expect::parse_path(p) {
                bad.push(Invalid::new(
                    "json_path",
                    format!("invalid JSONPath {p:?}: {e}"),
                ));
            }
        }
        if let Some(ep) = &self.tls_endpoint
            && split_endpoint(ep).is_none()
        {
            bad.push(Invalid::new(
                "tls_endpoint",
                "expected host:port, e.g. 127.0.0.1:8443",
            ));
        }
        if let Some(name) = &self.server_name {
            if self.tls_endpoint.is_none() {
                bad.push(Invalid::new("server_name", "needs tls_endpoint"));
            }
            if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
                bad.push(Invalid::new(
                    "server_name",
                    "expected a DNS name or IP address",
                ));
            }
        }
        let cert = self.pem_file.is_some() || self.tls_endpoint.is_some();
        if cert && self.format != Format::Auto {
            bad.push(Invalid::new(
                "format",
                "applies only to env and file sources",
            ));
        }
        if self.field.is_some() {
            if cert {
                bad.push(Invalid::new(
                    "field",
                    "applies only to env and file sources",
                ));
            } else if !matches!(self.format, Format::Auto | Format::JsonField) {
                bad.push(Invalid::new(
                    "field",
                    "applies only with format auto or json_field",
                ));
            }
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let source = self.source_label(cx);
        if self.optional
            && let Some(why) = self.absent(cx).await
        {
            return Observation::ok(format!("{why} (optional)"))
                .expected(self.expectation())
                .evidence("source", &source);
        }
        let found = match self.look(cx).await {
            Ok(f) => f,
            Err(f) => {
                return Observation::new(f.health, f.why)
                    .expected(self.expectation())
                    .evidence("source", &source);
            }
        };
        let remaining = found.expires_at - cx.now;
        let at = found.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let warn = TimeDelta::from_std(self.warn_before).unwrap_or(TimeDelta::MAX);
        let what = format!("{} from {source}", found.what);
        let mut obs = if remaining <= TimeDelta::zero() {
            Observation::critical(format!("{what} expired {} ago ({at})", human(-remaining)))
        } else if remaining < warn {
            Observation::degraded(format!(
                "{what} expires in {} ({at}), within warn_before {}",
                human(remaining),
                humantime::format_duration(self.warn_before)
            ))
        } else {
            Observation::ok(format!("{what} expires in {} ({at})", human(remaining)))
        };
        obs = obs.expected(self.expectation()).evidence("source", &source);
        if let Some(p) = &self.json_path {
            obs = obs.evidence("json_path", p);
        }
        if let Some(k) = &self.dotenv_key {
            obs = obs.evidence("dotenv_key", k);
        }
        obs = obs
            .evidence("format", &found.what)
            .evidence("fingerprint", &found.fingerprint)
            .evidence("expires_at", &at)
            .evidence(
                "remaining",
                if remaining <= TimeDelta::zero() {
                    format!("expired {} ago", human(-remaining))
                } else {
                    human(remaining)
                },
            );
        if let Some(s) = &found.subject {
            obs = obs.evidence("subject", s);
        }
        if let Some(i) = &found.issuer {
            obs = obs.evidence("issuer", i);
        }
        obs.metric("seconds_remaining", remaining.num_seconds() as f64)
    }
}

impl TokenExpiry {
    fn source_label(&self, cx: &ProbeCx<'_>) -> String {
        if let Some(v) = &self.env {
            format!("env {v}")
        } else if let Some(p) = &self.file {
            format!("file {}", cx.resolve(p).display())
        } else if let Some(p) = &self.pem_file {
            format!("pem_file {}", cx.resolve(p).display())
        } else if let Some(ep) = &self.tls_endpoint {
            format!("tls_endpoint {ep}")
        } else {
            "no source".into()
        }
    }

    /// Why the source is absent, when it is (for `optional`).
    async fn absent(&self, cx: &ProbeCx<'_>) -> Option<String> {
        if let Some(var) = &self.env {
            return std::env::var_os(var)
                .is_none()
                .then(|| format!("environment variable {var} is not set"));
        }
        let path = cx.resolve(self.file.as_ref()?);
        match crate::read::text_lossy_async(&path, MAX_FILE_BYTES).await {
            Err(crate::read::ReadError::Missing { .. }) => {
                Some(format!("{} does not exist", path.display()))
            }
            Ok(text) => {
                if let Some(jp) = &self.json_path {
                    // a JSON store without this token (a Hermes auth.json with no Codex login)
                    let doc: Value = serde_json::from_str(&text).ok()?;
                    let query = super::expect::parse_path(jp).ok()?;
                    return query
                        .query(&doc)
                        .is_empty()
                        .then(|| format!("{jp} is not set in {}", path.display()));
                }
                let key = self.dotenv_key.as_ref()?;
                (!crate::tokens::parse_dotenv(&text)
                    .iter()
                    .any(|(_, k, _)| k == key))
                .then(|| format!("{key} is not set in {}", path.display()))
            }
            Err(_) => None,
        }
    }

    fn expectation(&self) -> String {
        format!(
            "expires more than {} from now",
            humantime::format_duration(self.warn_before)
        )
    }

    async fn look(&self, cx: &ProbeCx<'_>) -> Result<Found, Fail> {
        if let Some(var) = &self.env {
            let text = match std::env::var(var) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => {
                    return Err(Fail::unknown(format!(
                        "environment variable {var} is not set"
                    )));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Fail::unknown(format!(
                        "environment variable {var} is not valid UTF-8"
                    )));
                }
            };
            return self.read_credential(text.trim()).map_err(Fail::unknown);
        }
        if let Some(p) = &self.file {
            let path = cx.resolve(p);
            let bytes = read_small(&path).await?;
            // parsing and registering the credential with the redactor are CPU work: off the
            // runtime's threads, so the probe's timeout fires on time whatever the file holds
            let me = self.clone();
            return super::blocking(move || me.read_file(&bytes, &path))
                .await
                .map_err(|o| Fail::unknown(o.summary))?
                .map_err(Fail::unknown);
        }
        if let Some(p) = &self.pem_file {
            let path = cx.resolve(p);
            let bytes = read_small(&path).await?;
            return cert_from_file(&bytes, &path).map_err(Fail::unknown);
        }
        if let Some(ep) = &self.tls_endpoint {
            let der = self.leaf_certificate(ep, cx.timeout).await?;
            return cert_info(&der).map_err(Fail::unknown);
        }
        Err(Fail::unknown("no source configured"))
    }

    /// The credential in a file's bytes: a dotenv key's value, the JSON value at `json_path`, or
    /// the whole file.
    fn read_file(&self, bytes: &[u8], path: &Path) -> Result<Found, String> {
        if let Some(key) = &self.dotenv_key {
            let text = String::from_utf8_lossy(bytes);
            let found = crate::tokens::parse_dotenv(&text)
                .into_iter()
                .rev()
                .find(|(_, k, _)| k == key);
            return match found {
                Some((_, _, v)) => self.read_credential(v.trim()),
                None => Err(format!("{key} is not set in {}", path.display())),
            };
        }
        match &self.json_path {
            Some(jp) => self.read_json_file(bytes, jp, path),
            None => self.read_credential(String::from_utf8_lossy(bytes).trim()),
        }
    }

    /// A credential given as text: detect its format and find its expiry.
    fn read_credential(&self, text: &str) -> Result<Found, String> {
        if text.is_empty() {
            return Err("credential is empty".into());
        }
        redact::register(text);
        let fingerprint = redact::fingerprint(text);
        let (expires_at, what, claims) = self.expiry_of_text(text)?;
        Ok(Found {
            expires_at,
            what,
            fingerprint,
            subject: claims.as_ref().and_then(|c| claim(c, "sub")),
            issuer: claims.as_ref().and_then(|c| claim(c, "iss")),
        })
    }

    fn read_json_file(&self, bytes: &[u8], jp: &str, path: &Path) -> Result<Found, String> {
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let query = super::expect::parse_path(jp).map_err(|e| format!("invalid json_path: {e}"))?;
        let Some(value) = query.query(&doc).first() else {
            return Err(format!(
                "json_path {jp} matched nothing in {}",
                path.display()
            ));
        };
        match value {
            Value::String(s) => self.read_credential(s.trim()),
            Value::Number(n) if matches!(self.format, Format::Auto | Format::Epoch) => Ok(Found {
                expires_at: n
                    .as_f64()
                    .and_then(from_epoch)
                    .ok_or_else(|| format!("{jp} is not a valid epoch time"))?,
                what: "epoch time".into(),
                fingerprint: redact::fingerprint(&n.to_string()),
                subject: None,
                issuer: None,
            }),
            Value::Object(o) if matches!(self.format, Format::Auto | Format::JsonField) => {
                let (expires_at, what) = self.expiry_of_object(o)?;
                Ok(Found {
                    expires_at,
                    what,
                    fingerprint: redact::fingerprint(&value.to_string()),
                    subject: None,
                    issuer: None,
                })
            }
            other => Err(format!(
                "json_path {jp} selected {}, which format {:?} cannot read",
                json_type(other),
                self.format
            )),
        }
    }

    /// Expiry, a name for what carried it, and the JWT claims if it was a JWT.
    fn expiry_of_text(&self, text: &str) -> Result<Dated, String> {
        let jwt = || -> Result<_, String> {
            let claims = jwt_claims(text).ok_or(
                "credential is not a JWT (expected three base64url parts with a JSON payload)",
            )?;
            let exp = claims
                .get("exp")
                .and_then(expiry_of_value)
                .ok_or("no expiry found in JWT payload (no exp claim)")?;
            Ok((exp, "JWT".to_string(), Some(claims)))
        };
        let json = || -> Result<_, String> {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(o)) => {
                    let (at, what) = self.expiry_of_object(&o)?;
                    Ok((at, what, None))
                }
                _ => Err("credential is not a JSON object".to_string()),
            }
        };
        let epoch = || {
            parse_epoch(text)
                .map(|t| (t, "epoch time".to_string(), None))
                .ok_or_else(|| "credential is not epoch seconds or milliseconds".to_string())
        };
        let rfc3339 = || {
            parse_rfc3339(text)
                .map(|t| (t, "RFC 3339 time".to_string(), None))
                .ok_or_else(|| "credential is not an RFC 3339 time".to_string())
        };
        match self.format {
            Format::Jwt => jwt(),
            Format::JsonField => json(),
            Format::Epoch => epoch(),
            Format::Rfc3339 => rfc3339(),
            Format::Auto => {
                if jwt_claims(text).is_some() {
                    jwt()
                } else if text.starts_with('{') {
                    json()
                } else {
                    epoch().or_else(|_| rfc3339()).map_err(|_| {
                        "no expiry found: the credential is not a JWT, a JSON document, \
                         epoch time or RFC 3339 time (opaque API keys carry no expiry)"
                            .to_string()
                    })
                }
            }
        }
    }

    fn expiry_of_object(&self, o: &Map<String, Value>) -> Result<(DateTime<Utc>, String), String> {
        let names: Vec<&str> = match &self.field {
            Some(f) => vec![f.as_str()],
            None => EXPIRY_FIELDS.to_vec(),
        };
        let Some((name, v)) = names.iter().find_map(|n| o.get(*n).map(|v| (*n, v))) else {
            return Err(format!(
                "no expiry found in JSON document (looked for {}; set field or json_path)",
                names.join(", ")
            ));
        };
        let at = expiry_of_value(v).ok_or_else(|| {
            format!(
                "field {name} is {}, expected epoch time or RFC 3339",
                json_type(v)
            )
        })?;
        Ok((at, format!("JSON field {name}")))
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.tls
            .get_or_init(|| {
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let algs = provider.signature_verification_algorithms;
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("tls setup: {e}"))?
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ReadOnlyVerifier(algs)))
                    .with_no_client_auth();
                Ok(Arc::new(config))
            })
            .clone()
    }

    /// The DER of the leaf certificate `endpoint` presents. Refused or timed out is critical
    /// (the endpoint is down); a failed handshake is unknown (we could not look).
    async fn leaf_certificate(&self, endpoint: &str, timeout: Duration) -> Result<Vec<u8>, Fail> {
        let host = self
            .server_name
            .clone()
            .or_else(|| split_endpoint(endpoint).map(|(h, _)| h.to_string()))
            .ok_or_else(|| Fail::unknown(format!("tls_endpoint {endpoint} is not host:port")))?;
        let name = rustls::pki_types::ServerName::try_from(host)
            .map_err(|e| Fail::unknown(format!("invalid server name: {e}")))?;
        let config = self.tls_config().map_err(Fail::unknown)?;
        let fetch = async {
            let tcp = tokio::net::TcpStream::connect(endpoint)
                .await
                .map_err(|e| connect_failure(endpoint, &e))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| Fail::unknown(format!("tls handshake with {endpoint} failed: {e}")))?;
            tls.get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec())
                .ok_or_else(|| Fail::unknown(format!("{endpoint} presented no certificate")))
        };
        tokio::time::timeout(timeout, fetch)
            .await
            .unwrap_or_else(|_| {
                Err(Fail::critical(format!(
                    "{endpoint}: timed out after {}",
                    humantime::format_duration(timeout)
                )))
            })
    }
}

/// Accepts every server certificate: this probe reads the certificate's dates and trusts
/// nothing it says. Handshake signatures are still checked, so the server holds the key.
#[derive(Debug)]
struct ReadOnlyVerifier(rustls::crypto::WebPkiSupportedAlgorithms);

impl rustls::client::danger::ServerCertVerifier for ReadOnlyVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn connect_failure(endpoint: &str, e: &std::io::Error) -> Fail {
    use std::io::ErrorKind;
    let why = match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused",
        ErrorKind::ConnectionReset => "connection reset",
        ErrorKind::TimedOut => "timed out",
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => "host unreachable",
        _ => return Fail::unknown(format!("cannot connect to {endpoint}: {e}")),
    };
    Fail::critical(format!("{endpoint}: {why}"))
}

/// `host:port` with a non-empty host and a numeric port; IPv6 hosts in brackets.
fn split_endpoint(ep: &str) -> Option<(&str, u16)> {
    let (host, port) = ep.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some((host, port))
}

/// A credential file through the bounded reader on the blocking pool: a FIFO or device is
/// refused without blocking, a file past `MAX_FILE_BYTES` is not a credential file.
async fn read_small(path: &Path) -> Result<Vec<u8>, Fail> {
    crate::read::bytes_async(path, MAX_FILE_BYTES)
        .await
        .map_err(|e| match e {
            crate::read::ReadError::TooLarge { .. } => Fail::unknown(format!(
                "{} is larger than {MAX_FILE_BYTES} bytes; not a credential file",
                path.display()
            )),
            e => Fail::unknown(format!("cannot read {}: {}", path.display(), e.reason())),
        })
}

/// The first CERTIFICATE block of a PEM file (or the file itself when it is DER).
fn cert_from_file(bytes: &[u8], path: &Path) -> Result<Found, String> {
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        match pem {
            Ok(p) if p.label == "CERTIFICATE" => return cert_info(&p.contents),
            Ok(_) => {}
            Err(e) => return Err(format!("invalid PEM in {}: {e}", path.display())),
        }
    }
    cert_info(bytes).map_err(|_| format!("no CERTIFICATE block in {}", path.display()))
}

fn cert_info(der: &[u8]) -> Result<Found, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("cannot parse certificate: {e}"))?;
    let expires_at = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .ok_or("certificate notAfter is out of range")?;
    Ok(Found {
        expires_at,
        what: "certificate".into(),
        fingerprint: der_fingerprint(der),
        subject: Some(redact::truncate(&cert.subject().to_string(), 200)),
        issuer: Some(redact::truncate(&cert.issuer().to_string(), 200)),
    })
}

/// `sha256:` and 8 hex digits of the DER: the same prefix `openssl x509 -fingerprint -sha256`
/// prints, in the format of `redact::fingerprint`.
fn der_fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn claim(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(|s| redact::truncate(s, 200))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// "29d 23h", "5h 12m", "4m 3s".
fn human(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, mins, secs) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if days >= 2 {
        format!("{days}d {hours}h")
    } else if s >= 3600 {
        format!("{}h {mins}m", s / 3600)
    } else {
        format!("{mins}m {secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look, one, put};
    use base64::Engine as _;

    /// A JWT with any signature; only the payload matters here.
    fn jwt(payload: Value) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.{}",
            e.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            e.encode(payload.to_string()),
            e.encode(b"not-a-real-signature")
        )
    }

    fn exp_in(days: i64) -> i64 {
        (Utc::now() + TimeDelta::days(days)).timestamp()
    }

    fn probe(src: &str) -> TokenExpiry {
        testkit::parse(src)
    }

    /// The observation, in every form it leaves the probe, never holds the secret.
    fn assert_never_shows(o: &Observation, secret: &str) {
        assert!(!format!("{o:?}").contains(secret), "{o:?}");
        assert!(!serde_json::to_string(o).unwrap().contains(secret));
    }

    #[tokio::test]
    async fn expired_jwt_is_critical_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let token =
            jwt(serde_json::json!({"sub": "agent-cs", "iss": "auth.example", "exp": exp_in(-3)}));
        let f = put(dir.path(), "token", &format!("{token}\n"));
        let o = look(&probe(&format!("file = {:?}", f.display().to_string()))).await;
        testkit::assert_starts(&o, Health::Critical, "JWT from file ");
        assert!(o.summary.contains("expired 3d"), "{}", o.summary);
        assert_eq!(one(&o, "fingerprint"), redact::fingerprint(&token));
        assert_eq!(one(&o, "subject"), "agent-cs");
        assert_eq!(one(&o, "issuer"), "auth.example");
        assert!(o.metrics[0].name == "seconds_remaining" && o.metrics[0].value < 0.0);
        assert_never_shows(&o, &token);
        // Not even the payload or signature part alone.
        for part in token.split('.') {
            assert_never_shows(&o, part);
        }
    }

    #[tokio::test]
    async fn jwt_from_env_expiring_in_30_days_is_ok() {
        let token = jwt(serde_json::json!({"exp": exp_in(30)}));
        let var = "LEDGERD_TEST_TOKEN_EXPIRY_JWT";
        // SAFETY: this variable is set once, only by this test, before any read of it.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(var, &token)
        };
        let o = look(&probe(&format!("env = \"{var}\""))).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(one(&o, "source"), format!("env {var}"));
        assert!(one(&o, "remaining").starts_with("29d") || one(&o, "remaining").starts_with("30d"));
        assert_never_shows(&o, &token);
    }

    #[tokio::test]
    async fn jwt_without_exp_and_opaque_keys_are_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let token = jwt(serde_json::json!({"sub": "x"}));
        let f = put(dir.path(), "token", &token);
        let o = look(&probe(&format!("file = {:?}", f.display().to_string()))).await;
        assert_eq!(o.health, Health::Unknown);
        assert_eq!(o.summary, "no expiry found in JWT payload (no exp claim)");
        assert_never_shows(&o, &token);

        let key = "sk-ant-api03-abcdefghijklmnop";
        let f = put(dir.path(), "key", key);
        let o = look(&probe(&format!("file = {:?}", f.display().to_string()))).await;
        testkit::assert_starts(&o, Health::Unknown, "no expiry found");
        assert_never_shows(&o, key);
    }

    #[tokio::test]
    async fn missing_env_or_file_is_unknown_naming_the_source() {
        let o = look(&probe("env = \"LEDGERD_TEST_SURELY_UNSET_TOKEN\"")).await;
        assert_eq!(o.health, Health::Unknown);
        assert_eq!(
            o.summary,
            "environment variable LEDGERD_TEST_SURELY_UNSET_TOKEN is not set"
        );
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("auth.json");
        let o = look(&probe(&format!(
            "file = {:?}\njson_path = \"$.tokens.access_token\"",
            missing.display().to_string()
        )))
        .await;
        assert_finding(&o, Health::Unknown, "no such file");
        assert_eq!(one(&o, "source"), format!("file {}", missing.display()));
    }

    #[tokio::test]
    async fn json_file_with_expires_at_in_milliseconds() {
        let dir = tempfile::tempdir().unwrap();
        let future = (Utc::now() + TimeDelta::days(60)).timestamp_millis();
        let past = (Utc::now() - TimeDelta::hours(2)).timestamp_millis();
        let ok = put(
            dir.path(),
            "ok.json",
            &format!(r#"{{"access_token": "opaque-secret-1234", "expires_at": {future}}}"#),
        );
        let o = look(&probe(&format!("file = {:?}", ok.display().to_string()))).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(one(&o, "format"), "JSON field expires_at");
        assert_never_shows(&o, "opaque-secret-1234");

        let bad = put(
            dir.path(),
            "bad.json",
            &format!(
                r#"{{"tokens": {{"access": {{"value": "opaque-secret-1234", "expiry": {past}}}}}}}"#
            ),
        );
        let o = look(&probe(&format!(
            "file = {:?}\njson_path = \"$.tokens.access\"",
            bad.display().to_string()
        )))
        .await;
        assert_finding(&o, Health::Critical, "expired 2h 0m ago");
        assert_never_shows(&o, "opaque-secret-1234");
    }

    #[tokio::test]
    async fn jwt_inside_a_codex_like_auth_json() {
        let dir = tempfile::tempdir().unwrap();
        let token = jwt(serde_json::json!({"exp": exp_in(5)}));
        let auth = serde_json::json!({"tokens": {"access_token": token, "refresh_token": "rt-secret-5678"}});
        let f = put(dir.path(), "auth.json", &auth.to_string());
        let o = look(&probe(&format!(
            "file = {:?}\njson_path = \"$.tokens.access_token\"\nformat = \"jwt\"",
            f.display().to_string()
        )))
        .await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert_eq!(one(&o, "json_path"), "$.tokens.access_token");
        assert_never_shows(&o, &token);
        assert_never_shows(&o, "rt-secret-5678");
    }

    #[tokio::test]
    async fn committed_expired_fixture_is_critical() {
        let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/creds/expired.jwt");
        let o = look(&probe(&format!(
            "file = {:?}\nformat = \"jwt\"",
            f.display().to_string()
        )))
        .await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert!(one(&o, "expires_at").starts_with("2020-"), "{o:?}");
    }

    /// A self-signed certificate (rcgen) whose notAfter is midnight UTC three days from now.
    fn cert_expiring_in_3_days() -> (rcgen::Certificate, rcgen::KeyPair) {
        use chrono::Datelike;
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ledgerd-test-mcp");
        let end = Utc::now() + TimeDelta::days(3);
        params.not_after = rcgen::date_time_ymd(end.year(), end.month() as u8, end.day() as u8);
        (params.self_signed(&key).unwrap(), key)
    }

    #[tokio::test]
    async fn pem_expiring_in_3_days_is_degraded() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = cert_expiring_in_3_days();
        // A key block first: the probe takes the first CERTIFICATE block.
        let f = put(
            dir.path(),
            "mcp.pem",
            &format!("{}{}", key.serialize_pem(), cert.pem()),
        );
        let o = look(&probe(&format!("pem_file = {:?}", f.display().to_string()))).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert!(one(&o, "subject").contains("ledgerd-test-mcp"));
        assert_eq!(one(&o, "fingerprint"), der_fingerprint(cert.der()));
        assert_never_shows(&o, &key.serialize_pem());

        let not_pem = put(dir.path(), "empty.pem", "nothing here\n");
        let o = look(&probe(&format!(
            "pem_file = {:?}",
            not_pem.display().to_string()
        )))
        .await;
        testkit::assert_starts(&o, Health::Unknown, "no CERTIFICATE block");
    }

    #[tokio::test]
    async fn tls_endpoint_expiring_in_3_days_is_degraded_and_down_is_critical() {
        let (cert, key) = cert_expiring_in_3_days();
        let server = crate::http_client::test_tls_server(&cert, &key);
        let acceptor = tokio_rustls::TlsAcceptor::from(server);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = acceptor.accept(tcp).await;
        });
        let o = look(&probe(&format!(
            "tls_endpoint = \"{addr}\"\nserver_name = \"localhost\""
        )))
        .await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert!(one(&o, "issuer").contains("ledgerd-test-mcp"));

        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = dead.local_addr().unwrap().port();
        drop(dead);
        let o = look(&probe(&format!("tls_endpoint = \"127.0.0.1:{port}\""))).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(o.summary, format!("127.0.0.1:{port}: connection refused"));
    }

    #[test]
    fn formats_are_detected() {
        let p = probe("env = \"X\"");
        let day = Utc::now() + TimeDelta::days(1);
        let secs = day.timestamp().to_string();
        let ms = day.timestamp_millis().to_string();
        let rfc = day.to_rfc3339();
        for (text, what) in [
            (secs.as_str(), "epoch time"),
            (ms.as_str(), "epoch time"),
            (rfc.as_str(), "RFC 3339 time"),
        ] {
            let (at, w, _) = p.expiry_of_text(text).unwrap();
            assert_eq!(w, what);
            assert_eq!(at.timestamp(), day.timestamp());
        }
        let p = probe("env = \"X\"\nformat = \"json_field\"\nfield = \"valid_until\"");
        let (_, w, _) = p
            .expiry_of_text(r#"{"valid_until": "2030-01-01T00:00:00Z"}"#)
            .unwrap();
        assert_eq!(w, "JSON field valid_until");
        assert!(p.expiry_of_text(r#"{"exp": 1}"#).is_err());
    }

    #[test]
    fn validate_rejects_conflicting_sources_and_bad_keys() {
        let keys = |src: &str| -> Vec<String> {
            toml::from_str::<TokenExpiry>(src)
                .unwrap()
                .validate()
                .into_iter()
                .map(|b| b.key)
                .collect()
        };
        assert_eq!(keys(""), [""]);
        assert_eq!(keys("env = \"A\"\nfile = \"b\""), [""]);
        assert_eq!(
            keys("env = \"A\"\njson_path = \"$.[\""),
            ["json_path", "json_path"]
        );
        assert_eq!(keys("tls_endpoint = \"localhost\""), ["tls_endpoint"]);
        assert_eq!(
            keys("pem_file = \"a.pem\"\nformat = \"jwt\"\nserver_name = \"x\""),
            ["server_name", "format"]
        );
        assert_eq!(
            keys("file = \"a\"\nformat = \"epoch\"\nfield = \"x\""),
            ["field"]
        );
        assert!(toml::from_str::<TokenExpiry>("env = \"A\"\nwarn_before = \"soon\"").is_err());
    }

    /// A token in a dotenv file (lesson 10 on a Hermes `.env`), and `optional` for absent sources.
    #[tokio::test]
    async fn dotenv_key_and_optional() {
        let d = tempfile::tempdir().unwrap();
        let token = jwt(serde_json::json!({"exp": exp_in(1)}));
        let env = put(
            d.path(),
            ".env",
            &format!("# keys\nOTHER=1\nexport ANTHROPIC_AUTH_TOKEN=\"{token}\"\n"),
        );
        let src = |key: &str, optional: bool| {
            format!(
                "file = \"{}\"\ndotenv_key = \"{key}\"\nwarn_before = \"3d\"\noptional = {optional}",
                env.display()
            )
        };
        let o = look(&probe(&src("ANTHROPIC_AUTH_TOKEN", false))).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert_eq!(one(&o, "dotenv_key"), "ANTHROPIC_AUTH_TOKEN");
        assert_never_shows(&o, &token);
        // a key that is not set: unknown, or ok when optional
        let o = look(&probe(&src("MISSING_TOKEN", false))).await;
        assert_finding(&o, Health::Unknown, "MISSING_TOKEN is not set");
        let o = look(&probe(&src("MISSING_TOKEN", true))).await;
        assert_finding(&o, Health::Ok, "(optional)");
        // a missing file, optional: ok; a present key, optional: judged as usual
        let gone = format!("file = \"{}/nope\"\noptional = true", d.path().display());
        assert_eq!(look(&probe(&gone)).await.health, Health::Ok);
        let o = look(&probe(&src("ANTHROPIC_AUTH_TOKEN", true))).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        // a JSON store without the token (auth.json with no Codex login): unknown, ok when optional
        let auth = put(d.path(), "auth.json", r#"{"version":1,"providers":{}}"#);
        let jp = |optional: bool| {
            format!(
                "file = \"{}\"\njson_path = \"$.providers['openai-codex'].tokens.access_token\"\nformat = \"jwt\"\noptional = {optional}",
                auth.display()
            )
        };
        assert_finding(
            &look(&probe(&jp(false))).await,
            Health::Unknown,
            "matched nothing",
        );
        assert_finding(&look(&probe(&jp(true))).await, Health::Ok, "(optional)");
        // not JSON at all is never taken for an absent token
        let junk = put(d.path(), "junk.json", "{not json");
        let o = look(&probe(&format!(
            "file = \"{}\"\njson_path = \"$.a\"\noptional = true",
            junk.display()
        )))
        .await;
        assert_ne!(o.health, Health::Ok, "{o:?}");
        let bad = testkit::invalid_keys::<TokenExpiry>("env = \"X\"\ndotenv_key = \"X\"");
        assert!(bad.iter().any(|k| k == "dotenv_key"));
    }
}
