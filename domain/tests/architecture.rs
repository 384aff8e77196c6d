//! The structure the README promises, checked on the source: every table
//! is written by one module, and no two of `domain`'s modules depend on
//! each other (top-level, or one level down).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// (module path such as `campaigns::store`, source without its tests).
fn modules() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let source = fs::read_to_string(&path).unwrap();
            let source = source.split("#[cfg(test)]").next().unwrap().to_owned();
            let code: String = source
                .lines()
                .map(|line| line.split("//").next().unwrap())
                .collect::<Vec<_>>()
                .join("\n");
            (parts.join("::"), code)
        })
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

/// Paths named after `crate::`, expanding `crate::{a::{b, c}, d}`.
fn crate_paths(code: &str) -> Vec<String> {
    fn expand(prefix: &str, group: &str, out: &mut Vec<String>) {
        let mut depth = 0;
        let mut item = String::new();
        for c in group.chars().chain([',']) {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                let trimmed: String = item.split_whitespace().collect();
                if let Some((head, rest)) = trimmed.split_once('{') {
                    expand(
                        &format!("{prefix}{head}"),
                        rest.strip_suffix('}').unwrap(),
                        out,
                    );
                } else if !trimmed.is_empty() {
                    out.push(format!("{prefix}{trimmed}"));
                }
                item.clear();
            } else {
                item.push(c);
            }
        }
    }
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .unwrap()
                .0;
            expand("", &group[..end], &mut out);
        } else {
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path);
        }
    }
    out
}

fn depends(level: usize) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let names: Vec<&String> = modules.iter().map(|(name, _)| name).collect();
    let cut = |name: &str| name.split("::").take(level).collect::<Vec<_>>().join("::");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in &modules {
        let mut paths = crate_paths(code);
        // `super::x` inside `a::b` is `a::x`.
        let parent: Vec<&str> = name.split("::").collect();
        for (at, _) in code.match_indices("super::") {
            let rest: String = code[at + "super::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let base = &parent[..parent.len().saturating_sub(1)];
            paths.push(
                [base.join("::"), rest]
                    .join("::")
                    .trim_start_matches("::")
                    .to_owned(),
            );
        }
        for path in paths {
            let target = names
                .iter()
                .filter(|m| path == ***m || path.starts_with(&format!("{m}::")))
                .max_by_key(|m| m.len());
            if let Some(target) = target {
                let (from, to) = (cut(name), cut(target));
                if from != to {
                    graph.entry(from).or_default().insert(to);
                }
            }
        }
    }
    graph
}

#[test]
fn no_two_modules_depend_on_each_other() {
    for level in [1, 2] {
        let graph = depends(level);
        let mut cycles = Vec::new();
        for (from, targets) in &graph {
            for to in targets {
                if from < to && graph.get(to).is_some_and(|back| back.contains(from)) {
                    cycles.push(format!("{from} <-> {to}"));
                }
            }
        }
        assert!(cycles.is_empty(), "module cycles: {cycles:?}");
    }
    // The checker sees real dependencies (it would pass vacuously otherwise).
    assert!(depends(1)["sending"].contains("outbound"));
}

#[test]
fn every_table_is_written_by_one_module() {
    let mut writers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in modules() {
        // Outreach writes SQL keywords in capitals; prose says "update".
        for verb in ["INSERT INTO ", "UPDATE ", "DELETE FROM "] {
            for (at, _) in code.match_indices(verb) {
                let table: String = code[at + verb.len()..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !table.is_empty() {
                    writers.entry(table).or_default().insert(name.clone());
                }
            }
        }
    }
    let shared: Vec<_> = writers.iter().filter(|(_, by)| by.len() > 1).collect();
    assert!(
        shared.is_empty(),
        "tables written by several modules: {shared:?}"
    );
    assert_eq!(
        writers["outbound_messages"],
        BTreeSet::from(["outbound".to_owned()])
    );
}

/// A write outside a transaction on SQLite takes its turn at writing, as
/// transactions do (`db::write_turn`): without it the statement meets
/// SQLite's busy handler, which during another organisation's import kept
/// a person renaming a list waiting up to a second (BENCHMARKS.md). So
/// every statement that writes straight to the pool is run `.in_turn(…)`.
/// (Several statements that write together are a transaction.)
#[test]
fn every_write_outside_a_transaction_takes_its_turn() {
    let mut checked = 0;
    let mut unturned = Vec::new();
    for (name, code) in modules() {
        for (at, _) in code.match_indices("sqlx::query") {
            let statement = &code[at..code[at..].find(".await").map_or(code.len(), |end| at + end)];
            let sql = statement.split('"').nth(1).unwrap_or_default().trim_start();
            let writes = ["INSERT ", "UPDATE ", "DELETE "]
                .iter()
                .any(|verb| sql.starts_with(verb));
            let on_the_pool = ["(pool)", "(&pool)", "(self.pool)", "(&self.pool)"]
                .iter()
                .any(|executor| statement.contains(executor));
            if !(writes && on_the_pool) {
                continue;
            }
            checked += 1;
            // Whatever names the pool (`.in_turn(&self.pool)` is right too).
            if !statement.contains(".in_turn(") {
                unturned.push(format!(
                    "{name}: {}",
                    sql.lines().next().unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        unturned.is_empty(),
        "writes outside a transaction without their turn: {unturned:#?}"
    );
    // The check sees the writes it is about (it would pass vacuously
    // otherwise): renaming a list is one.
    assert!(
        checked >= 20,
        "only {checked} writes outside a transaction found"
    );
}
