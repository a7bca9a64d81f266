//! The static regular expressions compiled into the binary, in one place.
//!
//! Owns every pattern that is a constant of the code (not one an operator configures). Each is
//! compiled on first use with `expect`: a wrong pattern is a bug that must fail loudly in the
//! test that forces them all (`every_pattern_compiles`), never silently switch a detection off.
//! It must not hold operator-supplied patterns; those are compiled and checked by `doctor`.

// A pattern here is a literal in this file, and the test below compiles every one of them.
#![allow(clippy::expect_used)]

use regex::Regex;
use std::sync::LazyLock;

macro_rules! patterns {
    ($($(#[$doc:meta])* $name:ident = $re:expr;)+) => {
        $(
            $(#[$doc])*
            pub static $name: LazyLock<Regex> =
                LazyLock::new(|| Regex::new($re).expect(concat!("static pattern ", stringify!($name))));
        )+
        /// Every pattern above, by name (the test forces each one).
        pub fn all() -> Vec<(&'static str, &'static LazyLock<Regex>)> {
            vec![$((stringify!($name), &$name)),+]
        }
    };
}

patterns! {
    /// A heredoc opener: `<<EOF`, `<<-'EOF'`, `<<"EOF"`, `<<\EOF`.
    HEREDOC = r#"<<-?\s*(?:'([^']+)'|"([^"]+)"|\\?([A-Za-z_][A-Za-z0-9_]*))"#;
    /// A `case` arm's pattern list: `start|restart)`.
    CASE_PAT = r#"^\s*\(?\s*[^()\s;]+(?:\s*\|\s*[^()\s;]+)*\s*\)"#;
    /// The opening of a `case … in`.
    CASE_IN = r"(^|[\s;])case\s.*\sin(\s|$)";
    /// The closing `esac`.
    ESAC = r"(^|[\s;])esac(\s|;|$)";
    /// An ISO / RFC 3339 timestamp anywhere in a log line.
    ISO_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|z|[+-]\d{2}:\d{2})?";
    /// Leading epoch seconds or milliseconds in a log line.
    EPOCH_TIME = r"^\s*(\d{13}|\d{9,10}(?:\.\d+)?)(?:\s|$|[,;|])";
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pattern_compiles() {
        let all = super::all();
        assert!(all.len() >= 6);
        for (name, re) in all {
            // forcing the LazyLock compiles the pattern; a bad one panics here with its name
            assert!(!re.as_str().is_empty(), "{name}");
        }
        assert!(super::HEREDOC.is_match("cat <<'EOF'"));
        assert!(super::EPOCH_TIME.is_match("1767225600\theartbeat"));
    }
}
