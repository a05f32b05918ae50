//! `scripts/check-layers`, the CI gate on the layers of src/, on small source
//! trees (tests/layers-fixtures): it passes a tree whose uses all point
//! down, and fails, saying where, on an upward import between rooms and on a
//! circle among the files of a room or of a sub-room at any depth.

use std::process::Command;

use crate::support::repo;

/// The script's exit code and what it printed.
fn check_layers(fixture: &str) -> (i32, String) {
    let out = Command::new(repo().join("scripts/check-layers"))
        .arg(format!("tests/layers-fixtures/{fixture}"))
        .current_dir(repo())
        .output()
        .expect("scripts/check-layers runs (it needs python3)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_tree_without_upward_uses_or_circles_passes() {
    // Its comments, strings and test-only items name modules that would
    // close circles: they are not uses.
    let (code, out) = check_layers("ok");
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out, "layers ok: base < room\nno circle inside any room\n",
        "{out}"
    );
}

#[test]
fn an_upward_use_between_rooms_fails_with_its_line() {
    let (code, out) = check_layers("upward");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "tests/layers-fixtures/upward/low.rs:3: `low` uses `high`, which lib.rs declares above it"
        ),
        "{out}"
    );
    assert!(
        out.contains("the order (bottom first): low < high"),
        "{out}"
    );
}

#[test]
fn a_circle_between_the_files_of_a_room_fails_with_each_use() {
    let (code, out) = check_layers("circle");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("circle inside `room` among a, b (one way round: a -> b -> a)"),
        "{out}"
    );
    // A `use` and a path in an expression both count.
    assert!(
        out.contains("a -> b: tests/layers-fixtures/circle/room/a.rs:1 uses room::b"),
        "{out}"
    );
    assert!(
        out.contains("b -> a: tests/layers-fixtures/circle/room/b.rs:4 uses room::a"),
        "{out}"
    );
}

#[test]
fn circles_are_found_at_every_depth() {
    let (code, out) = check_layers("deep-circle");
    assert_eq!(code, 1, "{out}");
    // Inside the sub-room, through a nested `use` tree with a rename.
    assert!(
        out.contains("circle inside `room::sub` among p, q (one way round: p -> q -> p)"),
        "{out}"
    );
    assert!(
        out.contains("p -> q: tests/layers-fixtures/deep-circle/room/sub/p.rs:1 uses room::sub::q"),
        "{out}"
    );
    // Inside the room: the sub-room stands for everything under it.
    assert!(
        out.contains("circle inside `room` among sub, x (one way round: sub -> x -> sub)"),
        "{out}"
    );
    assert!(
        out.contains("sub -> x: tests/layers-fixtures/deep-circle/room/sub/q.rs:2 uses room::x"),
        "{out}"
    );
}
