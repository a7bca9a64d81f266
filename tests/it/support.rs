//! Test support: the binary's path, temp homes, a loopback HTTP receiver that records what it is
//! sent, a daemon guard that stops the daemon on drop, and deadline-bounded polling.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ledgerd")
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Runs `ledgerd <args>` to completion with a clean-ish environment.
pub fn ledgerd(args: &[&str]) -> Output {
    ledgerd_env(args, &[])
}

pub fn ledgerd_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.args(args)
        .env_remove("LEDGERD_CONFIG")
        .env("NO_COLOR", "1")
        .env("LEDGERD_LOG", "info");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run ledgerd")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Polls `f` until it returns Some or the deadline passes.
pub fn wait_for<T>(what: &str, deadline: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A loopback HTTP server recording every request body (as JSON when it parses). `set_status`
/// changes its answer (e.g. 503 to simulate a broken receiver).
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    got: Arc<(Mutex<Vec<serde_json::Value>>, Condvar)>,
    status: Arc<Mutex<u16>>,
    reply: Arc<Mutex<(String, String)>>,
}

impl Receiver {
    /// Serves on 127.0.0.1:0 from a background thread with its own runtime.
    pub fn start() -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap())
    }

    pub fn start_on(addr: SocketAddr) -> Receiver {
        let listener = std::net::TcpListener::bind(addr).expect("bind receiver");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let r = Receiver {
            addr,
            got: Arc::new((Mutex::new(Vec::new()), Condvar::new())),
            status: Arc::new(Mutex::new(200)),
            reply: Arc::new(Mutex::new((
                "application/json".into(),
                "{\"ok\":true}".into(),
            ))),
        };
        let r2 = r.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
                    let r = r2.clone();
                    async move {
                        let status = *r.status.lock().unwrap();
                        if status < 300 {
                            let v = serde_json::from_slice(&body).unwrap_or_else(|_| {
                                serde_json::Value::String(
                                    String::from_utf8_lossy(&body).into_owned(),
                                )
                            });
                            let (lock, cv) = &*r.got;
                            lock.lock().unwrap().push(v);
                            cv.notify_all();
                        }
                        let (ct, text) = r.reply.lock().unwrap().clone();
                        (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            [(axum::http::header::CONTENT_TYPE, ct)],
                            text,
                        )
                    }
                });
                axum::serve(listener, app).await.unwrap();
            });
        });
        r
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set_status(&self, s: u16) {
        *self.status.lock().unwrap() = s;
    }

    pub fn set_reply(&self, content_type: &str, body: &str) {
        *self.reply.lock().unwrap() = (content_type.into(), body.into());
    }

    pub fn received(&self) -> Vec<serde_json::Value> {
        self.got.0.lock().unwrap().clone()
    }

    /// Waits (condvar with deadline) until what arrived satisfies `done` (e.g. every expected
    /// lesson was told, in one grouped message or several).
    pub fn wait_until(
        &self,
        what: &str,
        deadline: Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let (lock, cv) = &*self.got;
        let end = Instant::now() + deadline;
        let mut g = lock.lock().unwrap();
        while !done(&g) {
            let left = end.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}: {:#?}", *g);
            g = cv.wait_timeout(g, left).unwrap().0;
        }
        g.clone()
    }

    /// Waits (condvar with deadline) until at least `n` requests arrived.
    pub fn wait_count(&self, n: usize, deadline: Duration) -> Vec<serde_json::Value> {
        let (lock, cv) = &*self.got;
        let end = Instant::now() + deadline;
        let mut g = lock.lock().unwrap();
        while g.len() < n {
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {n} deliveries, got {}: {:#?}",
                g.len(),
                *g
            );
            g = cv.wait_timeout(g, left).unwrap().0;
        }
        g.clone()
    }
}

/// A running `ledgerd run`; stopped with SIGTERM on drop.
pub struct Daemon {
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path, log: &Path) -> Daemon {
        Self::start_env(config, log, &[])
    }

    /// `start` with extra environment variables.
    pub fn start_env(config: &Path, log: &Path, env: &[(&str, &str)]) -> Daemon {
        let f = std::fs::File::create(log).unwrap();
        let child = Command::new(bin())
            .args(["run", "--config"])
            .arg(config)
            .env_remove("LEDGERD_CONFIG")
            .env("LEDGERD_LOG", "info,ledgerd=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(f)
            .spawn()
            .expect("start daemon");
        Daemon {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st.code();
            }
            if Instant::now() > end {
                let _ = c.kill();
                panic!("daemon did not stop within 20s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Blocking GET on loopback; returns (status, body).
pub fn get(url: &str) -> Option<(u16, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let r = reqwest::get(url).await.ok()?;
        let s = r.status().as_u16();
        Some((s, r.text().await.ok()?))
    })
}
