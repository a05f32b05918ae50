//! The ledger held against a live Prometheus (`--prometheus URL`): an
//! alert already pending or firing there is `noisy` (its healthy traffic
//! sets it off); one that can be provoked but whose selectors match no
//! series there is `dead` in that environment, and says which selector.

use super::ledger::{AlertLedger, Verdict};
use crate::prom::{PromClient, PromError, QueryResult};

/// Judges `alerts` (with the raw selectors each needs) against `client`.
pub async fn judge(
    client: &PromClient,
    alerts: &mut [AlertLedger],
    selectors: &[Vec<String>],
) -> Result<(), PromError> {
    let url = client.base_url().to_string();
    let active = client.alerts().await?;
    for (alert, needed) in alerts.iter_mut().zip(selectors) {
        let state = active
            .iter()
            .filter(|a| a.labels.get("alertname") == Some(&alert.alert))
            .map(|a| a.state.clone())
            .max();
        if let Some(state) = state {
            alert.verdict = Verdict::Noisy;
            alert.why = format!("already {state} at {url}, before any provocation");
            continue;
        }
        if !matches!(alert.verdict, Verdict::Proven | Verdict::Late) {
            continue;
        }
        for selector in needed {
            let found = match client.query(&format!("count({selector})"), None).await? {
                QueryResult::Vector(samples) => !samples.is_empty(),
                _ => true,
            };
            if !found {
                alert.verdict = Verdict::Dead;
                alert.why = format!(
                    "provable (promtool fired it), but `{selector}` matches no series at {url}: there it can never fire"
                );
                break;
            }
        }
    }
    Ok(())
}
