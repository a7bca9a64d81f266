//! `probe_load`: the load benchmark of issue 2 item 11. It starts a keep-alive HTTP server on
//! loopback (in this process, on its own thread), writes a temp config with N `http` probes
//! against it, runs the real `ledgerd run` (the binary next to this one) as a child for a while,
//! and prints the child's CPU milliseconds per probe run over the steady-state window, its peak
//! RSS, and schedule lateness (p50/p99) read from the store. The server's CPU is this process's
//! and so is not counted. It must not touch anything but loopback and its own temp directory.
//!
//! Build and run (release profile): `cargo bench --bench probe_load -- --probes 1000 --seconds 60 --interval 10s`.
//! `--compare monit` then runs Debian's monit (`/usr/bin/monit`) on the same targets for the same
//! window and prints both in one table; `--slow-percent P` makes P% of the targets answer after
//! `--slow-ms` (2000) and reports the lateness of the other probes separately.

// a benchmark tool, not the product: unwrap/expect fail the run loudly
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::{Context, Result, bail};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Requests the loopback server has answered: the probe runs of either checker.
static REQUESTS: AtomicU64 = AtomicU64::new(0);
/// Targets `i` with `i % 100 < SLOW_PERCENT` answer after SLOW_MS.
static SLOW_PERCENT: AtomicU64 = AtomicU64::new(0);
static SLOW_MS: AtomicU64 = AtomicU64::new(2000);

fn is_slow(i: u64) -> bool {
    i % 100 < SLOW_PERCENT.load(Ordering::Relaxed)
}

const BODY: &str = r#"{"ok":true,"data":[1,2,3]}"#;

