//! Grafana dashboards: the panels and their PromQL, read from a dashboard's
//! JSON or a ConfigMap holding it (every layout: panels, panels nested in
//! collapsed rows, legacy `rows[]`), with Grafana's variables substituted
//! the way Grafana does for a Prometheus data source. (`prom::panels` asks
//! them of Prometheus, to list the panels that would show "No data".)

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::RulesError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Panel {
    pub title: String,
    /// The panel's PromQL queries, as written.
    pub queries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    pub title: String,
    pub origin: String,
    pub panels: Vec<Panel>,
    /// Template variables: name → the value the queries get.
    pub variables: Vec<(String, String)>,
}

/// Reads every dashboard in `text`: a dashboard's JSON, or YAML documents
/// with ConfigMaps whose `*.json` keys hold dashboards.
pub fn parse_dashboards(text: &str, origin: &Path) -> Result<Vec<Dashboard>, RulesError> {
    let origin_text = origin.display().to_string();
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(dashboard_of(&value, &origin_text).into_iter().collect());
    }
    let mut found = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let Ok(value) = serde_norway::Value::deserialize(document) else {
            break;
        };
        if value.get("kind").and_then(|k| k.as_str()) != Some("ConfigMap") {
            continue;
        }
        let name = value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or("?");
        let Some(data) = value.get("data").and_then(|d| d.as_mapping()) else {
            continue;
        };
        for (key, embedded) in data {
            let (Some(key), Some(embedded)) = (key.as_str(), embedded.as_str()) else {
                continue;
            };
            if !key.ends_with(".json") {
                continue;
            }
            let inner = format!("{origin_text}#ConfigMap/{name}/{key}");
            let json: Value =
                serde_json::from_str(embedded).map_err(|source| RulesError::Json {
                    origin: inner.clone(),
                    source,
                })?;
            found.extend(dashboard_of(&json, &inner));
        }
    }
    Ok(found)
}

fn dashboard_of(value: &Value, origin: &str) -> Option<Dashboard> {
    // An exported dashboard may be wrapped: {"dashboard": {...}}.
    let value = value.get("dashboard").unwrap_or(value);
    if value.get("panels").is_none() && value.get("rows").is_none() {
        return None;
    }
    let mut panels = Vec::new();
    let mut collect = |list: Option<&Value>| {
        for panel in list.and_then(Value::as_array).into_iter().flatten() {
            collect_panel(panel, &mut panels);
        }
    };
    collect(value.get("panels"));
    for row in value
        .get("rows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect(row.get("panels"));
    }
    Some(Dashboard {
        title: value
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("(untitled)")
            .to_string(),
        origin: origin.to_string(),
        panels,
        variables: variables(value),
    })
}

fn collect_panel(panel: &Value, into: &mut Vec<Panel>) {
    // A collapsed row carries its panels inside.
    for child in panel
        .get("panels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_panel(child, into);
    }
    if panel.get("type").and_then(Value::as_str) == Some("row") {
        return;
    }
    let queries: Vec<String> = panel
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| !t.get("hide").and_then(Value::as_bool).unwrap_or(false))
        .filter(|t| {
            t.get("datasource")
                .and_then(|d| d.get("type"))
                .and_then(Value::as_str)
                != Some("__expr__")
        })
        .filter_map(|t| t.get("expr").and_then(Value::as_str))
        .filter(|e| !e.trim().is_empty())
        .map(str::to_string)
        .collect();
    if !queries.is_empty() {
        into.push(Panel {
            title: panel
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("(untitled)")
                .to_string(),
            queries,
        });
    }
}

/// Each template variable's value as Grafana would substitute it: the
/// current value; several values (or "All") as `(a|b)`, regex-escaped, as
/// the Prometheus data source formats them.
fn variables(dashboard: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for variable in dashboard
        .get("templating")
        .and_then(|t| t.get("list"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = variable.get("name").and_then(Value::as_str) else {
            continue;
        };
        let current = variable.get("current").and_then(|c| c.get("value"));
        let options: Vec<String> = variable
            .get("options")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("value").and_then(Value::as_str))
            .filter(|v| *v != "$__all")
            .map(str::to_string)
            .collect();
        let all = || match variable.get("allValue").and_then(Value::as_str) {
            Some(all) => all.to_string(),
            None if options.is_empty() => ".*".to_string(),
            None => regex_list(&options),
        };
        let value = match current {
            Some(Value::String(v)) if v == "$__all" => all(),
            Some(Value::String(v)) => v.clone(),
            Some(Value::Array(values)) => {
                let values: Vec<String> = values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                if values.iter().any(|v| v == "$__all") {
                    all()
                } else if values.len() == 1 {
                    values[0].clone()
                } else {
                    regex_list(&values)
                }
            }
            _ => match variable.get("query").and_then(Value::as_str) {
                // A custom variable lists its values: the first one is the default.
                Some(query) if variable.get("type").and_then(Value::as_str) == Some("custom") => {
                    query.split(',').next().unwrap_or("").trim().to_string()
                }
                _ => ".*".to_string(),
            },
        };
        found.push((name.to_string(), value));
    }
    found
}

