//! Escaping of probed text for each chat markup (lesson 22: a hostile response body must not
//! inject mentions, links or formatting), one function per markup, plus `fit`, which truncates
//! *before* escaping so a cut never splits an escape sequence. It owns no layout and must not
//! decide what is trusted: channels escape every value that reaches a markup field, config text
//! (probe ids, hosts) included.

/// Zero-width space: breaks `@everyone`, `@channel`, `@user` mentions without changing what a
/// reader sees.
const ZWSP: char = '\u{200B}';

/// Slack mrkdwn: Slack's three control characters become entities (`&amp;`, `&lt;`, `&gt;`), so
/// `<!channel>`, `<@U123>` and `<http://x|y>` stay text. Slack has no escape for `*_~\``;
/// channels keep free probed text out of mrkdwn (`rich_text`, `plain_text`) where it matters.
pub fn slack(s: &str) -> String {
    crate::redact::entities(s, false)
}

/// HTML text and attribute values: the codebase's one HTML escaper, used by Telegram
/// (`parse_mode = "HTML"`) and by the dashboard's template environment (`web::render`).
/// `&`, `<`, `>`, `"` and `'` become entities (`'` as the numeric `&#39;`, which Telegram accepts
/// like every numeric entity), so a value is inert in text and in either kind of quoted attribute.
pub use crate::redact::html;

/// Inline characters that start markup in CommonMark, GitHub-flavoured markdown, Discord and
/// Adaptive Cards (`{` and `}` stop `{{DATE(...)}}` functions). CommonMark lets any ASCII
/// punctuation be backslash-escaped, so escaping a few too many is harmless.
const MD_INLINE: &[char] = &['\\', '`', '*', '_', '~', '[', ']', '<', '>', '|', '{', '}'];

/// Markdown (CommonMark dialects: Teams Adaptive Card `TextBlock`/`FactSet`, Mattermost,
/// Discord): backslash before every inline markup character, and before a line-start block
/// marker (`#`, `-`, `+`, `1.`), so no emphasis, link, heading, list, quote or table appears.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let body = line.trim_start_matches([' ', '\t']);
        out.push_str(&line[..line.len() - body.len()]);
        // `- x`, `+ x`, `1. x`, `1) x` at line start are list items
        let digits = body.chars().take_while(|c| c.is_ascii_digit()).count();
        let mut chars = body.chars().peekable();
        let heading = body.starts_with('#')
            && matches!(
                body.trim_start_matches('#').chars().next(),
                None | Some(' ' | '\t')
            );
        if body.starts_with(['-', '+']) || heading {
            out.push('\\');
        } else if digits > 0 && matches!(body[digits..].chars().next(), Some('.') | Some(')')) {
            for _ in 0..digits {
                if let Some(c) = chars.next() {
                    out.push(c);
                }
            }
            out.push('\\');
        }
        for c in chars {
            if MD_INLINE.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Discord markdown: `markdown` plus a zero-width space after `@`, so `@everyone`/`@here` do not
/// even render as mentions (the payload also sends `allowed_mentions: {parse: []}`).
pub fn discord(s: &str) -> String {
    break_mentions(&markdown(s), &['@'])
}

/// Mattermost markdown: `markdown` plus a zero-width space after `@` (user, `@channel`, `@all`,
/// `@here` mentions) so nobody is notified by probed text.
pub fn mattermost(s: &str) -> String {
    break_mentions(&markdown(s), &['@'])
}

/// WhatsApp text: it has no escape syntax, so a zero-width space follows each formatting marker
/// (`*` bold, `_` italic, `~` strike, `` ` `` monospace) that could open or close formatting: the
/// pair no longer encloses a word and the text shows as sent. A marker inside a word
/// (`SHOPIFY_TOKEN`) cannot format and is left alone, so copied names stay exact. Best effort:
/// WhatsApp documents the markers, not an escape.
pub fn whatsapp(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        out.push(c);
        if matches!(c, '*' | '_' | '~' | '`') && !inside_word(&chars, i) {
            out.push(ZWSP);
        }
    }
    out
}

/// Whether `chars[i]` sits between two letters or digits.
fn inside_word(chars: &[char], i: usize) -> bool {
    let alnum = |j: Option<usize>| {
        j.and_then(|j| chars.get(j))
            .is_some_and(|c| c.is_alphanumeric())
    };
    alnum(i.checked_sub(1)) && alnum(Some(i + 1))
}

/// Plain text (ntfy with markdown off, Gotify `text/plain`): nothing is markup; only control
/// characters other than newline and tab are dropped.
pub fn plain(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// The identity, for URLs ledgerd built itself (the dashboard link) in markups whose escape would
/// break them.
pub fn none(s: &str) -> String {
    s.to_string()
}

/// A zero-width space after each mark that could start a mention: one not preceded by a letter
/// or digit (`user@example.com` stays as is).
fn break_mentions(s: &str, marks: &[char]) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev: Option<char> = None;
    for c in s.chars() {
        out.push(c);
        if marks.contains(&c) && !prev.is_some_and(|p| p.is_alphanumeric()) {
            out.push(ZWSP);
        }
        prev = Some(c);
    }
    out
}

