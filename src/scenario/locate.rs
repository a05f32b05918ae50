//! Where field paths (`phases[1].rate`, `crate::spec::FieldPath`) are in
//! the file.
//!
//! serde tells us line and column only for errors it finds itself; problems
//! found by validation (an unknown phase named in a check, a zero rate) are
//! located by walking the YAML parser's events (yaml-rust2, which keeps a
//! position on each) along the same path.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

use crate::spec::{FieldPath, Segment};

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where every node of the file's first document is.
pub struct Locator {
    positions: HashMap<Vec<Segment>, Position>,
}

enum Frame {
    Mapping { key: Option<String> },
    Sequence { next: usize },
}

impl Locator {
    pub fn new(text: &str) -> Self {
        let mut positions = HashMap::new();
        let mut frames: Vec<Frame> = Vec::new();
        let mut path: Vec<Segment> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Ok((event, mark)) = parser.next_token() {
            let position = Position {
                line: mark.line(),
                column: mark.col() + 1,
            };
            match event {
                Event::StreamEnd | Event::DocumentEnd => break,
                Event::Scalar(..) | Event::Alias(_) => {
                    if let Some(Frame::Mapping { key: key @ None }) = frames.last_mut() {
                        if let Event::Scalar(text, ..) = event {
                            *key = Some(text);
                        } else {
                            *key = Some(String::new());
                        }
                        continue;
                    }
                    if let Some(segment) = value_segment(&mut frames) {
                        path.push(segment);
                        positions.entry(path.clone()).or_insert(position);
                        path.pop();
                    } else {
                        positions.entry(Vec::new()).or_insert(position);
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    if let Some(segment) = value_segment(&mut frames) {
                        path.push(segment);
                    }
                    positions.entry(path.clone()).or_insert(position);
                    frames.push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Mapping { key: None }
                    } else {
                        Frame::Sequence { next: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    frames.pop();
                    if !frames.is_empty() {
                        path.pop();
                    }
                }
                _ => {}
            }
        }
        Locator { positions }
    }

    /// The position of the value at `path`, or of the closest enclosing node
    /// that exists (a missing field is reported at its parent mapping).
    pub fn locate(&self, path: &FieldPath) -> Position {
        (0..=path.0.len())
            .rev()
            .find_map(|len| self.positions.get(&path.0[..len]).copied())
            .unwrap_or(Position { line: 1, column: 1 })
    }
}

impl Locator {
    /// The field whose value begins closest before `position`: where a
    /// syntax error sits, for a message that names a field.
    pub fn path_at(&self, position: Position) -> FieldPath {
        self.positions
            .iter()
            .filter(|(_, p)| (p.line, p.column) <= (position.line, position.column))
            .max_by_key(|(path, p)| (p.line, p.column, path.len()))
            .map(|(path, _)| FieldPath(path.clone()))
            .unwrap_or_default()
    }
}

/// The segment under which the next value of the innermost collection sits,
/// advancing the collection past it.
fn value_segment(frames: &mut [Frame]) -> Option<Segment> {
    match frames.last_mut()? {
        Frame::Mapping { key } => key.take().map(Segment::Key),
        Frame::Sequence { next } => {
            *next += 1;
            Some(Segment::Index(*next - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_values_and_falls_back_to_the_parent() {
        let text = "name: x\nphases:\n  - name: a\n    rate: 0/s\n";
        let locator = Locator::new(text);
        let rate = FieldPath::root().key("phases").index(0).key("rate");
        assert_eq!(rate.to_string(), "phases[0].rate");
        assert_eq!(
            locator.locate(&rate),
            Position {
                line: 4,
                column: 11
            }
        );
        let missing = FieldPath::root().key("phases").index(0).key("duration");
        assert_eq!(locator.locate(&missing).line, 3);
    }

    #[test]
    fn anchors_and_flow_collections_are_located_too() {
        let text = "a: &x { b: 1, c: [10, 20] }\nd: *x\ne:\n  - f: 1\n  - f: 2\n";
        let locator = Locator::new(text);
        let at = |p: FieldPath| locator.locate(&p);
        assert_eq!(
            at(FieldPath::root().key("a").key("c").index(1)),
            Position {
                line: 1,
                column: 23
            }
        );
        assert_eq!(at(FieldPath::root().key("d")).line, 2);
        assert_eq!(
            at(FieldPath::root().key("e").index(1).key("f")),
            Position { line: 5, column: 8 }
        );
    }
}
