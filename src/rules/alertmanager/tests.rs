use std::path::Path;
use std::time::Duration;

use super::*;
use crate::record::Labels;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const TREE: &str = r#"
global: { resolve_timeout: 1m }
route:
  receiver: default
  group_by: [alertname]
  group_wait: 20s
  routes:
    - match: { severity: critical }
      receiver: pager
      group_wait: 5s
      continue: true
    - matchers: ['severity=~"critical|warning"', 'team!="db"']
      receiver: chat
      group_by: ['...']
      routes:
        - match_re: { job: "api-.*" }
          receiver: api-chat
          group_interval: 1m
    - match: { severity: warning }
      receiver: never
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [job]
receivers:
  - name: default
  - name: pager
    pagerduty_configs: [{ routing_key: x }, { routing_key: y, send_resolved: false }]
  - name: chat
    slack_configs: [{ api_url: http://x, channel: '#a' }]
    email_configs: [{ to: a@b, send_resolved: true }]
  - name: api-chat
    webhook_configs: [{ url: http://x }]
  - name: never
"#;

fn tree() -> AlertmanagerConfig {
    parse(TREE, Path::new("am.yml")).unwrap()
}

#[test]
fn timings_and_receivers_are_inherited_and_defaulted() {
    let config = tree();
    assert_eq!(config.resolve_timeout, Duration::from_secs(60));
    let root = &config.route;
    assert_eq!(root.group_wait, Duration::from_secs(20));
    assert_eq!(root.group_interval, DEFAULT_GROUP_INTERVAL);
    let api = &root.routes[1].routes[0];
    assert_eq!(api.path, "route.routes[1].routes[0]");
    assert_eq!(api.group_wait, Duration::from_secs(20), "inherited");
    assert_eq!(api.group_interval, Duration::from_secs(60));
    assert_eq!(api.group_by, GroupBy::All, "inherited from its parent");
    // send_resolved: PagerDuty on by default, Slack off, email as written.
    let pager = config.receiver("pager").unwrap();
    assert_eq!(
        pager
            .integrations
            .iter()
            .map(|i| i.send_resolved)
            .collect::<Vec<_>>(),
        [true, false]
    );
    let chat = config.receiver("chat").unwrap();
    assert_eq!(chat.integration_list(), "slack, email");
    assert!(chat.sends_resolved(), "its email sends resolved");
    assert!(config.receiver("default").unwrap().integrations.is_empty());
}

#[test]
fn routing_follows_order_continue_and_the_deepest_match() {
    let config = tree();
    let receivers = |pairs: &[(&str, &str)]| {
        config
            .route_for(&labels(pairs))
            .into_iter()
            .map(|m| m.receiver)
            .collect::<Vec<_>>()
    };
    // continue: true on the pager route, so the chat route is tried too.
    assert_eq!(
        receivers(&[
            ("alertname", "A"),
            ("severity", "critical"),
            ("job", "api-gateway")
        ]),
        ["pager", "api-chat"]
    );
    // The chat route matches first and does not continue: `never` is shadowed.
    assert_eq!(
        receivers(&[("alertname", "A"), ("severity", "warning")]),
        ["chat"]
    );
    assert_eq!(
        receivers(&[("alertname", "A"), ("severity", "warning"), ("team", "db")]),
        ["never"]
    );
    assert_eq!(receivers(&[("alertname", "A")]), ["default"]);

    let found = config.route_for(&labels(&[
        ("alertname", "A"),
        ("severity", "warning"),
        ("job", "api-gateway"),
    ]));
    assert_eq!(
        found[0].path_text(),
        r#"route > route.routes[1] {severity=~"critical|warning", team!="db"} > route.routes[1].routes[0] {job=~"api-.*"}"#
    );
    assert_eq!(found[0].group_wait, Duration::from_secs(20));
    assert_eq!(found[0].group_interval, Duration::from_secs(60));
    assert_eq!(
        found[0].group_labels.len(),
        3,
        "group_by ... keeps every label"
    );
}

#[test]
fn inhibition_needs_equal_labels_and_spares_two_sided_matches() {
    let config = tree();
    let warning = labels(&[("alertname", "W"), ("severity", "warning"), ("job", "a")]);
    let critical_a = labels(&[("alertname", "C"), ("severity", "critical"), ("job", "a")]);
    let critical_b = labels(&[("alertname", "C"), ("severity", "critical"), ("job", "b")]);
    assert_eq!(
        config.inhibited_by(&warning, std::slice::from_ref(&critical_b)),
        None
    );
    let found = config
        .inhibited_by(&warning, &[critical_b, critical_a])
        .unwrap();
    assert_eq!(found.source, 1);
    assert_eq!(found.rule, "inhibit_rules[0]");
    assert!(
        found.rule_text.contains("when equal on job"),
        "{}",
        found.rule_text
    );
    // A critical alert is never muted by this rule (it is no target).
    assert_eq!(
        config.inhibited_by(&labels(&[("severity", "critical")]), &[]),
        None
    );

    // Both sides match `severity=~".+"`: such alerts do not mute each other.
    let broad = parse(
        "route: { receiver: r }\nreceivers: [{ name: r }]\ninhibit_rules:\n  - { source_matchers: ['severity=~\".+\"'], target_matchers: ['severity=~\".+\"'] }\n",
        Path::new("b.yml"),
    )
    .unwrap();
    let a = labels(&[("alertname", "A"), ("severity", "warning")]);
    let b = labels(&[("alertname", "B"), ("severity", "critical")]);
    assert_eq!(broad.inhibited_by(&a, &[b]), None);
}

#[test]
fn configmaps_are_read_and_mistakes_are_named() {
    let shipped = crate::rules::shipped_alertmanager().unwrap();
    assert!(shipped
        .origin
        .ends_with("#ConfigMap/alertmanager-config/alertmanager.yml"));
    assert_eq!(shipped.receiver_names(), ["pager", "chat"]);
    let warning = labels(&[
        ("alertname", "GatewayHighErrorRate"),
        ("severity", "warning"),
        ("job", "api-gateway"),
    ]);
    let route = &shipped.route_for(&warning)[0];
    assert_eq!(route.receiver, "chat");
    assert_eq!(route.group_wait, Duration::from_secs(15));

    let missing = parse(
        "route: { receiver: nobody }\nreceivers: [{ name: r }]\n",
        Path::new("m.yml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        missing.contains("receiver `nobody` is not defined"),
        "{missing}"
    );
    let bad = parse(
        "route: { receiver: r, routes: [{ matchers: ['a=~\"(\"'] }] }\nreceivers: [{ name: r }]\n",
        Path::new("m.yml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad.starts_with("m.yml: route.routes[0]: matchers:"),
        "{bad}"
    );
    assert!(parse("groups: []\n", Path::new("x.yml")).is_err());
}

#[test]
fn the_drill_config_keeps_routing_and_names_and_replaces_every_integration() {
    let text = format!("{TREE}time_intervals: [{{ name: nights, time_intervals: [{{ times: [{{ start_time: '22:00', end_time: '23:00' }}] }}] }}]\ntemplates: ['/etc/am/*.tmpl']\n");
    let rewritten = drill_config(&text, Path::new("am.yml"), "http://127.0.0.1:9", 10.0).unwrap();
    let value: serde_norway::Value = serde_norway::from_str(&rewritten).unwrap();
    assert!(value.get("templates").is_none());
    assert!(
        value.get("time_intervals").is_some(),
        "unknown fields are kept"
    );
    assert_eq!(value["global"]["resolve_timeout"].as_str(), Some("6s"));
    assert_eq!(value["route"]["group_wait"].as_str(), Some("2s"));
    assert_eq!(
        value["route"]["group_interval"].as_str(),
        Some("30s"),
        "a default, scaled"
    );
    assert_eq!(value["route"]["repeat_interval"].as_str(), Some("24m"));
    assert_eq!(
        value["route"]["routes"][0]["group_wait"].as_str(),
        Some("500ms")
    );
    assert!(!rewritten.contains("api_url") && !rewritten.contains("routing_key"));
    let reread = parse(&rewritten, Path::new("drill.yml")).unwrap();
    assert_eq!(reread.receiver_names(), tree().receiver_names());
    let pager = &value["receivers"][1]["webhook_configs"];
    assert_eq!(
        pager[0]["url"].as_str(),
        Some("http://127.0.0.1:9/notify/pagerduty/0")
    );
    assert_eq!(pager[1]["send_resolved"].as_bool(), Some(false));
    let chat = &value["receivers"][2]["webhook_configs"];
    assert_eq!(
        chat[0]["url"].as_str(),
        Some("http://127.0.0.1:9/notify/slack/0")
    );
    assert_eq!(
        chat[0]["send_resolved"].as_bool(),
        Some(false),
        "Slack's default"
    );
    assert_eq!(
        chat[1]["url"].as_str(),
        Some("http://127.0.0.1:9/notify/email/0")
    );
    assert!(
        value["receivers"][0].get("webhook_configs").is_none(),
        "a receiver without integrations stays without"
    );
    assert_eq!(
        reread.route.routes[1].routes[0].group_interval,
        Duration::from_secs(6)
    );
}
