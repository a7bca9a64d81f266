//! Wires the running daemon: store, recorder thread, outbox worker, scheduler, web server,
//! signals and reload. SIGTERM/SIGINT: stop scheduling, let in-flight probes finish within a
//! deadline, flush the store, exit 0. SIGHUP or a changed config file: validate, then swap; an
//! invalid config is logged and the last good one keeps running. It must not hold probe,
//! alert or HTTP-route logic itself.

use crate::config::{self, Config};
use crate::engine::recorder::Recorder;
use crate::engine::scheduler::{self, Priors, Recorded};
use crate::shared::{Liveness, Shared};
use crate::store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long in-flight probes may run after SIGTERM.
pub const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("installing signal handlers: {0}")]
    Signals(std::io::Error),
    #[error(
        "the probe scheduler stopped unexpectedly ({0}); exiting so the service manager restarts ledgerd"
    )]
    SchedulerDied(String),
}

/// Runs the daemon until SIGTERM/SIGINT (or the scheduler dies): store, recorder thread,
/// delivery tasks, web server, then the supervising loop; on the way out, flushes the recorder and
/// makes one last delivery pass.
pub async fn run(config: Config, config_path: Option<PathBuf>) -> Result<(), DaemonError> {
    let config = Arc::new(config);
    let state_dir = config.daemon.state_dir.clone();
    let (store, priors) = open_store(&state_dir)?;
    let recorder = Recorder::new(store, config.clone())?;
    let (config_tx, config_rx) = watch::channel(config.clone());
    let live = Arc::new(Liveness {
        store_ok: AtomicBool::new(true),
        started: AtomicI64::new(chrono::Utc::now().timestamp_millis()),
        ..Default::default()
    });
    let wake = Arc::new(Notify::new());
    let http = crate::http_client::shared();

    // recorder: a plain thread owning its SQLite connection; batches whatever is queued
    let (obs_tx, obs_rx) = mpsc::channel::<Recorded>(10_000);
    let rec_handle = {
        let (live, wake, cfg) = (live.clone(), wake.clone(), config_rx.clone());
        std::thread::Builder::new()
            .name("ledgerd-recorder".into())
            .spawn(move || recorder_loop(recorder, obs_rx, cfg, live, wake))
            .map_err(DaemonError::Signals)?
    };

    let cancel_all = CancellationToken::new();
    let delivery_tasks = spawn_delivery(&state_dir, &config_rx, &http, &wake, &cancel_all)?;

    // web
    let listener = tokio::net::TcpListener::bind(config.daemon.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: config.daemon.listen,
            source,
        })?;
    let shared = Arc::new(Shared {
        config: config_rx.clone(),
        live: live.clone(),
        store: std::sync::Mutex::new(Store::open_side(&state_dir)?),
        wake_outbox: wake.clone(),
    });
    let web_task = tokio::spawn(crate::web::serve(listener, shared, cancel_all.clone()));
    tracing::info!(listen = %config.daemon.listen, probes = config.probes.len(), channels = config.channels.len(), state_dir = %state_dir.display(), config = %config.origin.display(), "ledgerd running");

    let running = Running {
        config_path: config_path.as_deref(),
        http: &http,
        priors: &priors,
        obs_tx: &obs_tx,
        live: &live,
        config_tx: &config_tx,
    };
    let fatal = supervise(config, &running).await?;

    crate::platform::notify_stopping();
    tracing::info!("shutting down: flushing observations");
    drop(obs_tx);
    let _ = tokio::task::spawn_blocking(move || rec_handle.join()).await;
    // stop the outbox worker first (it finishes the send in progress), then one last delivery
    // pass for what the final batch queued: never two senders on one outbox
    cancel_all.cancel();
    for task in delivery_tasks {
        let _ = task.await;
    }
    if let Ok(store) = Store::open_side(&state_dir).map(std::sync::Mutex::new) {
        let cfg = config_rx.borrow().clone();
        let _ = tokio::time::timeout(
            Duration::from_secs(3),
            crate::delivery::outbox::deliver_due(&store, &cfg, &http),
        )
        .await;
    }
    let _ = web_task.await;
    if let Some(why) = fatal {
        return Err(DaemonError::SchedulerDied(why));
    }
    tracing::info!("stopped");
    Ok(())
}

