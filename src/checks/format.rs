//! A check as a scenario writes it: one flat mapping whose keys say which
//! kind it is (`fires_within`, `slo`, `dashboard`, …) and give its
//! settings. The keys are listed once, here: the struct serde reads and the
//! list of keys a check set (from which the kinds' validation finds the
//! keys that do not go with the kind a check says) come from one list.
//!
//! A new kind that needs a new key adds it here; which kind reads which key
//! is the kind's to say (`Check::KEYS`).

use serde::Deserialize;

use crate::spec::units::{HumanDuration, Quantile};
use crate::spec::{OneOrMany, ScalarText};

/// Declares `CheckSpec` (every key optional, unknown keys refused) and
/// `CheckSpec::keys_set`, from one list of keys.
macro_rules! check_spec {
    ($($(#[$doc:meta])* $key:ident: $type:ty,)*) => {
        /// One check, written flat; `checks::kinds` decides which kind it
        /// is from its keys and says what is missing.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct CheckSpec {
            $($(#[$doc])* #[serde(default)] pub $key: Option<$type>,)*
        }

        impl CheckSpec {
            /// Every key a check may have, in the order the format lists them.
            pub const KEYS: &'static [&'static str] = &[$(unraw(stringify!($key)),)*];

            /// The keys this check sets, in the format's order.
            pub fn keys_set(&self) -> Vec<&'static str> {
                let mut set = Vec::new();
                $(if self.$key.is_some() {
                    set.push(unraw(stringify!($key)));
                })*
                set
            }
        }
    };
}

/// A key as written: `r#for` (a Rust keyword as a field) is `for`.
const fn unraw(key: &'static str) -> &'static str {
    match key.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(unrawn) => unrawn,
            Err(_) => key,
        },
        _ => key,
    }
}

check_spec! {
    name: String,
    alert: String,
    fires_within: HumanDuration,
    resolves_within: HumanDuration,
    silent_during: String,
    allow_pending: bool,
    /// A notification reaches `receiver` within this long after `after`.
    notifies_within: HumanDuration,
    /// The resolved notification reaches `receiver` within this long.
    notifies_resolved_within: HumanDuration,
    /// Alertmanager routes the alert to this receiver.
    routed_to: String,
    /// The receiver of `notifies_within`, `notifies_resolved_within` and
    /// (optionally) `no_notifications_during`.
    receiver: String,
    /// No notification during this phase (to `receiver`, about `alert`).
    no_notifications_during: String,
    /// `<phase>.start`, `<phase>.end`, or `condition` (the moment the alert's own
    /// expression, or `condition:` if given, first became true during `during`).
    after: String,
    condition: String,
    slo: String,
    quantile: Quantile,
    /// A latency (`500ms`) for `slo: latency`, a ratio (`1%`) for `slo: error_ratio`.
    below: ScalarText,
    during: String,
    source: OneOrMany,
    /// A Grafana dashboard (JSON, or a ConfigMap holding it) whose panels must
    /// all have data after the traffic.
    dashboard: String,
    /// Panels (by title) the dashboard check leaves out.
    except: Vec<String>,
    /// SLOs: judged over every window of this length in the phase (sliding,
    /// stepped by a second), not over the whole phase.
    window: HumanDuration,
    /// SLOs with `window`: fail only when this many windows back to back
    /// are bad (`for: 3` or `for: 3 windows`).
    r#for: ScalarText,
    /// A bound relative to the run's baseline: `baseline + 10%`.
    at_most: ScalarText,
    /// With `at_most`: never a failure within this of the baseline.
    floor: HumanDuration,
}
