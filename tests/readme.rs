//! README.md lists the supported commands and functions in a block generated from the code, so that the
//! list cannot drift: this test builds the block and compares it with the README's, between
//! `<!-- generated:supported:start -->` and `<!-- generated:supported:end -->`. With `SPELUNK_BLESS=1` it
//! rewrites the block instead (adding it, under its heading, at the end of the file when absent).

use std::path::Path;

const START: &str = "<!-- generated:supported:start -->";
const END: &str = "<!-- generated:supported:end -->";
const HEADING: &str = "## Supported commands and functions";

/// One paragraph: a bold title with the count, then the names in code spans.
fn list(title: &str, names: &[&str]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!("**{title}** ({}): {}\n", names.len(), items.join(", "))
}

fn generated_block() -> String {
    let mut stats: Vec<&str> = spelunk::commands::stats::FUNCTIONS.to_vec();
    stats.sort_unstable();
    let mut convert: Vec<&str> = spelunk::commands::convert::FUNCTIONS.to_vec();
    convert.sort_unstable();
    let mut eval: Vec<&str> = spelunk::eval::FUNCTIONS.to_vec();
    eval.sort_unstable();
    let mut out = String::new();
    out.push_str(START);
    out.push('\n');
    out.push_str(
        "<!-- generated from the code by tests/readme.rs: run `SPELUNK_BLESS=1 cargo test --test readme` to update -->\n\n",
    );
    out.push_str(&list("Commands", &spelunk::commands::runnable_commands()));
    out.push('\n');
    out.push_str(&list("Eval functions", &eval));
    out.push('\n');
    out.push_str(&list("Stats functions", &stats));
    out.push('\n');
    out.push_str(&list("Convert functions", &convert));
    out.push('\n');
    out.push_str(
        "Other commands of Splunk's Search Reference parse (so `spelunk check` can report them) but do not run.\n",
    );
    out.push_str(END);
    out
}

/// The README's current block (markers included) and where it is.
fn current_block(readme: &str) -> Option<(usize, usize)> {
    let start = readme.find(START)?;
    let end = readme[start..].find(END)? + start + END.len();
    Some((start, end))
}

#[test]
fn readme_lists_what_the_code_supports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let block = generated_block();
    let bless = std::env::var("SPELUNK_BLESS").is_ok_and(|v| v == "1");
    match current_block(&readme) {
        Some((s, e)) if readme[s..e] == block => {}
        Some((s, e)) if bless => {
            let updated = format!("{}{}{}", &readme[..s], block, &readme[e..]);
            std::fs::write(&path, updated).expect("write README.md");
        }
        None if bless => {
            let mut updated = readme.trim_end().to_string();
            updated.push_str(&format!("\n\n{HEADING}\n\n{block}\n"));
            std::fs::write(&path, updated).expect("write README.md");
        }
        found => {
            let now = found.map_or("(no block)", |(s, e)| &readme[s..e]);
            panic!(
                "README.md's list of supported commands and functions is out of date; run \
                 `SPELUNK_BLESS=1 cargo test --test readme` to rewrite it.\n\
                 --- in README.md:\n{now}\n--- from the code:\n{block}"
            );
        }
    }
}