/// Opens the store after PRAGMA quick_check: a damaged store is moved aside (never written
/// over), a fresh one is created, and the operator is told which file and why. Returns it with
/// the facts each probe last recorded (the scheduler's priors).
fn open_store(state_dir: &std::path::Path) -> Result<(Store, Priors), DaemonError> {
    let (store, damaged) = Store::open_checked(state_dir)?;
    if let Some(d) = &damaged {
        tracing::error!(file = %d.file.display(), moved_to = %d.moved_to.display(), why = %d.why, "the store is damaged: moved it aside and started a fresh one (history before now is in the moved file)");
    }
    let priors: Priors = Arc::new(std::sync::Mutex::new(
        store
            .states()?
            .into_iter()
            .filter_map(|r| r.facts.map(|f| (r.probe, f)))
            .collect::<HashMap<_, _>>(),
    ));
    Ok((store, priors))
}

/// Starts the delivery tasks: the outbox worker, the re-posts of still-firing alerts for receivers
/// that forget them (delivery::repost), and the digests. In that order, which is also the order
/// they are awaited at shutdown. They share one store connection (each locks it for a query at a
/// time and none holds it across an await): a SQLite connection keeps its own schema, lookaside
/// and page cache, so three would cost ~0.4 MB more for tasks that wake every few seconds.
fn spawn_delivery(
    state_dir: &std::path::Path,
    config_rx: &watch::Receiver<Arc<Config>>,
    http: &reqwest::Client,
    wake: &Arc<Notify>,
    cancel_all: &CancellationToken,
) -> Result<[tokio::task::JoinHandle<()>; 3], DaemonError> {
    let store = Arc::new(std::sync::Mutex::new(Store::open_side(state_dir)?));
    let outbox_task = tokio::spawn(crate::delivery::outbox::run(
        store.clone(),
        config_rx.clone(),
        http.clone(),
        wake.clone(),
        cancel_all.clone(),
    ));
    let repost_task = tokio::spawn(crate::delivery::repost::run(
        store.clone(),
        config_rx.clone(),
        wake.clone(),
        cancel_all.clone(),
    ));
    let digest_task = tokio::spawn(crate::delivery::digest::run(
        store,
        config_rx.clone(),
        wake.clone(),
        cancel_all.clone(),
    ));
    Ok([outbox_task, repost_task, digest_task])
}

/// What the supervising loop hands each scheduler and each reload.
struct Running<'a> {
    config_path: Option<&'a std::path::Path>,
    http: &'a reqwest::Client,
    priors: &'a Priors,
    obs_tx: &'a mpsc::Sender<Recorded>,
    live: &'a Arc<Liveness>,
    config_tx: &'a watch::Sender<Arc<Config>>,
}

/// Installs the signal handlers, tells the service manager it is ready, then runs the
/// scheduler until a stop signal, restarting it with the new config on each reload (SIGHUP or a
/// changed config file). Returns why the scheduler died, if it did (fatal).
async fn supervise(config: Arc<Config>, run: &Running<'_>) -> Result<Option<String>, DaemonError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;
    crate::platform::notify_ready();
    let mut watchdog = tokio::time::interval(
        crate::platform::watchdog_interval().unwrap_or(Duration::from_secs(3600)),
    );
    let mut file_check = tokio::time::interval(Duration::from_secs(2));
    let mut fingerprint = files_fingerprint(&config.files);
    let mut current = config;
    let live = run.live;

    loop {
        let sched_cancel = CancellationToken::new();
        let mut sched = tokio::spawn(scheduler::run(
            current.clone(),
            run.http.clone(),
            run.priors.clone(),
            run.obs_tx.clone(),
            sched_cancel.clone(),
            DRAIN,
        ));
        live.scheduler_running.store(true, Ordering::Release);
        let next = loop {
            tokio::select! {
                // the scheduler's death is fatal: /healthz answers 503 at once, and the daemon
                // shuts down and exits non-zero so that the service manager restarts it
                ended = &mut sched => {
                    live.scheduler_running.store(false, Ordering::Release);
                    let why = match ended {
                        Ok(()) => "it returned".to_string(),
                        Err(e) => e.to_string(),
                    };
                    tracing::error!(%why, "the scheduler stopped unexpectedly");
                    break Next::Died(why);
                }
                _ = term.recv() => break Next::Stop,
                _ = int.recv() => break Next::Stop,
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading config");
                    if let Some(c) = try_reload(run.config_path, &current) { current = c; break Next::Reload; }
                }
                _ = file_check.tick() => {
                    let fp = files_fingerprint(&current.files);
                    if fp != fingerprint {
                        fingerprint = fp;
                        tracing::info!("config file changed: reloading");
                        if let Some(c) = try_reload(run.config_path, &current) { current = c; break Next::Reload; }
                    }
                }
                _ = watchdog.tick() => {
                    if live.store_ok.load(Ordering::Acquire) {
                        crate::platform::notify_watchdog();
                    }
                }
            }
        };
        sched_cancel.cancel();
        if !matches!(next, Next::Died(_)) {
            let _ = sched.await;
        }
        live.scheduler_running.store(false, Ordering::Release);
        match next {
            Next::Reload => {}
            Next::Stop => return Ok(None),
            Next::Died(why) => return Ok(Some(why)),
        }
        fingerprint = files_fingerprint(&current.files);
        let _ = run.config_tx.send(current.clone());
        tracing::info!(probes = current.probes.len(), "config reloaded");
    }
}

