//! What reading a condition needs to know besides the expression: the
//! recording rules of the files given (to follow a recorded series to what
//! its rule computes), the group of the rule being read (a recording rule
//! of the same group runs just before it), and how deep in a chain of
//! recording rules the reading is.

use std::cell::Cell;

use promql_parser::parser::VectorSelector;

use super::model::{Recording, Recordings, Unmodelled};
use crate::rules::promql::metric_name;

/// What the reader needs to know: the recording rules of the files given.
pub struct Reader<'a> {
    pub recordings: &'a Recordings,
    /// The group of the rule being read: recording rules of the same group
    /// are evaluated just before it, in order, with no delay.
    pub(super) group: Option<&'a str>,
    /// How deep in a chain of recording rules the reading is (a rule that
    /// reads itself must not loop).
    pub(super) depth: Cell<u8>,
}

impl<'a> Reader<'a> {
    pub fn new(recordings: &'a Recordings) -> Self {
        Reader {
            recordings,
            group: None,
            depth: Cell::new(0),
        }
    }

    /// Reading a rule of `group`.
    pub fn in_group(self, group: &'a str) -> Self {
        Reader {
            group: Some(group),
            ..self
        }
    }

    pub(super) fn is_recorded(&self, name: &str) -> bool {
        self.recordings.contains_key(name)
    }

    /// The one recording rule a selector reads, if its labels tell which.
    pub fn recording_for(&self, selector: &VectorSelector) -> Result<&'a Recording, Unmodelled> {
        recording_for(self.recordings, selector)
    }
}

/// The one recording rule of `recordings` a selector reads, if its labels
/// tell which (a rule whose own labels contradict a matcher is not it).
pub fn recording_for<'a>(
    recordings: &'a Recordings,
    selector: &VectorSelector,
) -> Result<&'a Recording, Unmodelled> {
    let name = metric_name(selector).unwrap_or_default();
    let candidates: Vec<&Recording> = recordings
        .get(&name)
        .into_iter()
        .flatten()
        .filter(|r| {
            selector.matchers.matchers.iter().all(|m| {
                m.name == "__name__" || r.labels.get(&m.name).is_none_or(|value| m.is_match(value))
            })
        })
        .collect();
    let Some(first) = candidates.first() else {
        return Err(Unmodelled::RecordedHere(format!(
            "reads `{selector}`, but no recording rule in these files writes `{name}` with those labels"
        )));
    };
    let text = first.expr.to_string();
    if candidates.iter().any(|r| r.expr.to_string() != text) {
        return Err(Unmodelled::RecordedHere(format!(
            "reads `{selector}`, which {} recording rules write with different expressions (select the labels that tell them apart)",
            candidates.len()
        )));
    }
    Ok(first)
}

/// A series the model reads directly must not be a recorded one: one
/// recorded here is followed only as a plain selector (not through a
/// window or absent()), one recorded elsewhere holds nobody knows what.
pub(super) fn check_recorded(name: &str, reader: &Reader) -> Result<(), Unmodelled> {
    if reader.is_recorded(name) {
        Err(Unmodelled::RecordedHere(format!(
            "reads `{name}`, recorded by a rule in these files, through a window or absent(), which the model does not follow"
        )))
    } else if name.contains(':') {
        Err(Unmodelled::RecordedElsewhere(name.to_string()))
    } else {
        Ok(())
    }
}
