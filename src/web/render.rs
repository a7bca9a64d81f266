//! The dashboard's template environment: the minijinja templates in `src/web/templates/`,
//! embedded in the binary with `include_str!` and compiled once, auto-escaping every `.html`
//! template through the codebase's one HTML escaper (`alert::escape::html`), so probed text stays
//! text (lesson 22) unless a template marks it safe, which none does. Undefined variables are
//! errors, not empty strings. It owns no page content and builds no context: `pages.rs` does.

use crate::alert::escape;
use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value,
};
use std::sync::LazyLock;

/// Every template, by name (the name's extension decides auto-escaping: `.html` escapes).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("index.html", include_str!("templates/index.html")),
    ("lesson.html", include_str!("templates/lesson.html")),
    ("probe.html", include_str!("templates/probe.html")),
    ("form_error.html", include_str!("templates/form_error.html")),
];

/// Built on first use, shared by every request. The templates are part of the binary, so a
/// syntax error in one is a build defect that `tests::every_template_compiles` catches; should
/// one slip through, every page answers 500 with the template's error in the log, never a
/// silently empty page.
static ENV: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(formatter);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("template {name}: {e:#}"))?;
    }
    Ok(env)
});

fn env() -> Result<&'static Environment<'static>, Error> {
    ENV.as_ref()
        .map_err(|e| Error::new(ErrorKind::TemplateNotFound, e.clone()))
}

/// minijinja's default formatter, except that HTML auto-escaping goes through
/// `alert::escape::html` (one escaper for the whole codebase). `none` prints nothing.
fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if *state.auto_escape() == AutoEscape::Html && !value.is_safe() {
        if value.is_none() || value.is_undefined() {
            return Ok(());
        }
        let text = match value.as_str() {
            Some(s) => escape::html(s),
            None => escape::html(&value.to_string()),
        };
        return out.write_str(&text).map_err(Error::from);
    }
    minijinja::escape_formatter(out, state, value)
}

/// Renders the named template with `ctx`.
pub fn render(name: &str, ctx: Value) -> Result<String, Error> {
    env()?.get_template(name)?.render(ctx)
}

/// Renders template source against the same environment (tests of single macros).
#[cfg(test)]
pub fn render_str(source: &str, ctx: Value) -> Result<String, Error> {
    env()?
        .template_from_named_str("test.html", source)?
        .render(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_template_compiles() {
        let env = env().unwrap();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn auto_escape_uses_the_one_escaper() {
        let t = env()
            .unwrap()
            .template_from_named_str("t.html", "<p title=\"{{ v }}\">{{ v }}</p>{{ n }}|{{ z }}")
            .unwrap();
        let out = t
            .render(context! { v => "<img src=x onerror='a(\"1\")'>&/", n => 3, z => () })
            .unwrap();
        let e = escape::html("<img src=x onerror='a(\"1\")'>&/");
        assert_eq!(out, format!("<p title=\"{e}\">{e}</p>3|"));
        assert!(!out.contains("<img"));
    }

    #[test]
    fn undefined_values_are_errors() {
        let t = env().unwrap().template_from_str("{{ missing }}").unwrap();
        assert!(t.render(context! {}).is_err());
    }
}
