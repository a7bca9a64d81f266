//! `email`: a plain-text mail over SMTP (lettre), STARTTLS required by default. Subject is the
//! alert's title, body the plain-text rendering, `Message-ID` derived from the outbox's
//! idempotency key so a retried message is recognisably the same one. SMTP 4xx and connection
//! failures are retryable, 5xx permanent. Formats and delivers only; the outbox retries. The
//! password is a `Secret` and never appears in an error.

use super::{Alert, Channel, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// Upgrade with STARTTLS or fail (the default).
    #[default]
    Required,
    /// Upgrade when the server offers STARTTLS, else send in plain text.
    Opportunistic,
    /// Plain text only: for a relay on the same machine.
    Never,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    /// SMTP server host name (also the name its certificate must carry). Required.
    host: String,
    /// SMTP port. Default 587 (submission).
    #[serde(default = "default_port")]
    port: u16,
    /// "required" (default), "opportunistic" or "never" (plain text; only for a relay on the same
    /// machine, and then without credentials unless the host is loopback).
    #[serde(default)]
    starttls: StartTls,
    /// SMTP AUTH user. Default none (no authentication).
    username: Option<String>,
    /// SMTP AUTH password (a secret; `password_file` works). Required with `username`.
    password: Option<Secret>,
    /// Sender, e.g. "ledgerd <ledgerd@example.org>". Required.
    from: String,
    /// Recipients, at least one. Required.
    to: Vec<String>,
    /// Text before the alert's title in the subject. Default "[ledgerd] ".
    #[serde(default = "default_prefix")]
    subject_prefix: String,
    /// PEM of the CA that signed a private relay's certificate (usually `tls_ca_file =
    /// "/etc/ledgerd/relay-ca.pem"`); when set, only this CA is trusted. Default: the system's
    /// trust store.
    tls_ca: Option<String>,
}

fn default_port() -> u16 {
    587
}

fn default_prefix() -> String {
    "[ledgerd] ".into()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `<ledgerd.7.12.ops@vps-1>`: the key's characters outside RFC 5322 atext become dots.
fn message_id(key: &str, host: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.+=".contains(c) {
                    c
                } else {
                    '.'
                }
            })
            .collect::<String>()
            .trim_matches('.')
            .to_string()
    };
    let right = clean(host);
    let right = if right.is_empty() {
        "ledgerd.invalid".to_string()
    } else {
        right
    };
    format!("<ledgerd.{}@{right}>", clean(key))
}

impl Email {
    fn mailboxes(&self) -> Result<(Mailbox, Vec<Mailbox>), Vec<Invalid>> {
        let mut problems = Vec::new();
        let from = self
            .from
            .parse::<Mailbox>()
            .map_err(|e| problems.push(Invalid::new("from", format!("not an address: {e}"))))
            .ok();
        let mut to = Vec::new();
        for (i, t) in self.to.iter().enumerate() {
            match t.parse::<Mailbox>() {
                Ok(m) => to.push(m),
                Err(e) => problems.push(Invalid::new(
                    format!("to[{i}]"),
                    format!("not an address: {e}"),
                )),
            }
        }
        match from {
            Some(f) if problems.is_empty() => Ok((f, to)),
            _ => Err(problems),
        }
    }

