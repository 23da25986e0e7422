//! The README's first screen is code that builds: its axum example is `examples/quickstart.rs`,
//! which `cargo test` compiles, word for word.

#[test]
fn the_readme_s_first_example_is_the_quickstart_example() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/quickstart.rs");
    let code: String = example
        .lines()
        .skip_while(|line| line.starts_with("//!") || line.is_empty())
        .map(|line| format!("{line}\n"))
        .collect();
    let first_block = readme
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```\n").next())
        .expect("the README has a Rust block");
    assert_eq!(first_block, code);
    // And it comes before anything else a reader would scroll past.
    let install = readme
        .find("cargo add tower-api-errors -F axum")
        .expect("an install line");
    assert!(install < readme.find("```rust").unwrap());
    assert!(readme.find("```rust").unwrap() < readme.find("\n## ").unwrap());
}