struct Args {
    probes: usize,
    seconds: u64,
    interval: Duration,
    keep: bool,
    compare_monit: bool,
    /// Another ledgerd binary to measure instead of this tree's (e.g. a copy of main's build,
    /// for a before/after pair under the same load).
    ledgerd: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        probes: 1000,
        seconds: 60,
        interval: Duration::from_secs(10),
        keep: false,
        compare_monit: false,
        ledgerd: None,
    };
    // `cargo test --all-targets` runs this with no arguments: a short smoke run (20 probes every
    // 2 s for 6 s) that proves the bench still drives the daemon; `cargo bench` passes --bench
    if std::env::args().len() == 1 {
        a.probes = 20;
        a.seconds = 6;
        a.interval = Duration::from_secs(2);
    }
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--probes" => a.probes = value()?.parse().context("--probes")?,
            "--seconds" => a.seconds = value()?.parse().context("--seconds")?,
            "--interval" => {
                a.interval = humantime::parse_duration(&value()?).context("--interval")?
            }
            "--keep" => a.keep = true,
            "--ledgerd" => a.ledgerd = Some(PathBuf::from(value()?)),
            // `cargo bench` passes --bench to every bench target
            "--bench" => {}
            "--compare" => match value()?.as_str() {
                "monit" => a.compare_monit = true,
                other => bail!("--compare {other:?}: only monit is known"),
            },
            "--slow-percent" => {
                let p: u64 = value()?.parse().context("--slow-percent")?;
                if p > 100 {
                    bail!("--slow-percent is at most 100");
                }
                SLOW_PERCENT.store(p, Ordering::Relaxed);
            }
            "--slow-ms" => SLOW_MS.store(value()?.parse().context("--slow-ms")?, Ordering::Relaxed),
            "-h" | "--help" => {
                println!(
                    "usage: cargo bench --bench probe_load -- [--probes N (1000)] [--seconds S (60)] [--interval D (10s)] [--keep]\n\
                     [--compare monit] [--slow-percent P (0)] [--slow-ms MS (2000)] [--ledgerd PATH]\n\
                     Runs the ledgerd binary next to this one against a loopback server and prints\n\
                     CPU ms per probe run, peak RSS and schedule lateness. --keep leaves the temp dir."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if a.probes == 0 || a.interval.is_zero() {
        bail!("--probes and --interval must be positive");
    }
    if a.seconds < 2 * a.interval.as_secs().max(1) {
        bail!("--seconds must be at least two intervals (the first one is warm-up)");
    }
    Ok(a)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    // cargo builds the `ledgerd` binary of the same profile before a bench and names it here.
    let ledgerd = args
        .ledgerd
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ledgerd")));
    if !ledgerd.exists() {
        bail!(
            "{} not found: run through `cargo bench --bench probe_load`",
            ledgerd.display()
        );
    }

    let server = start_server()?;
    let dir = temp_dir()?;
    let result = run(&args, &ledgerd, server, &dir);
    if args.keep {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// One checker's numbers over the steady-state window.
struct Row {
    name: String,
    runs: u64,
    cpu_ms: f64,
    hwm_kb: u64,
    vcsw: u64,
    /// lateness p50/p99/max of the probes on fast targets (ledgerd only: monit records none)
    late: Option<(i64, i64, i64)>,
}

impl Row {
    fn per_run(&self, v: f64) -> f64 {
        if self.runs > 0 {
            v / self.runs as f64
        } else {
            f64::NAN
        }
    }
}

/// CPU, answered requests and voluntary context switches at one instant.
struct Sample {
    cpu: f64,
    requests: u64,
    vcsw: u64,
    at: Instant,
    ts: i64,
}

fn sample(pid: u32) -> Result<Sample> {
    Ok(Sample {
        cpu: proc_cpu(pid)?,
        requests: REQUESTS.load(Ordering::Relaxed),
        vcsw: proc_vcsw(pid),
        at: Instant::now(),
        ts: unix_ms(),
    })
}

fn run(args: &Args, ledgerd: &Path, server: SocketAddr, dir: &Path) -> Result<()> {
    let mut rows = vec![run_ledgerd(args, ledgerd, server, dir)?];
    if args.compare_monit {
        rows.push(run_monit(args, server, dir)?);
    }
    println!();
    println!(
        "| checker | probe runs in window | CPU ms per probe run | peak RSS MB | voluntary ctx switches per run | lateness p50/p99 ms |"
    );
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        let late = r
            .late
            .map_or("n/a".to_string(), |(p50, p99, _)| format!("{p50} / {p99}"));
        println!(
            "| {} | {} | {:.3} | {:.1} | {:.2} | {late} |",
            r.name,
            r.runs,
            r.per_run(r.cpu_ms),
            r.hwm_kb as f64 / 1024.0,
            r.per_run(r.vcsw as f64),
        );
    }
    Ok(())
}

fn run_ledgerd(args: &Args, ledgerd: &Path, server: SocketAddr, dir: &Path) -> Result<Row> {
    let state_dir = dir.join("state");
    let listen = free_port()?;
    let config = dir.join("bench.toml");
    write_config(&config, args, server, listen, &state_dir)?;
    let log = std::fs::File::create(dir.join("ledgerd.log"))?;

    let launched = Instant::now();
    let child = Command::new(ledgerd)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .env("NO_COLOR", "1")
        .env_remove("LEDGERD_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", ledgerd.display()))?;
    let mut guard = ChildGuard(Some(child));
    let pid = guard.pid();

    // Ready when the dashboard port accepts connections; the scheduler starts with it.
    let ready_deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(listen).is_err() {
        if let Some(status) = guard.try_wait()? {
            bail!(
                "ledgerd exited early with {status}; log: {}",
                dir.join("ledgerd.log").display()
            );
        }
        if Instant::now() > ready_deadline {
            bail!("ledgerd did not listen on {listen} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ready = Instant::now();
    let startup = ready - launched;

    // Warm-up: the first interval spreads first runs over the interval and fills the pool.
    let end = ready + Duration::from_secs(args.seconds);
    let window_start = ready + args.interval;
    let mut peak_rss_kb = 0u64;
    sleep_until_sampling(window_start, pid, &mut peak_rss_kb)?;
    let s0 = sample(pid)?;
    let self0 = proc_cpu(std::process::id())?;
    sleep_until_sampling(end, pid, &mut peak_rss_kb)?;
    let s1 = sample(pid)?;
    let self1 = proc_cpu(std::process::id())?;
    let status = proc_status(pid)?;
    let hwm_kb = status.hwm_kb;
    peak_rss_kb = peak_rss_kb.max(status.rss_kb);

    // Runs started before ts1 may still be on their way to the store: let the recorder catch up.
    std::thread::sleep(Duration::from_millis(1500));
    let stats = read_store(&state_dir, s0.ts, s1.ts, args)?;

    let child = guard.0.take().context("child already gone")?;
    let exit = stop(child)?;

    let window_s = (s1.at - s0.at).as_secs_f64();
    let expected = args.probes as f64 * window_s / args.interval.as_secs_f64();
    let cpu_ms = (s1.cpu - s0.cpu) * 1000.0;
    let per_run = if stats.count > 0 {
        cpu_ms / stats.count as f64
    } else {
        f64::NAN
    };
    println!("ledgerd-bench: {}", ledgerd.display());
    println!("probes                 {}", args.probes);
    println!(
        "interval               {}",
        humantime::format_duration(args.interval)
    );
    let slow = SLOW_PERCENT.load(Ordering::Relaxed);
    if slow > 0 {
        println!(
            "slow targets           {slow}% answer after {} ms",
            SLOW_MS.load(Ordering::Relaxed)
        );
    }
    println!(
        "seconds                {} (startup {:.0} ms; steady window {:.1} s after one warm-up interval)",
        args.seconds,
        startup.as_secs_f64() * 1000.0,
        window_s
    );
    println!(
        "observations           {} in window (expected ~{:.0}); ok {}, other {}",
        stats.count,
        expected,
        stats.ok,
        stats.count - stats.ok
    );
    println!("cpu ms in window       {cpu_ms:.0} (ledgerd user+sys)");
    println!("cpu ms per probe run   {per_run:.3}");
    println!(
        "peak rss MB            {:.1} (VmHWM; max sampled VmRSS {:.1}; at the end anon {:.1} + file {:.1})",
        hwm_kb as f64 / 1024.0,
        peak_rss_kb as f64 / 1024.0,
        status.anon_kb as f64 / 1024.0,
        status.file_kb as f64 / 1024.0
    );
    println!(
        "lateness ms            p50 {} p99 {} max {}{}",
        stats.late_p50,
        stats.late_p99,
        stats.late_max,
        if slow > 0 {
            " (probes on fast targets)"
        } else {
            ""
        }
    );
    if slow > 0 {
        println!(
            "lateness ms, slow      p50 {} p99 {} max {} (the slow targets' own probes)",
            stats.slow_late_p50, stats.slow_late_p99, stats.slow_late_max
        );
    }
    println!(
        "run duration ms        p50 {} p99 {}",
        stats.dur_p50, stats.dur_p99
    );
    println!(
        "missed runs            {} probes with fewer runs than the window holds minus one",
        stats.starved
    );
    println!(
        "server cpu ms          {:.0} (this process: loopback server + sampling; excluded above)",
        (self1 - self0) * 1000.0
    );
    println!("sigterm exit           {exit}");
    if stats.count == 0 {
        bail!("no observations in the window");
    }
    if exit != 0 {
        bail!("ledgerd exited with {exit} after SIGTERM, expected 0");
    }
    Ok(Row {
        name: format!("ledgerd ({})", ledgerd.display()),
        runs: stats.count as u64,
        cpu_ms,
        hwm_kb,
        vcsw: s1.vcsw.saturating_sub(s0.vcsw),
        late: Some((stats.late_p50, stats.late_p99, stats.late_max)),
    })
}

/// Debian's monit on the same targets: one `check host` per probe with the same request and a
/// content check, `set daemon <interval>`, in the foreground (`-I`). Its probe runs are the
/// requests the server answered in the window.
fn run_monit(args: &Args, server: SocketAddr, dir: &Path) -> Result<Row> {
    let monit = Path::new("/usr/bin/monit");
    if !monit.exists() {
        bail!("--compare monit: /usr/bin/monit not found (apt-get install monit)");
    }
    let version = Command::new(monit).arg("-V").output()?;
    let version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or("monit")
        .replace("This is Monit version ", "monit ");
    let mdir = dir.join("monit");
    std::fs::create_dir_all(&mdir)?;
    let rc = mdir.join("monitrc");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&rc)?;
        let mut f = std::io::BufWriter::new(f);
        writeln!(
            f,
            "set daemon {}\nset logfile {m}/monit.log\nset pidfile {m}/monit.pid\n\
             set idfile {m}/monit.id\nset statefile {m}/monit.state\n",
            args.interval.as_secs().max(1),
            m = mdir.display()
        )?;
        for i in 0..args.probes {
            writeln!(
                f,
                "check host bench_{i:05} with address {ip}\n  if failed port {port} protocol http\n    \
                 request \"/health/{i}\" with content = \"data\"\n    with timeout 5 seconds then alert\n",
                ip = server.ip(),
                port = server.port()
            )?;
        }
        f.flush()?;
    }
    let log = std::fs::File::create(mdir.join("stderr.log"))?;
    let started = Instant::now();
    let child = Command::new(monit)
        .args(["-I", "-c"])
        .arg(&rc)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting monit")?;
    let mut guard = ChildGuard(Some(child));
    let pid = guard.pid();
    let end = started + Duration::from_secs(args.seconds);
    let window_start = started + args.interval;
    let mut peak_rss_kb = 0u64;
    sleep_until_sampling(window_start, pid, &mut peak_rss_kb)?;
    let s0 = sample(pid)?;
    sleep_until_sampling(end, pid, &mut peak_rss_kb)?;
    let s1 = sample(pid)?;
    let status = proc_status(pid)?;
    if let Some(st) = guard.try_wait()? {
        bail!(
            "monit exited with {st}: {}",
            mdir.join("stderr.log").display()
        );
    }
    let child = guard.0.take().context("monit already gone")?;
    let exit = stop(child)?;
    let failed = std::fs::read_to_string(mdir.join("monit.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("failed"))
        .count();
    let runs = s1.requests - s0.requests;
    let cpu_ms = (s1.cpu - s0.cpu) * 1000.0;
    println!();
    println!(
        "{version}: /usr/bin/monit -I, set daemon {}",
        humantime::format_duration(args.interval)
    );
    println!(
        "probe runs             {runs} requests answered in the {:.1} s window",
        (s1.at - s0.at).as_secs_f64()
    );
    println!("failed checks logged   {failed}");
    println!("cpu ms in window       {cpu_ms:.0} (monit user+sys)");
    println!(
        "peak rss MB            {:.1} (VmHWM; at the end anon {:.1} + file {:.1})",
        status.hwm_kb as f64 / 1024.0,
        status.anon_kb as f64 / 1024.0,
        status.file_kb as f64 / 1024.0
    );
    println!("sigterm exit           {exit}");
    if runs == 0 {
        bail!("monit made no requests in the window");
    }
    Ok(Row {
        name: version,
        runs,
        cpu_ms,
        hwm_kb: status.hwm_kb,
        vcsw: s1.vcsw.saturating_sub(s0.vcsw),
        late: None,
    })
}

/// Sleeps until `until`, sampling VmRSS about every 500 ms; fails if the child died.
fn sleep_until_sampling(until: Instant, pid: u32, peak_kb: &mut u64) -> Result<()> {
    loop {
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        let s = proc_status(pid).context("ledgerd died during the run")?;
        *peak_kb = (*peak_kb).max(s.rss_kb);
        std::thread::sleep((until - now).min(Duration::from_millis(500)));
    }
}

fn write_config(
    path: &Path,
    args: &Args,
    server: SocketAddr,
    listen: SocketAddr,
    state_dir: &Path,
) -> Result<()> {
    // ledgerd reads config files of at most 1 MiB: the probes go into included files of
    // PER_FILE probes each (10,000 probes are ~1.5 MB)
    const PER_FILE: usize = 2000;
    let dir = path.parent().context("config path without a folder")?;
    let every = humantime::format_duration(args.interval);
    let mut includes = Vec::new();
    for (n, chunk) in (0..args.probes)
        .collect::<Vec<_>>()
        .chunks(PER_FILE)
        .enumerate()
    {
        let name = format!("probes-{n}.toml");
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join(&name))?);
        for i in chunk {
            writeln!(
                f,
                "[probe.bench_{i:05}]\nkind = \"http\"\nlesson = 26\nevery = \"{every}\"\n\
                 url = \"http://{server}/health/{i}\"\n\
                 expect_json = [{{ path = \"$.data\", min_len = 1 }}]\n"
            )?;
        }
        f.flush()?;
        includes.push(format!("{name:?}"));
    }
    std::fs::write(
        path,
        format!(
            "[daemon]\nlisten = \"{listen}\"\nstate_dir = \"{}\"\ninclude = [{}]\n",
            state_dir.display(),
            includes.join(", ")
        ),
    )?;
    Ok(())
}

/// A minimal HTTP/1.1 keep-alive server: every request (no body expected) gets the same small
/// JSON. Runs on its own thread and current-thread runtime for the life of the process.
fn start_server() -> Result<SocketAddr> {
    let std_listener = TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                    return;
                };
                while let Ok((sock, _)) = listener.accept().await {
                    tokio::spawn(serve_conn(sock));
                }
            })
        })?;
    Ok(addr)
}

