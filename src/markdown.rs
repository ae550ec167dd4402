//! Markdown as people write it, and as HTML that is safe to put in a page.
//!
//! Markdown is stored as written and rendered when it is served: CommonMark
//! (with tables and strikethrough) by pulldown-cmark, then sanitized by
//! ammonia, which keeps an allow-list of tags and attributes. Scripts,
//! styles, event handlers, `javascript:` and `data:` URLs never survive,
//! whatever the markdown (or HTML inside it) says. Images do not either: an
//! image from another server tells it who reads the incident, and when.

use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// Links open without handing the opener or the referrer to the target, and
/// lend it no ranking.
const LINK_REL: &str = "noopener noreferrer nofollow";

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder.link_rel(Some(LINK_REL)).url_schemes(["http", "https", "mailto"].into()).rm_tags(["img"]);
    builder
});

/// `markdown` as sanitized HTML.
pub fn to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut rendered = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut rendered, Parser::new_ext(markdown, options));
    SANITIZER.clean(&rendered).to_string()
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn markdown_renders_and_links_carry_rel() {
        let html = to_safe_html("**bold** [docs](https://example.com/a)");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains(r#"href="https://example.com/a""#), "{html}");
        assert!(html.contains(r#"rel="noopener noreferrer nofollow""#), "{html}");
    }

    #[test]
    fn scripts_handlers_and_script_urls_are_removed() {
        for payload in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "![pixel](https://tracker.example/p.gif)",
        ] {
            let html = to_safe_html(payload).to_ascii_lowercase();
            for banned in ["<script", "onerror", "javascript:", "data:", "<img"] {
                assert!(!html.contains(banned), "{payload:?} gave {html:?}");
            }
        }
    }
}