/// Escapes `raw` with `esc` and keeps the result within `max` characters by cutting the raw text
/// (marked with `…`) before escaping, never an escape sequence in half.
pub fn fit(raw: &str, max: usize, esc: fn(&str) -> String) -> String {
    let escaped = esc(raw);
    let len = escaped.chars().count();
    if len <= max {
        return escaped;
    }
    // the longest prefix whose escape (plus the mark) fits: escaping only grows text, so the
    // length is monotonic in the prefix and a binary search finds it
    let chars: Vec<char> = raw.chars().collect();
    let (mut lo, mut hi) = (0usize, chars.len().min(max));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let cut: String = chars[..mid].iter().collect();
        if esc(&cut).chars().count() < max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let cut: String = chars[..lo].iter().collect();
    if max == 0 {
        return String::new();
    }
    format!("{}…", esc(&cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const HOSTILE: &str =
        "<!channel> <@U123> *bold* [click](http://evil) @everyone <b>x</b> &amp;";

    #[test]
    fn slack_neutralises_mentions_and_links() {
        let e = slack(HOSTILE);
        assert!(!e.contains('<') && !e.contains('>'));
        assert!(e.contains("&lt;!channel&gt;"));
        assert!(e.contains("&lt;@U123&gt;"));
        assert!(e.contains("&amp;amp;"));
    }

    #[test]
    fn html_escapes_the_five_entities() {
        assert_eq!(
            html(r#"<b>x</b> & "q" 'a'"#),
            "&lt;b&gt;x&lt;/b&gt; &amp; &quot;q&quot; &#39;a&#39;"
        );
        assert_eq!(
            html("<img src=x onerror=\"alert(1)\">&'"),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;"
        );
        assert!(!html(HOSTILE).contains('<'));
    }

    #[test]
    fn markdown_escapes_inline_and_line_start_markup() {
        assert_eq!(markdown("*bold*"), r"\*bold\*");
        assert_eq!(markdown("[click](http://evil)"), r"\[click\](http://evil)");
        assert_eq!(markdown("a_b `c`"), r"a\_b \`c\`");
        assert_eq!(
            markdown("- item\n  + two\n12. three"),
            "\\- item\n  \\+ two\n12\\. three"
        );
        assert_eq!(markdown("# head"), r"\# head");
        assert_eq!(markdown("## h\n#7"), "\\## h\n#7");
        assert_eq!(markdown("v1.2.3 a-b"), "v1.2.3 a-b");
        assert_eq!(markdown("{{DATE(x)}}"), r"\{\{DATE(x)\}\}");
        assert_eq!(markdown(r"\*"), r"\\\*");
    }

    #[test]
    fn discord_and_mattermost_break_mentions() {
        for e in [discord(HOSTILE), mattermost(HOSTILE)] {
            assert!(!e.contains("@everyone"));
            assert!(e.contains("@\u{200B}everyone"));
            assert!(e.contains(r"\<@"));
            assert!(e.contains(r"\*bold\*"));
            assert!(e.contains(r"\[click\]"));
        }
        assert_eq!(discord("ops@example.com"), "ops@example.com");
    }

    #[test]
    fn whatsapp_breaks_formatting_pairs() {
        let e = whatsapp("*bold* _it_ ~s~ ```m```");
        assert!(!e.contains("*b"));
        assert!(e.contains("*\u{200B}bold*\u{200B}"));
        assert!(!e.contains("``"));
        assert_eq!(whatsapp("SHOPIFY_TOKEN a*b"), "SHOPIFY_TOKEN a*b");
        assert_eq!(whatsapp("_x_"), "_\u{200B}x_\u{200B}");
    }

    #[test]
    fn plain_drops_control_characters_only() {
        assert_eq!(plain("a\u{1b}[31mb\nc\td"), "a[31mb\nc\td");
        assert_eq!(plain(HOSTILE), HOSTILE);
    }

    #[test]
    fn fit_never_splits_an_escape() {
        let raw = "&&&&&&&&&&";
        let out = fit(raw, 12, html);
        assert!(out.chars().count() <= 12, "{out}");
        assert!(out.ends_with('…'));
        assert_eq!(out, "&amp;&amp;…");
        assert_eq!(fit("short", 10, html), "short");
        let long = "x".repeat(5000);
        assert_eq!(fit(&long, 100, markdown).chars().count(), 100);
        assert!(fit("***", 1, markdown).chars().count() <= 1);
    }
}