fn regex_list(values: &[String]) -> String {
    let escaped: Vec<String> = values
        .iter()
        .map(|v| {
            v.chars()
                .flat_map(|c| {
                    if "\\.+*?()|[]{}^$".contains(c) {
                        vec!['\\', c]
                    } else {
                        vec![c]
                    }
                })
                .collect()
        })
        .collect();
    format!("({})", escaped.join("|"))
}

/// Grafana's interval variables for a dashboard viewed over `range`, with
/// `scrape` as the data source's scrape interval: `$__interval` is the range
/// over ~1000 points, at least the scrape interval; `$__rate_interval` is
/// max($__interval + scrape, 4 × scrape).
pub fn interval_variables(range: Duration, scrape: Duration) -> Vec<(String, String)> {
    let interval = (range / 1000).max(scrape);
    let rate_interval = (interval + scrape).max(scrape * 4);
    let ms = |d: Duration| d.as_millis().max(1);
    vec![
        ("__rate_interval_ms".into(), ms(rate_interval).to_string()),
        ("__rate_interval".into(), format!("{}ms", ms(rate_interval))),
        ("__interval_ms".into(), ms(interval).to_string()),
        ("__interval".into(), format!("{}ms", ms(interval))),
        ("__range_ms".into(), ms(range).to_string()),
        ("__range_s".into(), range.as_secs().max(1).to_string()),
        ("__range".into(), format!("{}s", range.as_secs().max(1))),
    ]
}

/// Substitutes `$var`, `${var}`, `${var:format}` and `[[var]]`.
pub fn substitute(query: &str, variables: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut out = String::new();
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    let word = |from: usize| {
        let mut end = from;
        while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
            end += 1;
        }
        end
    };
    while i < chars.len() {
        let (name_start, name_end, after) = match chars[i] {
            '$' if chars.get(i + 1) == Some(&'{') => {
                let end = word(i + 2);
                let close = chars[end..].iter().position(|c| *c == '}').map(|p| end + p);
                match close {
                    Some(close) => (i + 2, end, close + 1),
                    None => (0, 0, 0),
                }
            }
            '$' => {
                let end = word(i + 1);
                (i + 1, end, end)
            }
            '[' if chars.get(i + 1) == Some(&'[') => {
                let end = word(i + 2);
                let close = chars[end..]
                    .windows(2)
                    .position(|w| w == [']', ']'])
                    .map(|p| end + p);
                match close {
                    Some(close) => (i + 2, end, close + 2),
                    None => (0, 0, 0),
                }
            }
            _ => (0, 0, 0),
        };
        if name_end > name_start {
            let name: String = chars[name_start..name_end].iter().collect();
            if let Some(value) = lookup(&name) {
                out.push_str(&value);
                i = after;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_substituted_in_every_syntax() {
        let variables = vec![
            ("__rate_interval".to_string(), "1m".to_string()),
            ("job".to_string(), "api".to_string()),
            ("__range".to_string(), "3600s".to_string()),
        ];
        assert_eq!(
            substitute(
                r#"rate(x{job="$job"}[$__rate_interval]) + y{job="${job}"} + z{job="[[job]]"}[$__range]"#,
                &variables
            ),
            r#"rate(x{job="api"}[1m]) + y{job="api"} + z{job="api"}[3600s]"#
        );
        assert_eq!(substitute("$unknown", &variables), "$unknown");
    }

    #[test]
    fn rate_interval_follows_grafana() {
        let vars = interval_variables(Duration::from_secs(6 * 3600), Duration::from_secs(15));
        let get = |n: &str| vars.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("__interval"), "21600ms");
        assert_eq!(get("__rate_interval"), "60000ms", "max(21.6s + 15s, 60s)");
    }

    #[test]
    fn panels_in_rows_and_legacy_layouts_are_found() {
        let json = r#"{"title": "d", "panels": [
            {"type": "row", "collapsed": true, "panels": [{"title": "inner", "targets": [{"expr": "up"}]}]},
            {"title": "top", "targets": [{"expr": "a"}, {"expr": "b", "hide": true}]}
          ], "rows": [{"panels": [{"title": "legacy", "targets": [{"expr": "c"}]}]}],
          "templating": {"list": [{"name": "job", "current": {"value": ["a.b", "c"]}}]}}"#;
        let found = parse_dashboards(json, Path::new("d.json")).unwrap();
        let titles: Vec<_> = found[0].panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, vec!["inner", "top", "legacy"]);
        assert_eq!(found[0].panels[1].queries, vec!["a"]);
        assert_eq!(
            found[0].variables,
            vec![("job".to_string(), r"(a\.b|c)".to_string())]
        );
    }
}