/// Why the signal loop ended.
enum Next {
    Stop,
    Reload,
    /// The scheduler task ended on its own (a panic or a return): fatal.
    Died(String),
}

/// Loads and validates the config again; on errors logs every one and keeps the old config.
fn try_reload(path: Option<&std::path::Path>, current: &Config) -> Option<Arc<Config>> {
    let path = path.map(|p| p.to_path_buf()).or_else(|| config::find(None));
    let result = match &path {
        Some(p) => config::load_file(p),
        None => config::load_embedded(),
    };
    match result {
        Ok(mut c) => {
            // the audited tree (`--root` or daemon.root) is kept until a restart, like listen
            if c.daemon.root != current.daemon.root {
                if c.daemon.root.is_some() {
                    tracing::warn!("daemon.root changes take effect after a restart");
                }
                c.daemon.root = current.daemon.root.clone();
            }
            if c.daemon.listen != current.daemon.listen
                || c.daemon.state_dir != current.daemon.state_dir
            {
                tracing::warn!(
                    "daemon.listen and daemon.state_dir changes take effect after a restart"
                );
            }
            Some(Arc::new(c))
        }
        Err(errors) => {
            for e in &errors.0 {
                tracing::error!(error = %e, "config reload rejected");
            }
            tracing::error!(
                count = errors.0.len(),
                "config reload rejected; still running the last good config"
            );
            None
        }
    }
}

/// Cheap change detection for the config files: size, mtime and a content hash.
fn files_fingerprint(files: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        if let Ok(bytes) = std::fs::read(f) {
            bytes.hash(&mut h);
        }
    }
    h.finish()
}

fn recorder_loop(
    mut recorder: Recorder,
    mut rx: mpsc::Receiver<Recorded>,
    mut config: watch::Receiver<Arc<Config>>,
    live: Arc<Liveness>,
    wake: Arc<Notify>,
) {
    let mut last_prune = 0i64;
    let mut batch = Vec::with_capacity(1024);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        // the rest of the burst (a slot's runs answer within milliseconds of each other) is
        // taken in the same transaction: one wakeup and one commit per burst, not per run
        std::thread::sleep(scheduler::FLUSH);
        while batch.len() < 4096 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        if config.has_changed().unwrap_or(false) {
            recorder.set_config(config.borrow_and_update().clone());
        }
        match recorder.record(&batch) {
            Ok(outcome) => {
                live.store_ok.store(true, Ordering::Release);
                live.last_write
                    .store(chrono::Utc::now().timestamp_millis(), Ordering::Release);
                live.observations
                    .fetch_add(outcome.observations as i64, Ordering::AcqRel);
                for r in &batch {
                    let ok_at = r.obs.health.is_ok().then(|| r.started.timestamp_millis());
                    live.runs.observe(&r.probe, r.duration, r.late, ok_at);
                }
                if outcome.queued > 0 {
                    wake.notify_one();
                }
            }
            Err(e) => {
                live.store_ok.store(false, Ordering::Release);
                if let Ok(mut m) = live.store_error.lock() {
                    *m = e.to_string();
                }
                tracing::error!(error = %e, lost = batch.len(), "writing observations to the store failed");
            }
        }
        batch.clear();
        let now = chrono::Utc::now().timestamp_millis();
        if now - last_prune > 3_600_000 {
            last_prune = now;
            match recorder.prune(now) {
                Ok(p) => {
                    tracing::debug!(
                        observations = p.observations,
                        rollups = p.rollups,
                        transitions = p.transitions,
                        outbox = p.outbox,
                        "pruned the store"
                    )
                }
                Err(e) => tracing::error!(error = %e, "pruning the store"),
            }
        }
    }
    if let Err(e) = recorder.flush() {
        tracing::error!(error = %e, "writing the last rollups");
    }
}
