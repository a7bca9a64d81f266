//! The web server's accept loop and connections: HTTP/1.1 through hyper with a header-read
//! timeout (`daemon.header_timeout`), an idle timeout on the socket (`daemon.idle_timeout`: no
//! byte either way), and a cap on open connections kept below the open-files limit
//! (`daemon.max_connections`; past it a new connection is closed at once). When `accept` fails
//! for want of file descriptors the daemon reports its own fault (`platform::note_fd_exhausted`,
//! `/healthz`, `/metrics`) and backs off instead of spinning. It must not route or render: the
//! `Router` from `web` answers every request.

use crate::config::WebLimits;
use crate::shared::Liveness;
use axum::Router;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// File descriptors kept free for probes, the store and delivery when capping connections.
pub const FD_RESERVE: usize = 64;

/// The connection cap in force: `max_connections`, lowered to the soft open-files limit less
/// `FD_RESERVE` when that is smaller.
pub fn effective_cap(max_connections: usize) -> usize {
    match open_files_limit() {
        Some(soft) => max_connections.min(soft.saturating_sub(FD_RESERVE).max(1)),
        None => max_connections,
    }
    .max(1)
}

/// The soft limit on open files (`/proc/self/limits`), where it can be read.
pub fn open_files_limit() -> Option<usize> {
    let text = crate::read::text(std::path::Path::new("/proc/self/limits"), 64 * 1024).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

pub async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: WebLimits,
    live: Arc<Liveness>,
    cancel: CancellationToken,
) {
    let cap = effective_cap(limits.max_connections);
    if cap < limits.max_connections {
        tracing::warn!(
            max_connections = limits.max_connections,
            cap,
            "daemon.max_connections lowered to stay below the open-files limit (raise LimitNOFILE)"
        );
    }
    let permits = Arc::new(Semaphore::new(cap));
    let mut last_refusal_log: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                live.accept_errors.fetch_add(1, Ordering::Relaxed);
                let fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
                if fds {
                    crate::platform::note_fd_exhausted();
                }
                if should_log(&mut last_refusal_log) {
                    tracing::error!(error = %e, out_of_file_descriptors = fds, "accepting a web connection failed (ledgerd's own fault, not a finding)");
                }
                // back off: the condition does not clear in a busy loop
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            live.connections_refused.fetch_add(1, Ordering::Relaxed);
            if should_log(&mut last_refusal_log) {
                tracing::warn!(%peer, cap, "web connection refused: daemon.max_connections open");
            }
            drop(stream);
            continue;
        };
        let (app, cancel, live) = (app.clone(), cancel.clone(), live.clone());
        tokio::spawn(async move {
            live.connections_open.fetch_add(1, Ordering::Relaxed);
            serve_one(stream, peer, app, limits, cancel).await;
            live.connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    // let open connections finish their answers, briefly
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(5), permits.acquire_many(all)).await;
}

/// At most one log line per 10 s for a repeating condition.
fn should_log(last: &mut Option<tokio::time::Instant>) -> bool {
    let now = tokio::time::Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(10)) {
        return false;
    }
    *last = Some(now);
    true
}

async fn serve_one(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: WebLimits,
    cancel: CancellationToken,
) {
    let app = app.layer(axum::Extension(axum::extract::ConnectInfo(peer)));
    let io = hyper_util::rt::TokioIo::new(Idle::new(stream, limits.idle_timeout));
    let svc = hyper_util::service::TowerToHyperService::new(app);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, svc);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

/// A socket closed with `TimedOut` when nothing was read or written for `timeout`.
struct Idle {
    inner: TcpStream,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Idle {
    fn new(inner: TcpStream, timeout: Duration) -> Idle {
        Idle {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn touch(&mut self) {
        let at = tokio::time::Instant::now() + self.timeout;
        self.deadline.as_mut().reset(at);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }

    /// What a read or write that returned `done` answers: progress restarts the idle clock,
    /// waiting past it is a `TimedOut` error.
    fn watch<T>(&mut self, cx: &mut Context<'_>, done: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match done {
            Poll::Ready(r) => {
                self.touch();
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "idle connection closed")
}

impl AsyncRead for Idle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let done = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.watch(cx, done)
    }
}

impl AsyncWrite for Idle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let done = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, done)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let done = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, done)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
