//! A condition's answer to a step, composed along its tree from its
//! leaves' (`crossing`): `and` holds once all its parts do, `or` once one
//! does, `unless` while its exception does not — with the parts a step
//! does not move (guards) assumed to let the alert fire, and said so. A
//! leaf read through recording rules is seen up to their groups' intervals
//! later.

use super::crossing;
use super::model::{Bounds, Caveat, End, Knowledge, Response, Step};
use crate::analyze::condition::{Compound, Leaf, Shape};
use crate::time::format_duration_secs;

/// The tree's answer: leaves answer, compounds compose.
pub(super) fn respond(shape: &Shape, step: Step, primary: &Leaf, k: &Knowledge) -> Response {
    match shape {
        Shape::Leaf(leaf) => delayed(
            crossing::respond(leaf, step, primary, k),
            leaf.recording_delay_seconds,
        ),
        Shape::Compound(Compound::And { of }) => of
            .iter()
            .map(|s| respond(s, step, primary, k))
            .reduce(both)
            .unwrap_or(Response::Unknown("an empty `and`".into())),
        Shape::Compound(Compound::Or { of }) => of
            .iter()
            .map(|s| respond(s, step, primary, k))
            .reduce(either)
            .unwrap_or(Response::Unknown("an empty `or`".into())),
        Shape::Compound(Compound::Unless { main, except }) => unless(
            respond(main, step, primary, k),
            respond(except, step, primary, k),
        ),
    }
}

/// A leaf read through recording rules is seen up to `lag` later: each
/// rule's group writes its result at its own next evaluation.
fn delayed(response: Response, lag: f64) -> Response {
    if lag <= 0.0 {
        return response;
    }
    let later = |a: Bounds| a.plus(0.0, lag);
    match response {
        Response::Holds {
            start,
            end,
            why,
            caveat,
        } => Response::Holds {
            start: later(start),
            end: match end {
                End::Undone(undone) => End::Undone(undone.map(later)),
                pulse => pulse,
            },
            why: format!(
                "{why}, then up to {} until the recording rules' groups write it",
                format_duration_secs(lag)
            ),
            caveat,
        },
        other => other,
    }
}

/// A guard's text, short.
fn short(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 70 {
        format!("{}…", text.chars().take(69).collect::<String>())
    } else {
        text
    }
}

fn assuming(response: Response, note: String) -> Response {
    match response {
        Response::Holds {
            start,
            end,
            why,
            caveat,
        } => Response::Holds {
            start,
            end,
            why: format!("{why} ({note})"),
            caveat,
        },
        other => other,
    }
}

/// `a and b`: both must hold.
fn both(a: Response, b: Response) -> Response {
    use Response::*;
    match (a, b) {
        (never @ Never { .. }, _) | (_, never @ Never { .. }) => never,
        (unknown @ Unknown(_), _) | (_, unknown @ Unknown(_)) => unknown,
        (Unaffected(x), Unaffected(y)) => Unaffected(format!("{x} and {y}")),
        (moved @ Holds { .. }, Unaffected(guard)) | (Unaffected(guard), moved @ Holds { .. }) => {
            assuming(moved, format!("assuming `{}` holds", short(&guard)))
        }
        (
            Holds {
                start: s1,
                end: e1,
                why: w1,
                caveat: c1,
            },
            Holds {
                start: s2,
                end: e2,
                why: w2,
                caveat: c2,
            },
        ) => {
            let end = match (e1, e2) {
                (End::Undone(Some(u1)), End::Undone(Some(u2))) => End::Undone(Some(u1.earlier(u2))),
                (End::Undone(_), End::Undone(_)) => End::Undone(None),
                _ => return Unknown("a single event joined with `and`".into()),
            };
            Holds {
                start: s1.later(s2),
                end,
                why: format!("{w1}; and {w2}"),
                caveat: merge(c1, c2),
            }
        }
    }
}

fn merge(a: Option<Caveat>, b: Option<Caveat>) -> Option<Caveat> {
    a.or(b)
}

/// `a or b`: one is enough.
fn either(a: Response, b: Response) -> Response {
    use Response::*;
    match (a, b) {
        (unknown @ Unknown(_), _) | (_, unknown @ Unknown(_)) => unknown,
        (Unaffected(x), Unaffected(y)) => Unaffected(format!("{x} or {y}")),
        (moved @ Holds { .. }, Unaffected(other)) | (Unaffected(other), moved @ Holds { .. }) => {
            assuming(
                moved,
                format!("assuming `{}` did not hold before", short(&other)),
            )
        }
        (moved @ Holds { .. }, Never { .. }) | (Never { .. }, moved @ Holds { .. }) => moved,
        (never @ Never { .. }, Never { .. }) => never,
        (never @ Never { .. }, Unaffected(_)) | (Unaffected(_), never @ Never { .. }) => never,
        (
            Holds {
                start: s1,
                end: e1,
                why: w1,
                caveat: c1,
            },
            Holds {
                start: s2,
                end: e2,
                why: w2,
                caveat: c2,
            },
        ) => {
            let end = match (e1, e2) {
                (End::Undone(Some(u1)), End::Undone(Some(u2))) => End::Undone(Some(u1.later(u2))),
                (End::Undone(_), End::Undone(_)) => End::Undone(None),
                _ => return Unknown("a single event joined with `or`".into()),
            };
            // The sooner of the two decides; its caveat only if both have one.
            Holds {
                start: s1.earlier(s2),
                end,
                why: format!("{w1}; or {w2}"),
                caveat: if c1.is_some() && c2.is_some() {
                    c1
                } else {
                    None
                },
            }
        }
    }
}

/// `main unless except`: main must hold and except not.
fn unless(main: Response, except: Response) -> Response {
    use Response::*;
    match (main, except) {
        (moved @ Holds { .. }, Unaffected(except)) => assuming(
            moved,
            format!("assuming `{}` does not hold", short(&except)),
        ),
        (moved @ Holds { .. }, Never { .. }) => moved,
        (Holds { .. }, _) => Unknown("the step also moves the exception of `unless`".into()),
        (other, _) => other,
    }
}
