//! The HTML report: one self-contained file (no CDN, works offline and in
//! print) — the template in `html/template.html` draws the view model, which
//! is embedded in the page as JSON.

use super::{view, Report};

const TEMPLATE: &str = include_str!("html/template.html");
const PLACEHOLDER: &str = "{{REPORT_VIEW_JSON}}";

pub fn render(report: &Report) -> String {
    let view = view::build(report);
    let json = serde_json::to_string(&view).unwrap_or_else(|_| "null".into());
    // Inside <script>, `</script>` or `<!--` in the data would end or change
    // the element; `\u003c` is the same character to JSON.parse.
    let json = json.replace('<', "\\u003c");
    TEMPLATE.replacen(PLACEHOLDER, &json, 1)
}
