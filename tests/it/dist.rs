//! Distribution: the README's first command picks `ledgerd` through `cargo run`, `cargo install`
//! installs `ledgerd` only, completions and man pages come from the CLI definition, and the
//! release artifact built by `cargo build-static` is a static, position-dependent ELF with no
//! dynamic interpreter.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The target dir the suite was built in (`.../target/debug/ledgerd` → `.../target`), so the
/// nested cargo runs below reuse its artifacts instead of building everything again.
fn target_dir() -> PathBuf {
    Path::new(bin())
        .parent()
        .and_then(Path::parent)
        .expect("CARGO_BIN_EXE_ledgerd is target/<profile>/ledgerd")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root())
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("LEDGERD_CONFIG");
    c
}

/// The first command line of the README's "Set up" block, without its comment.
fn readme_first_command() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let setup = readme
        .split("## Set up")
        .nth(1)
        .expect("README has a \"## Set up\" section");
    let block = setup
        .split("```sh\n")
        .nth(1)
        .expect("a ```sh block under Set up");
    let line = block.lines().next().unwrap();
    let cmd = line.split('#').next().unwrap();
    cmd.split_whitespace().map(str::to_string).collect()
}

#[test]
fn readme_first_command_runs_ledgerd_through_cargo_run() {
    let words = readme_first_command();
    assert_eq!(
        &words[..2],
        ["cargo", "run"],
        "the README's first command is a `cargo run`: {words:?}"
    );
    let sep = words
        .iter()
        .position(|w| w == "--")
        .expect("cargo run ... -- <args>");
    assert_eq!(words[sep + 1..], ["run"], "{words:?}");
    // Dry form: the same cargo flags (minus --release: the profile does not take part in picking
    // the binary, and a release build would take minutes here) with `--version` for `run`.
    let mut args: Vec<&str> = words[1..sep]
        .iter()
        .map(String::as_str)
        .filter(|w| *w != "--release")
        .collect();
    assert!(
        !args.iter().any(|w| w.starts_with("--bin")),
        "the README must not need --bin: {words:?}"
    );
    args.extend(["-q", "--", "--version"]);
    let o = cargo().args(&args).output().expect("run cargo");
    assert!(
        o.status.success(),
        "cargo {args:?}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    assert_eq!(
        stdout(&o).trim(),
        format!("ledgerd {}", env!("CARGO_PKG_VERSION")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cargo_install_installs_ledgerd_only() {
    let tmp = tempfile::tempdir().unwrap();
    // --debug with the suite's target dir: the same selection of binaries as a release install,
    // without a second full build
    let o = cargo()
        .args(["install", "--quiet", "--offline", "--debug", "--path", "."])
        .arg("--root")
        .arg(tmp.path())
        .output()
        .expect("run cargo install");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let mut installed: Vec<String> = std::fs::read_dir(tmp.path().join("bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    installed.sort();
    assert_eq!(installed, ["ledgerd"]);
    let o = Command::new(tmp.path().join("bin/ledgerd"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(stdout(&o).starts_with("ledgerd "), "{}", stdout(&o));
}

/// Every subcommand name, from the clap definition itself.
fn subcommands() -> Vec<String> {
    use clap::CommandFactory;
    ledgerd::cli::Cli::command()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect()
}

#[test]
fn completions_are_valid_scripts_naming_every_subcommand() {
    let subs = subcommands();
    assert!(subs.len() >= 10, "{subs:?}");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = ledgerd(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for s in &subs {
            assert!(script.contains(s.as_str()), "{shell} completion lacks {s}");
        }
    }
    // bash parses the script, and after sourcing it completes `ledgerd sil` to `silence`
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("ledgerd.bash");
    std::fs::write(&script, ledgerd(&["completions", "bash"]).stdout).unwrap();
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(ledgerd sil); COMP_CWORD=1; COMP_LINE='ledgerd sil'; \
             COMP_POINT=11; _ledgerd ledgerd sil ledgerd; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "silence", "{}", stderr(&o));
    let o = ledgerd(&["completions", "tcsh"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_are_generated_from_the_cli() {
    let o = ledgerd(&["man"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(page.contains(".TH ledgerd 1"), "{page}");
    let page = page.replace("\\-", "-");
    for s in subcommands() {
        assert!(page.contains(&s), "man page lacks {s}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = ledgerd(&["man", "--dir", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for s in [
        "ledgerd.1",
        "ledgerd-run.1",
        "ledgerd-doctor.1",
        "ledgerd-silence-add.1",
    ] {
        assert!(tmp.path().join(s).is_file(), "{s}");
    }
    let run_page = std::fs::read_to_string(tmp.path().join("ledgerd-run.1")).unwrap();
    assert!(run_page.contains("log\\-json"), "{run_page}");
    // groff renders the page without warnings when it is installed (the man-db package)
    if let Ok(o) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(tmp.path().join("ledgerd.1"))
        .output()
    {
        assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
    }
    let o = ledgerd(&["man", "--dir", tmp.path().join("missing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("missing"), "{}", stderr(&o));
}

/// The ELF program headers of `path`: whether one is PT_INTERP (a dynamic loader) or PT_DYNAMIC,
/// and the ELF type (2 = EXEC, 3 = DYN, i.e. PIE).
fn elf_facts(path: &Path) -> (bool, bool, u16) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..4], b"\x7fELF", "{} is not ELF", path.display());
    assert_eq!(b[4], 2, "64-bit");
    assert_eq!(b[5], 1, "little-endian");
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let e_type = u16_at(16);
    let phoff = u64_at(32) as usize;
    let phentsize = u16_at(54) as usize;
    let phnum = u16_at(56) as usize;
    assert!(phnum > 0 && phentsize >= 56);
    let (mut interp, mut dynamic) = (false, false);
    for i in 0..phnum {
        match u32_at(phoff + i * phentsize) {
            3 => interp = true,
            2 => dynamic = true,
            _ => {}
        }
    }
    (interp, dynamic, e_type)
}

#[test]
fn the_elf_check_sees_a_dynamic_interpreter() {
    // the check below must be able to fail: a dynamically linked binary has PT_INTERP
    let (interp, _, _) = elf_facts(Path::new("/bin/sh"));
    assert!(interp, "/bin/sh is dynamically linked on Debian");
}

/// Checks a binary linked with the distribution's link flags and runs it: no PT_INTERP, no
/// PT_DYNAMIC (nothing to relocate), not a PIE (ET_EXEC), `file` says static, and `doctor`
/// accepts the embedded default config.
fn assert_static_that_runs(art: &Path) {
    let (interp, dynamic, e_type) = elf_facts(art);
    assert!(!interp, "{} has a dynamic interpreter", art.display());
    assert!(!dynamic, "{} has a dynamic section", art.display());
    assert_eq!(e_type, 2, "a position-dependent executable is ET_EXEC");
    if let Ok(o) = Command::new("file").arg(art).output() {
        let f = stdout(&o);
        assert!(f.contains("statically linked"), "{f}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().to_str().unwrap();
    let o = Command::new(art)
        .arg("doctor")
        .env("HOME", home)
        .env("XDG_STATE_HOME", home)
        .env_remove("LEDGERD_CONFIG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// The static link, checked on every `tests/run.sh` (so in CI): before the suite, run.sh links
/// `ledgerd` with the flags `cargo build-static` passes (`-C target-feature=+crt-static -C
/// relocation-model=static` and the function order, to the final link only) in the test profile,
/// reusing the suite's compiled dependencies (a release build takes ~25 minutes on 2 cores),
/// copies it aside and names it in
/// `LEDGERD_STATIC_ARTIFACT`. Under a bare `cargo test` that variable is unset and the test says
/// it skipped; `tests/run.sh` always sets it.
#[test]
fn static_link_gives_a_static_binary_that_runs() {
    let Some(art) = std::env::var_os("LEDGERD_STATIC_ARTIFACT") else {
        eprintln!("skipped: LEDGERD_STATIC_ARTIFACT is unset (tests/run.sh sets it)");
        return;
    };
    let art = PathBuf::from(art);
    assert!(art.is_file(), "{} does not exist", art.display());
    assert_static_that_runs(&art);
}

/// Builds the release artifact with the documented command (`cargo build-static`, an alias in
/// `.cargo/config.toml`) and checks it the same way. A cold release build (fat LTO, one codegen
/// unit) takes ~25 minutes on 2 cores, so CI checks the same link flag in the test profile
/// (above) and this one is run by hand: `cargo test --test it -- --ignored dist::release_artifact`.
#[test]
#[ignore = "builds the release binary (~25 min cold); CI checks the same link in the test profile"]
fn release_artifact_is_static() {
    let o = cargo()
        // `--quiet` before the alias: the alias ends in `-- -C ...`, so anything after it would
        // be handed to rustc
        .args(["--quiet", "build-static"])
        .output()
        .expect("run cargo build-static");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_static_that_runs(&target_dir().join("release/ledgerd"));
}

/// `tests/run.sh` links the CI copy, and `dist/order.sh` the binaries it profiles, with every flag
/// the `build-static` alias passes after `--` (so CI links with the function order file too, and
/// the order is measured on the binary it is for), and that file lists one linker symbol a line.
#[test]
fn the_ci_static_link_uses_the_aliases_flags_and_the_order_file_is_well_formed() {
    let config = std::fs::read_to_string(root().join(".cargo/config.toml")).unwrap();
    let alias = config
        .lines()
        .find(|l| l.starts_with("build-static = ["))
        .expect("build-static alias in .cargo/config.toml");
    let words: Vec<&str> = alias
        .split('"')
        .skip(1)
        .step_by(2)
        .skip_while(|w| *w != "--")
        .skip(1)
        .filter(|w| *w != "-C")
        .collect();
    assert!(
        words
            .iter()
            .any(|w| w.contains("symbol-ordering-file=dist/ledgerd.order")),
        "{alias}"
    );
    for script in ["tests/run.sh", "dist/order.sh"] {
        let text = std::fs::read_to_string(root().join(script)).unwrap();
        for w in &words {
            assert!(text.contains(w), "{script}'s static link lacks {w}");
        }
    }
    let order = std::fs::read_to_string(root().join("dist/ledgerd.order")).unwrap();
    let names: Vec<&str> = order.lines().collect();
    assert!(names.len() > 1000, "{} functions", names.len());
    for n in &names {
        assert!(
            !n.is_empty() && !n.contains(char::is_whitespace),
            "not a symbol name: {n:?}"
        );
    }
    assert!(names.contains(&"main"), "the order starts from main's path");
}
