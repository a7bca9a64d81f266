//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, off in every normal build).
//! Each takes hostile bytes, runs one parser the daemon applies to files or responses it does not
//! control, and checks the parser's own invariants (panicking on a violation, which is what the
//! fuzzer reports). It must not be used by the product; it only reaches parsers.

use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("ledgerd-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

/// The config loader on `data` as the main config file.
pub fn config(data: &[u8]) {
    let path = scratch().join("config.toml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let lookup = |name: &str| (name == "FUZZ").then(|| "value".to_string());
    let _ = crate::config::load_file_with_env(&path, &lookup);
}

/// Every chat escaper and `fit`, with their no-live-markup invariants.
pub fn escape(s: &str) {
    use crate::alert::escape as e;
    let h = e::html(s);
    assert!(!h.contains(['<', '>', '"']), "html left markup: {h:?}");
    let sl = e::slack(s);
    assert!(!sl.contains(['<', '>']), "slack left markup: {sl:?}");
    for m in [e::markdown(s), e::discord(s), e::mattermost(s)] {
        let chars: Vec<char> = m.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '\\' {
                i += 2;
                continue;
            }
            assert!(
                !['`', '*', '_', '~', '[', ']', '<', '>', '|', '{', '}'].contains(&chars[i]),
                "markdown left {:?} live in {m:?}",
                chars[i]
            );
            i += 1;
        }
    }
    let _ = e::whatsapp(s);
    let p = e::plain(s);
    assert!(!p.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
    for max in [0usize, 1, 7, 64] {
        let f = e::fit(s, max, e::html);
        assert!(f.chars().count() <= max.max(1), "fit exceeded {max}: {f:?}");
    }
}

/// The shell reader (crontab lines, scripts, `ExecStart=`): every entry point on hostile text.
/// Linear and bounded by construction; libFuzzer's `-timeout` catches anything that is not.
pub fn shell(s: &str) {
    let p = crate::shell::prepare(s);
    let _ = crate::shell::vars(&p.shell);
    let _ = crate::shell::vars(&p.bodies);
    let _ = crate::shell::vars(s);
    let lexed = crate::shell::lex(s, 1);
    let _ = lexed.finding();
    let _ = crate::shell::command_line(s);
    let _ = crate::shell::read_word(s);
}

/// One probe, configured once per process from `probe_toml` (with `{file}` standing for the
/// scratch file), run on `data` as the file it audits: the real path from the bounded reader
/// through the kind's parser to its judgement. Invariants: no panic, an observation within the
/// probe's timeout, and evidence that stays bounded (a hostile file cannot make an observation
/// of megabytes that is then stored every run).
fn probe_on_file(name: &str, file_name: &str, probe_toml: &str, data: &[u8]) {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static CONFIGS: OnceLock<Mutex<HashMap<String, &'static crate::config::Config>>> =
        OnceLock::new();
    static RT: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let dir = scratch().join(name);
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(file_name);
    if std::fs::write(&file, data).is_err() {
        return;
    }
    let config: &'static crate::config::Config = {
        let Ok(mut map) = CONFIGS.get_or_init(Default::default).lock() else {
            return;
        };
        match map.get(name) {
            Some(c) => c,
            None => {
                let text = format!(
                    "[daemon]\nstate_dir = {:?}\n\n[probe.fuzzed]\n{}\n",
                    dir.join("state").display().to_string(),
                    probe_toml
                        .replace("{file}", &file.display().to_string())
                        .replace("{dir}", &dir.display().to_string())
                );
                let path = dir.join("config.toml");
                if std::fs::write(&path, text).is_err() {
                    return;
                }
                let lookup = |_: &str| None;
                let c = match crate::config::load_file_with_env(&path, &lookup) {
                    Ok(c) => c,
                    Err(e) => panic!("fuzz target {name}: its own probe config is invalid: {e}"),
                };
                let c: &'static crate::config::Config = Box::leak(Box::new(c));
                map.insert(name.to_string(), c);
                c
            }
        }
    };
    let Some(rt) = RT
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
    else {
        return;
    };
    // one client for the whole fuzz run, as in the daemon: building one loads the system's CA
    // store, which was 90% of an exec's time (2 execs/s for jwt)
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    let http = HTTP.get_or_init(crate::http_client::shared).clone();
    let obs = rt.block_on(crate::engine::scheduler::observe_once(
        config, 0, &http, None,
    ));
    let size: usize = obs.summary.len()
        + obs
            .evidence
            .iter()
            .map(|e| e.key.len() + e.value.len())
            .sum::<usize>();
    assert!(
        size <= 256 * 1024,
        "{name}: observation of {size} bytes from a {}-byte file",
        data.len()
    );
}

/// A systemd unit file (files only, no systemctl).
pub fn unit(data: &[u8]) {
    probe_on_file(
        "unit",
        "x.service",
        "kind = \"systemd_unit\"\nlesson = 25\nunit = \"x.service\"\nunit_dirs = [\"{dir}\"]\nuse_systemctl = false",
        data,
    );
}

/// A launchd plist (XML or binary), without launchctl.
pub fn plist(data: &[u8]) {
    probe_on_file(
        "plist",
        "ai.openclaw.fuzz.plist",
        "kind = \"launchd_job\"\nlesson = 3\ndomain = \"agent\"\nplist = \"{file}\"\nhome_root = \"{dir}\"\nruntime_dirs = [\"/opt/homebrew/bin\"]",
        data,
    );
}

/// A crontab, with the scripts it names followed.
pub fn crontab(data: &[u8]) {
    probe_on_file(
        "crontab",
        "crontab",
        "kind = \"cron_env\"\nlesson = 14\ncrontabs = [\"{file}\"]\nfollow_scripts = true",
        data,
    );
}

/// A dotenv file read for one key (`token_expiry` with `dotenv_key`).
pub fn envfile(data: &[u8]) {
    probe_on_file(
        "envfile",
        ".env",
        "kind = \"token_expiry\"\nlesson = 10\nfile = \"{file}\"\ndotenv_key = \"GATEWAY_SESSION_TOKEN\"",
        data,
    );
}

/// A credential file: a raw JWT, a JSON object with an expiry, or a PEM certificate.
pub fn jwt(data: &[u8]) {
    probe_on_file(
        "jwt",
        "token",
        "kind = \"token_expiry\"\nlesson = 10\nfile = \"{file}\"",
        data,
    );
    probe_on_file(
        "pem",
        "cert.pem",
        "kind = \"token_expiry\"\nlesson = 10\npem_file = \"{file}\"",
        data,
    );
}

/// JSONPath evaluation: the first line is a JSONPath, the rest a JSON document; the shared
/// assertions (`expect`) compile the path (or refuse it) and evaluate every check on the
/// document without panicking.
pub fn jsonpath(data: &[u8]) {
    use crate::probe::expect;
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (path, doc) = s.split_once('\n').unwrap_or((s, "{}"));
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(doc) else {
        return;
    };
    let assertion: expect::JsonAssertion = match serde_json::from_value(serde_json::json!({
        "path": path, "exists": true, "min_len": 1, "not_matches_any": [":free$"], "lt": 5.0
    })) {
        Ok(a) => a,
        Err(_) => return,
    };
    let list = [assertion];
    if !expect::validate(&list, "fuzz").is_empty() {
        return;
    }
    let Ok(compiled) = expect::compile(&list, "fuzz") else {
        return;
    };
    for (a, c) in list.iter().zip(compiled.iter()) {
        let _ = a.check(c, &doc, &["secret-value"]);
    }
}