async fn serve_conn(mut sock: tokio::net::TcpStream) {
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = sock.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        // one answer per complete request head; a slow target's answer waits SLOW_MS
        let mut answers = Vec::new();
        while let Some(end) = find(&buf, b"\r\n\r\n") {
            answers.push(target_of(&buf[..end]).is_some_and(is_slow));
            buf.drain(..end + 4);
        }
        if buf.len() > 64 * 1024 {
            return; // not a client of ours
        }
        for slow in answers {
            if slow {
                tokio::time::sleep(Duration::from_millis(SLOW_MS.load(Ordering::Relaxed))).await;
            }
            if sock.write_all(response.as_bytes()).await.is_err() {
                return;
            }
            REQUESTS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `i` from a request line `GET /health/<i> HTTP/1.1`.
fn target_of(head: &[u8]) -> Option<u64> {
    let line = head.split(|b| *b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let path = line.split(' ').nth(1)?;
    path.strip_prefix("/health/")?.parse().ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn free_port() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

fn temp_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "ledgerd-bench-{}-{}",
        std::process::id(),
        unix_ms()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// utime + stime of a process (all its threads), in seconds.
fn proc_cpu(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc/<pid>/stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11).context("no utime")?.parse()?;
    let stime: u64 = f.get(12).context("no stime")?.parse()?;
    // SAFETY: sysconf has no preconditions.
    #[allow(unsafe_code)]
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let tck = if tck > 0 { tck as f64 } else { 100.0 };
    Ok((utime + stime) as f64 / tck)
}

/// Voluntary context switches of all live threads of `pid` (`/proc/<pid>/task/*/status`); a
/// thread that exited in the window takes its count with it, so this is a lower bound.
fn proc_vcsw(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

struct MemStatus {
    rss_kb: u64,
    hwm_kb: u64,
    /// Of VmRSS: anonymous memory (heap, stacks) and file pages (mostly the binary's code).
    anon_kb: u64,
    file_kb: u64,
}

fn proc_status(pid: u32) -> Result<MemStatus> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(MemStatus {
        rss_kb: kb("VmRSS:"),
        hwm_kb: kb("VmHWM:"),
        anon_kb: kb("RssAnon:"),
        file_kb: kb("RssFile:"),
    })
}

struct StoreStats {
    count: usize,
    ok: usize,
    late_p50: i64,
    late_p99: i64,
    late_max: i64,
    dur_p50: i64,
    dur_p99: i64,
    slow_late_p50: i64,
    slow_late_p99: i64,
    slow_late_max: i64,
    /// probes on fast targets with fewer runs in the window than it fully holds
    starved: usize,
}

fn read_store(state_dir: &Path, from_ms: i64, to_ms: i64, args: &Args) -> Result<StoreStats> {
    let db = state_dir.join("ledgerd.db");
    let conn = rusqlite::Connection::open_with_flags(
        &db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", db.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mut st = conn.prepare(
        "SELECT probe, late_ms, duration_ms, health FROM observations WHERE ts >= ?1 AND ts < ?2",
    )?;
    let mut late = Vec::new();
    let mut slow_late = Vec::new();
    let mut dur = Vec::new();
    let mut ok = 0;
    let mut per_probe = std::collections::HashMap::<u64, usize>::new();
    let rows = st.query_map([from_ms, to_ms], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (probe, l, d, h) = row?;
        let i: u64 = probe
            .strip_prefix("bench_")
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX);
        if is_slow(i) {
            slow_late.push(l);
        } else {
            late.push(l);
            *per_probe.entry(i).or_default() += 1;
        }
        dur.push(d);
        if h == "ok" {
            ok += 1;
        }
    }
    late.sort_unstable();
    slow_late.sort_unstable();
    dur.sort_unstable();
    let window = Duration::from_millis((to_ms - from_ms).max(0) as u64);
    let full = (window.as_secs_f64() / args.interval.as_secs_f64()).floor() as usize;
    let fast = (0..args.probes as u64).filter(|i| !is_slow(*i));
    let starved = fast
        .filter(|i| per_probe.get(i).copied().unwrap_or(0) + 1 < full.max(1))
        .count();
    Ok(StoreStats {
        count: late.len() + slow_late.len(),
        ok,
        late_p50: pct(&late, 50),
        late_p99: pct(&late, 99),
        late_max: late.last().copied().unwrap_or(0),
        dur_p50: pct(&dur, 50),
        dur_p99: pct(&dur, 99),
        slow_late_p50: pct(&slow_late, 50),
        slow_late_p99: pct(&slow_late, 99),
        slow_late_max: slow_late.last().copied().unwrap_or(0),
        starved,
    })
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[i64], p: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// SIGTERM, then wait up to 20 s (the daemon drains for at most 10 s); the exit code.
fn stop(mut child: Child) -> Result<i32> {
    // SAFETY: kill(2) on our own child's pid.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code().unwrap_or(-1));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("ledgerd did not exit within 20 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the child if the bench bails out early.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn pid(&self) -> u32 {
        self.0.as_ref().map(Child::id).unwrap_or(0)
    }
    fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>> {
        match self.0.as_mut() {
            Some(c) => Ok(c.try_wait()?),
            None => Ok(None),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