    fn tls_parameters(&self) -> Result<TlsParameters, String> {
        let mut b = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.tls_ca {
            use tokio_rustls::rustls::pki_types::{CertificateDer, pem::PemObject};
            let blocks = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("tls_ca: not a PEM certificate: {e}"))?;
            if blocks.is_empty() {
                return Err("tls_ca: no CERTIFICATE block in the PEM text".into());
            }
            let cert = Certificate::from_pem(pem.as_bytes())
                .map_err(|e| format!("tls_ca: not a PEM certificate: {e}"))?;
            b = b
                .certificate_store(CertificateStore::None)
                .add_root_certificate(cert);
        }
        b.build_rustls().map_err(|e| format!("TLS setup: {e}"))
    }

    /// The message for `alerts`; `key` becomes its Message-ID.
    pub fn message(&self, alerts: &[Alert], key: &str) -> Result<Message, SendError> {
        let (from, to) = self.mailboxes().map_err(|p| {
            SendError::permanent(
                p.into_iter()
                    .map(|i| format!("{}: {}", i.key, i.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let host = alerts.first().map(|a| a.host.as_str()).unwrap_or_default();
        let mut m = Message::builder()
            .from(from)
            .subject(format!(
                "{}{}",
                self.subject_prefix,
                render::group_title(alerts)
            ))
            .message_id(Some(message_id(key, host)))
            .header(ContentType::TEXT_PLAIN);
        for t in to {
            m = m.to(t);
        }
        m.body(render::group_body(alerts))
            .map_err(|e| SendError::permanent(format!("building the mail: {e}")))
    }
}

impl Channel for Email {
    const KIND: &'static str = "email";
    const SUMMARY: &'static str = "plain-text mail over SMTP with STARTTLS (lettre, rustls)";
    const EXAMPLE: &'static str = r#"[channel.mail]
host = "smtp.example.org"
port = 587
starttls = "required"
username = "ledgerd@example.org"
password = "${LEDGERD_SMTP_PASSWORD:-change-me}"   # or password_file = "/etc/ledgerd/smtp.password"
from = "ledgerd <ledgerd@example.org>"
to = ["ops@example.org"]
subject_prefix = "[ledgerd] "
# tls_ca_file = "/etc/ledgerd/relay-ca.pem"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut out = Vec::new();
        if self.host.trim().is_empty() {
            out.push(Invalid::new("host", "must not be empty"));
        }
        if self.to.is_empty() {
            out.push(Invalid::new("to", "name at least one recipient"));
        }
        if let Err(p) = self.mailboxes() {
            out.extend(p);
        }
        match (&self.username, &self.password) {
            (Some(_), None) => out.push(Invalid::new("password", "username needs a password")),
            (None, Some(_)) => out.push(Invalid::new("username", "password needs a username")),
            _ => {}
        }
        if self.username.is_some() && self.starttls == StartTls::Never && !is_loopback(&self.host) {
            out.push(Invalid::new(
                "starttls",
                "\"never\" would send the password in plain text to a remote host",
            ));
        }
        if self.tls_ca.is_some()
            && let Err(e) = self.tls_parameters()
        {
            out.push(Invalid::new("tls_ca", e));
        }
        out
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let message = self.message(alerts, cx.idempotency_key)?;
        let tls = match self.starttls {
            StartTls::Never => Tls::None,
            StartTls::Opportunistic => {
                Tls::Opportunistic(self.tls_parameters().map_err(SendError::permanent)?)
            }
            StartTls::Required => {
                Tls::Required(self.tls_parameters().map_err(SendError::permanent)?)
            }
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.as_str())
            .port(self.port)
            .tls(tls)
            .timeout(Some(cx.timeout));
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            b = b.credentials(Credentials::new(u.clone(), p.expose().to_string()));
        }
        let transport = b.build();
        let where_ = format!("SMTP {}:{}", self.host, self.port);
        let answer = transport.send(message).await.map_err(|e| {
            let text = format!("sending mail via {where_}: {e}");
            // never let a server's echo carry the password into a log or the store
            let text = match &self.password {
                Some(p) => crate::redact::redact(&text, &[p.expose()]),
                None => text,
            };
            if e.is_permanent() {
                SendError::permanent(text)
            } else {
                // 4xx, timeouts, refused connections, TLS handshakes: try again later
                SendError::retry(text)
            }
        })?;
        Ok(format!(
            "{where_}: {} {}",
            answer.code(),
            answer.first_line().unwrap_or_default()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::{refused_keys, sample_alert, send_cx};
    use crate::probe::testkit::assert_contains;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
    use tokio_rustls::rustls;

    const PASSWORD: &str = "smtp-pass-9f8e7d";

    /// What the fake server answers and offers.
    #[derive(Clone)]
    struct Plan {
        rcpt_reply: &'static str,
        tls: Option<Arc<rustls::ServerConfig>>,
    }

    /// Commands and messages the fake server received.
    #[derive(Default)]
    struct Seen {
        commands: Vec<String>,
        messages: Vec<String>,
        tls_used: bool,
    }

    /// A minimal SMTP server on 127.0.0.1:0 (one connection at a time, enough for lettre).
    async fn smtp_server(plan: Plan) -> (std::net::SocketAddr, Arc<Mutex<Seen>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                tcp.write_all(b"220 fake.test ESMTP\r\n").await.unwrap();
                let upgrade = session(&mut tcp, &plan, false, &seen2).await;
                if upgrade && let Some(cfg) = plan.tls.clone() {
                    let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        continue;
                    };
                    seen2.lock().unwrap().tls_used = true;
                    session(&mut tls, &plan, true, &seen2).await;
                }
            }
        });
        (addr, seen)
    }

    /// Serves commands until QUIT (false) or STARTTLS (true: the caller upgrades).
    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        s: &mut S,
        plan: &Plan,
        tls_active: bool,
        seen: &Mutex<Seen>,
    ) -> bool {
        let mut r = BufReader::new(s);
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                return false;
            }
            let cmd = line.trim_end().to_string();
            seen.lock().unwrap().commands.push(cmd.clone());
            let verb = cmd
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply: String = match verb.as_str() {
                "EHLO" | "HELO" => {
                    let mut caps = String::from("250-fake.test\r\n");
                    if plan.tls.is_some() && !tls_active {
                        caps.push_str("250-STARTTLS\r\n");
                    }
                    caps.push_str("250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
                    caps
                }
                "STARTTLS" => {
                    r.get_mut().write_all(b"220 go ahead\r\n").await.unwrap();
                    return true;
                }
                "AUTH" => "235 2.7.0 accepted\r\n".into(),
                "MAIL" | "RSET" | "NOOP" => "250 2.0.0 ok\r\n".into(),
                "RCPT" => format!("{}\r\n", plan.rcpt_reply),
                "DATA" => {
                    r.get_mut().write_all(b"354 go on\r\n").await.unwrap();
                    let mut msg = String::new();
                    loop {
                        let mut l = String::new();
                        if r.read_line(&mut l).await.unwrap_or(0) == 0 || l == ".\r\n" {
                            break;
                        }
                        msg.push_str(&l);
                    }
                    seen.lock().unwrap().messages.push(msg);
                    "250 2.0.0 queued as 42\r\n".into()
                }
                "QUIT" => {
                    let _ = r.get_mut().write_all(b"221 bye\r\n").await;
                    return false;
                }
                _ => "502 5.5.2 what\r\n".into(),
            };
            r.get_mut().write_all(reply.as_bytes()).await.unwrap();
        }
    }

    fn alert() -> Alert {
        Alert {
            expected: None,
            since: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            at: chrono::DateTime::from_timestamp(60, 0).unwrap(),
            incident: 3,
            ..sample_alert()
        }
    }

    fn channel(toml_text: &str) -> Result<Email, Vec<Invalid>> {
        super::super::parse_kind::<Email>(toml::from_str(toml_text).unwrap())
    }

    fn plain_channel(addr: std::net::SocketAddr) -> Email {
        channel(&format!(
            "host = \"127.0.0.1\"\nport = {}\nstarttls = \"never\"\nusername = \"ledgerd\"\npassword = \"{PASSWORD}\"\nfrom = \"ledgerd <ledgerd@vps-1.test>\"\nto = [\"ops@example.test\", \"Oncall <oncall@example.test>\"]",
            addr.port()
        ))
        .unwrap()
    }

    async fn send(ch: &Email) -> Result<String, SendError> {
        let http = crate::http_client::shared();
        ch.send(&send_cx(&http, "mail", "3:12:mail"), &[alert()])
            .await
    }

    #[tokio::test]
    async fn plain_relay_gets_headers_body_and_envelope() {
        let (addr, seen) = smtp_server(Plan {
            rcpt_reply: "250 2.1.5 ok",
            tls: None,
        })
        .await;
        let ch = plain_channel(addr);
        let receipt = send(&ch).await.unwrap();
        assert!(receipt.contains("250"), "{receipt}");
        let seen = seen.lock().unwrap();
        let cmds = seen.commands.join("\n");
        // AUTH: the credentials were used
        let sent = [
            "MAIL FROM:<ledgerd@vps-1.test>",
            "RCPT TO:<ops@example.test>",
            "RCPT TO:<oncall@example.test>",
            "AUTH ",
        ];
        assert_contains(&cmds, &sent);
        let msg = &seen.messages[0];
        // non-ASCII words of the title are RFC 2047 encoded; the ASCII words stay readable
        let says = [
            "Subject: [ledgerd] L14 ",
            "Cron is not your shell",
            "cron_env:agent-crontab on vps-1",
            "Message-ID: <ledgerd.3.12.mail@vps-1>",
            "Content-Type: text/plain",
            "From: ledgerd <ledgerd@vps-1.test>",
            "Observed: 1 job lacks SHOPIFY_TOKEN",
            "Fix (ledger): Source config",
        ];
        assert_contains(msg, &says);
        assert!(!msg.contains(PASSWORD));
        assert!(!format!("{ch:?}").contains(PASSWORD));
    }

    #[tokio::test]
    async fn smtp_4xx_is_retryable_5xx_permanent_refused_retryable() {
        for (reply, retryable) in [
            ("451 4.3.0 try again later", true),
            ("550 5.1.1 no such user", false),
        ] {
            let (addr, _) = smtp_server(Plan {
                rcpt_reply: reply,
                tls: None,
            })
            .await;
            let e = send(&plain_channel(addr)).await.unwrap_err();
            assert_eq!(e.retryable, retryable, "{reply}: {e:?}");
            assert!(!e.message.contains(PASSWORD), "{}", e.message);
        }
        // nothing listens: a connection error is retryable
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let e = send(&plain_channel(port)).await.unwrap_err();
        assert!(e.retryable, "{e:?}");
        assert!(!e.message.contains(PASSWORD));
    }

    #[tokio::test]
    async fn starttls_with_a_private_ca() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ledgerd test relay CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let server = crate::http_client::test_tls_server(&leaf, &key);
        let (addr, seen) = smtp_server(Plan {
            rcpt_reply: "250 ok",
            tls: Some(server),
        })
        .await;
        let base = format!(
            "host = \"127.0.0.1\"\nport = {}\nusername = \"ledgerd\"\npassword = \"{PASSWORD}\"\nfrom = \"ledgerd@vps-1.test\"\nto = [\"ops@example.test\"]\n",
            addr.port()
        );
        // trusted through tls_ca: delivered over TLS, AUTH only after the upgrade
        let ch = channel(&format!("{base}tls_ca = '''\n{}'''\n", ca.pem())).unwrap();
        send(&ch).await.unwrap();
        {
            let seen = seen.lock().unwrap();
            assert!(seen.tls_used);
            assert_eq!(seen.messages.len(), 1);
            let before_tls: Vec<&String> = seen
                .commands
                .iter()
                .take_while(|c| !c.eq_ignore_ascii_case("STARTTLS"))
                .collect();
            assert!(
                before_tls.iter().all(|c| !c.starts_with("AUTH")),
                "{before_tls:?}"
            );
        }
        // without the CA the certificate is not trusted: no mail, a retryable TLS error
        let ch = channel(&base).unwrap();
        let e = send(&ch).await.unwrap_err();
        assert!(e.retryable, "{e:?}");
        assert_eq!(seen.lock().unwrap().messages.len(), 1);
    }

    #[test]
    fn validation() {
        let keys = |t: &str| refused_keys(channel(t));
        let ok =
            "host = \"smtp.example.org\"\nfrom = \"a@example.org\"\nto = [\"b@example.org\"]\n";
        assert!(keys(ok).is_empty());
        assert_eq!(keys(&format!("{ok}username = \"u\"")), ["password"]);
        assert_eq!(
            keys(&format!(
                "{ok}username = \"u\"\npassword = \"p\"\nstarttls = \"never\""
            )),
            ["starttls"]
        );
        assert_eq!(
            keys("host = \"h\"\nfrom = \"not an address\"\nto = [\"b@example.org\", \"x\"]"),
            ["from", "to[1]"]
        );
        assert_eq!(keys(&format!("{ok}tls_ca = \"nope\"")), ["tls_ca"]);
        assert_eq!(message_id("3:12:ops", "vps-1"), "<ledgerd.3.12.ops@vps-1>");
        assert_eq!(
            message_id("0:test:x", ""),
            "<ledgerd.0.test.x@ledgerd.invalid>"
        );
    }
}
