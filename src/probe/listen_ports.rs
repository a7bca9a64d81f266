//! `listen_ports`: who listens on the service ports of this Linux host (lesson 20, and lesson 25's
//! "exactly one gateway process per port"). It owns parsing `<proc_root>/net/tcp` and `tcp6`
//! itself (little-endian hex addresses, state 0A = LISTEN) and mapping socket inodes to processes
//! through `<proc_root>/<pid>/fd/*` and `comm`/`cmdline`. It judges: loopback-only ports bound
//! beyond 127.0.0.0/8 or ::1, expected ports with no listener, two processes on one port. It must
//! not connect to, signal or change anything, and it never shows a full command line (argv may
//! hold tokens): only the process name.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::proc::Proc as ProcTree;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Listeners listed in evidence at most.
const MAX_LISTED: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenPorts {
    /// Root of the proc file system; `<proc_root>/net/tcp`, `net/tcp6` and `<pid>/fd`, `comm`,
    /// `cmdline` are read below it. Default "/proc".
    #[serde(default = "super::proc_root")]
    proc_root: PathBuf,
    /// Ports (18789) or inclusive ranges ("18789-18799") that may only listen on 127.0.0.0/8 or
    /// ::1; any other address (0.0.0.0, ::, a LAN or Tailscale IP) is critical. Default none.
    #[serde(default)]
    loopback_only: Vec<PortSpec>,
    /// Ports that must have a listener; a missing one is critical. Default none.
    #[serde(default)]
    expect_listening: Vec<u16>,
    /// Two different processes listening on one watched port (loopback_only or expect_listening)
    /// is critical. Default true.
    #[serde(default = "super::yes")]
    single_listener: bool,
}

/// A port or an inclusive range written "low-high".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PortSpec {
    Port(u16),
    Range(String),
}

impl PortSpec {
    fn bounds(&self) -> Option<(u16, u16)> {
        match self {
            PortSpec::Port(p) => Some((*p, *p)),
            PortSpec::Range(s) => {
                let (lo, hi) = match s.split_once('-') {
                    Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
                    None => {
                        let p = s.trim().parse().ok()?;
                        (p, p)
                    }
                };
                (lo <= hi).then_some((lo, hi))
            }
        }
    }
}

impl Probe for ListenPorts {
    const KIND: &'static str = "listen_ports";
    const SUMMARY: &'static str = "check TCP listeners from /proc: loopback-only ports, expected listeners, one process per port";
    const LESSONS: &'static [u32] = &[20, 25];
    const EXAMPLE: &'static str = r#"[probe.gateway_ports_loopback]
lessons = [20, 25]
every = "1m"
# OpenClaw gateways bind loopback; the Tailscale port-forwarder is the only way in (lesson 20)
loopback_only = ["18789-18799", 18820]
# hub, retail, finance, marketing on the VPS
expect_listening = [18789, 18790, 18794, 18795]
single_listener = true
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        for (i, p) in self.loopback_only.iter().enumerate() {
            if p.bounds().is_none_or(|(lo, _)| lo == 0) {
                bad.push(Invalid::new(
                    format!("loopback_only[{i}]"),
                    "expected a port 1-65535 or a range \"low-high\" with low <= high",
                ));
            }
        }
        for (i, p) in self.expect_listening.iter().enumerate() {
            if *p == 0 {
                bad.push(Invalid::new(
                    format!("expect_listening[{i}]"),
                    "expected a port 1-65535",
                ));
            }
        }
        if self.loopback_only.is_empty() && self.expect_listening.is_empty() {
            bad.push(Invalid::new(
                "loopback_only",
                "set loopback_only or expect_listening (nothing to check)",
            ));
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        if let Some(o) = cx.live_host("listening sockets") {
            return o;
        }
        if !cfg!(target_os = "linux") && self.proc_root == Path::new("/proc") {
            return Observation::unsupported_os("linux");
        }
        let root = cx.resolve(&self.proc_root);
        let ranges: Vec<(u16, u16)> = self
            .loopback_only
            .iter()
            .filter_map(PortSpec::bounds)
            .collect();
        let loopback_only = |port: u16| ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&port));
        let watched_ranges = ranges.clone();
        let expect = self.expect_listening.clone();
        let scan_root = root.clone();
        let scan = tokio::task::spawn_blocking(move || {
            scan(&scan_root, |p| {
                watched_ranges
                    .iter()
                    .any(|(lo, hi)| (*lo..=*hi).contains(&p))
                    || expect.contains(&p)
            })
        })
        .await;
        let scan = match scan {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Observation::unknown(e).evidence("proc_root", root.display()),
            Err(e) => return Observation::unknown(format!("scan did not finish: {e}")),
        };

        let mut items: Vec<(Health, String)> = Vec::new();
        let watched: Vec<&Listener> = scan.listeners.iter().filter(|l| l.watched).collect();
        for l in &watched {
            if loopback_only(l.port) && !is_loopback(l.addr) {
                items.push((
                    Health::Critical,
                    format!(
                        "{} listens beyond loopback ({})",
                        sock_addr(l.addr, l.port),
                        scan.owner_text(l.inode)
                    ),
                ));
            }
        }
        for p in &self.expect_listening {
            if !scan.listeners.iter().any(|l| l.port == *p) {
                items.push((Health::Critical, format!("nothing listens on port {p}")));
            }
        }
        if self.single_listener {
            items.extend(shared_ports(&watched, &scan));
        }
        let o_ev = scan_evidence(&watched, &scan);

        let n = watched.len();
        let mut o = super::of_problems(&items)
            .unwrap_or_else(|| {
                Observation::ok(format!("{n} listener(s) on watched ports, all as expected"))
            })
            .expected(expected_text(self, &ranges))
            .metric("watched_listeners", watched.len() as f64);
        for (k, v) in o_ev {
            o.push_evidence(k, v);
        }
        o
    }
}

/// `single_listener`: the watched ports where two unrelated processes (not parent and child)
/// listen, each a critical finding naming them.
fn shared_ports(watched: &[&Listener], scan: &Scan) -> Vec<(Health, String)> {
    let mut items = Vec::new();
    let mut by_port: BTreeMap<u16, Vec<&Listener>> = BTreeMap::new();
    for l in watched {
        by_port.entry(l.port).or_default().push(l);
    }
    for (port, ls) in by_port {
        let groups = owner_groups(&ls, &scan.owners);
        if groups.len() > 1 {
            let who = groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|pid| format!("pid {pid} ({})", scan.name(*pid)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect::<Vec<_>>()
                .join(" vs ");
            items.push((
                Health::Critical,
                format!("two processes listen for one service on port {port}: {who}"),
            ));
        }
    }
    items
}

/// Evidence from the scan: the watched listeners (at most MAX_LISTED), unreadable fd
/// directories, and an absent tcp6 table.
fn scan_evidence(watched: &[&Listener], scan: &Scan) -> Vec<(String, String)> {
    let mut o_ev: Vec<(String, String)> = Vec::new();
    for l in watched.iter().take(MAX_LISTED) {
        o_ev.push((
            "listener".into(),
            format!("{} {}", sock_addr(l.addr, l.port), scan.owner_text(l.inode)),
        ));
    }
    if watched.len() > MAX_LISTED {
        o_ev.push(("listeners_total".into(), watched.len().to_string()));
    }
    if scan.fd_dirs_unreadable > 0 {
        o_ev.push((
            "fd_dirs_unreadable".into(),
            format!(
                "{} processes' fd directories could not be read; their sockets show pid unknown",
                scan.fd_dirs_unreadable
            ),
        ));
    }
    if !scan.tcp6_present {
        o_ev.push(("tcp6".into(), "net/tcp6 absent (IPv6 disabled)".into()));
    }
    o_ev
}

/// What the probe expects: the loopback-only port ranges and the ports that must listen.
fn expected_text(p: &ListenPorts, ranges: &[(u16, u16)]) -> String {
    let mut expected = Vec::new();
    if !p.loopback_only.is_empty() {
        expected.push(format!(
            "ports {} on 127.0.0.0/8 or ::1 only",
            ranges
                .iter()
                .map(|(lo, hi)| if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                })
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if !p.expect_listening.is_empty() {
        expected.push(format!("listening: {:?}", p.expect_listening));
    }
    expected.join("; ")
}

/// One LISTEN socket.
#[derive(Debug, Clone)]
struct Listener {
    addr: IpAddr,
    port: u16,
    inode: u64,
    /// On a port named in the config.
    watched: bool,
}

struct Scan {
    listeners: Vec<Listener>,
    /// Socket inode → PIDs holding it (a forked child shares its parent's socket).
    owners: HashMap<u64, BTreeSet<u32>>,
    names: HashMap<u32, String>,
    fd_dirs_unreadable: usize,
    tcp6_present: bool,
}

impl Scan {
    fn name(&self, pid: u32) -> &str {
        self.names.get(&pid).map_or("?", String::as_str)
    }
    fn owner_text(&self, inode: u64) -> String {
        match self.owners.get(&inode) {
            Some(pids) if !pids.is_empty() => pids
                .iter()
                .map(|p| format!("pid {p} ({})", self.name(*p)))
                .collect::<Vec<_>>()
                .join(", "),
            _ => format!("pid unknown, inode {inode}"),
        }
    }
}

/// Groups a port's sockets into processes: sockets whose holders overlap are one process (one
/// process listening on IPv4 and IPv6, or a parent and its forked child). Sockets with no known
/// holder are left out: they cannot be judged.
fn owner_groups(ls: &[&Listener], owners: &HashMap<u64, BTreeSet<u32>>) -> Vec<BTreeSet<u32>> {
    let mut groups: Vec<BTreeSet<u32>> = Vec::new();
    for l in ls {
        let Some(pids) = owners.get(&l.inode).filter(|p| !p.is_empty()) else {
            continue;
        };
        let mut merged = pids.clone();
        groups.retain(|g| {
            if g.is_disjoint(&merged) {
                true
            } else {
                merged.extend(g.iter().copied());
                false
            }
        });
        groups.push(merged);
    }
    groups
}

fn is_loopback(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn sock_addr(a: IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// Reads the socket tables and, for watched listeners, who holds them.
fn scan(root: &Path, watched: impl Fn(u16) -> bool) -> Result<Scan, String> {
    let tree = ProcTree::at(root);
    let text = tree
        .system_file("net/tcp")
        .map_err(|e| format!("cannot read {e}"))?;
    let mut listeners = parse_net_tcp(&text, false);
    let tcp6_present = match tree.system_file("net/tcp6") {
        Ok(t) => {
            listeners.extend(parse_net_tcp(&t, true));
            true
        }
        Err(crate::read::ReadError::Missing { .. }) => false,
        Err(e) => return Err(format!("cannot read {e}")),
    };
    for l in &mut listeners {
        l.watched = watched(l.port);
    }
    let wanted: HashSet<u64> = listeners
        .iter()
        .filter(|l| l.watched)
        .map(|l| l.inode)
        .collect();
    let mut owners: HashMap<u64, BTreeSet<u32>> = HashMap::new();
    let mut names = HashMap::new();
    let mut fd_dirs_unreadable = 0;
    if !wanted.is_empty() {
        for pid in tree.pids()? {
            let Some(inodes) = tree.socket_inodes(pid) else {
                // Gone already, or another user's process without privileges.
                if tree.exists(pid) {
                    fd_dirs_unreadable += 1;
                }
                continue;
            };
            let mut found = false;
            for inode in inodes {
                if wanted.contains(&inode) {
                    owners.entry(inode).or_default().insert(pid);
                    found = true;
                }
            }
            if found {
                names.insert(pid, tree.name(pid));
            }
        }
    }
    Ok(Scan {
        listeners,
        owners,
        names,
        fd_dirs_unreadable,
        tcp6_present,
    })
}

/// LISTEN rows (state 0A) of `/proc/net/tcp` or `tcp6`.
fn parse_net_tcp(text: &str, v6: bool) -> Vec<Listener> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || f[3] != "0A" {
            continue;
        }
        let Some((addr_hex, port_hex)) = f[1].split_once(':') else {
            continue;
        };
        let (Some(addr), Ok(port), Ok(inode)) = (
            parse_hex_addr(addr_hex, v6),
            u16::from_str_radix(port_hex, 16),
            f[9].parse::<u64>(),
        ) else {
            continue;
        };
        out.push(Listener {
            addr,
            port,
            inode,
            watched: false,
        });
    }
    out
}

/// The kernel prints each 32-bit word of the address in host (little-endian) order.
fn parse_hex_addr(hex: &str, v6: bool) -> Option<IpAddr> {
    if !v6 {
        if hex.len() != 8 {
            return None;
        }
        let w = u32::from_str_radix(hex, 16).ok()?;
        return Some(IpAddr::V4(Ipv4Addr::from(w.to_le_bytes())));
    }
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for i in 0..4 {
        let w = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    Some(IpAddr::V6(Ipv6Addr::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look};
    use std::os::unix::fs::symlink;

    fn probe(toml_src: &str) -> ListenPorts {
        testkit::parse(toml_src)
    }

    /// Copies a fixture `proc/net` into a temp dir and adds fake processes:
    /// (pid, comm, socket inodes).
    fn fake_proc(fixture: &str, procs: &[(u32, &str, &[u64])]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/hosts/listen_ports")
            .join(fixture)
            .join("proc/net");
        let net = tmp.path().join("net");
        std::fs::create_dir_all(&net).unwrap();
        for f in ["tcp", "tcp6"] {
            std::fs::copy(src.join(f), net.join(f)).unwrap();
        }
        for (pid, comm, inodes) in procs {
            let d = tmp.path().join(pid.to_string());
            std::fs::create_dir_all(d.join("fd")).unwrap();
            std::fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
            symlink("/dev/null", d.join("fd/0")).unwrap();
            for (i, ino) in inodes.iter().enumerate() {
                symlink(format!("socket:[{ino}]"), d.join(format!("fd/{}", i + 3))).unwrap();
            }
        }
        tmp
    }

    fn with_root(root: &Path, rest: &str) -> ListenPorts {
        probe(&format!(
            "proc_root = {:?}\n{rest}",
            root.display().to_string()
        ))
    }

    #[tokio::test]
    async fn good_fixture_is_ok() {
        let tmp = fake_proc(
            "good",
            &[
                (100, "openclaw-gatewa", &[12345, 12347]),
                (101, "openclaw", &[12346]),
                (1, "sshd", &[999, 998]),
            ],
        );
        let p = with_root(
            tmp.path(),
            "loopback_only = [\"18789-18799\"]\nexpect_listening = [18789, 18790]",
        );
        let o = look(&p).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        let listeners = testkit::ev(&o, "listener");
        assert!(listeners.contains(&"127.0.0.1:18789 pid 100 (openclaw-gatewa)"));
        assert!(listeners.contains(&"[::1]:18789 pid 100 (openclaw-gatewa)"));
        // sshd on 0.0.0.0:22 is not watched.
        assert_eq!(listeners.len(), 3, "{listeners:?}");
    }

    #[tokio::test]
    async fn bad_fixture_is_critical_with_address_pid_and_name() {
        let tmp = fake_proc(
            "bad",
            &[
                (100, "openclaw-gatewa", &[12345]),
                (200, "openclaw", &[22222]),
                (300, "python3", &[33333]),
            ],
        );
        let p = with_root(
            tmp.path(),
            "loopback_only = [\"18789-18799\"]\nexpect_listening = [18789, 18790, 18794]",
        );
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical);
        let s = &o.summary;
        testkit::assert_contains(
            s,
            &[
                "0.0.0.0:18789 listens beyond loopback (pid 100 (openclaw-gatewa))",
                "[::]:18790 listens beyond loopback (pid 300 (python3))",
                "nothing listens on port 18794",
                "two processes listen for one service on port 18790: pid 200 (openclaw) vs pid 300 (python3)",
            ],
        );
    }

    #[tokio::test]
    async fn forked_child_sharing_the_socket_is_one_listener() {
        // 12345 held by a parent and its child, 12347 (IPv6) by the parent: one process.
        let tmp = fake_proc(
            "good",
            &[
                (100, "openclaw-gatewa", &[12345, 12347]),
                (150, "openclaw-gatewa", &[12345]),
            ],
        );
        let p = with_root(tmp.path(), "expect_listening = [18789]");
        let o = look(&p).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(
            o.evidence
                .iter()
                .any(|e| e.value.contains("pid 100") && e.value.contains("pid 150"))
        );
    }

    #[tokio::test]
    async fn unreadable_proc_root_is_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        let p = with_root(&tmp.path().join("nope"), "expect_listening = [18789]");
        let o = look(&p).await;
        assert_finding(&o, Health::Unknown, "cannot read");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn live_listener_is_found_with_this_pid() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let p = probe(&format!(
            "proc_root = \"/proc\"\nexpect_listening = [{port}]\nloopback_only = [{port}]"
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        let me = format!("127.0.0.1:{port} pid {} (", std::process::id());
        assert!(
            o.evidence.iter().any(|e| e.value.starts_with(&me)),
            "{:?}",
            o.evidence
        );
        drop(l);
    }

    #[test]
    fn hex_addresses_parse_little_endian() {
        assert_eq!(
            parse_hex_addr("0100007F", false),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            parse_hex_addr("00000000000000000000000001000000", true),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        // fe80::1 on a little-endian kernel.
        assert_eq!(
            parse_hex_addr("000080FE000000000000000001000000", true),
            Some("fe80::1".parse().unwrap())
        );
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback("100.64.0.7".parse().unwrap()));
    }

    #[test]
    fn validate_rejects_bad_ranges_and_empty_config() {
        let keys =
            testkit::invalid_keys::<ListenPorts>("loopback_only = [\"18799-18789\", \"x\", 0]");
        assert_eq!(
            keys,
            vec!["loopback_only[0]", "loopback_only[1]", "loopback_only[2]"]
        );
        assert_eq!(testkit::invalid::<ListenPorts>("").len(), 1);
    }
}
