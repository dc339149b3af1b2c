//! The layering the architecture promises (ARCHITECTURE.md), checked on the
//! sources: no module of a crate depends, through any chain of `crate::` and
//! `super::` paths, on a module that depends back on it; chemistry
//! perception does not call the SMILES reader or writer; and no source file
//! is much over 500 lines without saying why at its top.
//!
//! A module is a source file. `lib.rs`, `main.rs` and `mod.rs` files are
//! facades that declare and re-export their children: a path through a
//! facade's re-export is an edge to the module the item comes from, and a
//! facade has no edges of its own. Test modules (`#[cfg(test)]` to the end of
//! a file) may use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use e2e_tests::workspace_root;

const CRATES: [&str; 7] = [
    "model-core",
    "scorer-api",
    "training",
    "search",
    "trainer",
    "scorer",
    "web",
];

/// Module path (e.g. `chem::rings`) of each source file under `src`.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap().with_extension("");
                let mut parts: Vec<String> = relative
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                found.insert(parts, path);
            }
        }
    }
    found
}

fn is_facade(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("mod.rs" | "lib.rs" | "main.rs")
    )
}

/// The code of a file: without its test module and without comment lines
/// (a doc link to a module is a pointer for the reader, not a dependency).
fn non_test_source(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => &text,
    };
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path in `text` that starts with `crate::` or `super::`, as its
/// segments (`use crate::{a, b::c}` gives `a` and `b::c`).
fn paths(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for root in ["crate::", "super::"] {
        let mut rest = text;
        while let Some(at) = rest.find(root) {
            let before = rest[..at].chars().last();
            rest = &rest[at + root.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let head = root.trim_end_matches("::").to_string();
            for tail in expand(rest) {
                out.push((head.clone(), tail));
            }
        }
    }
    out
}

/// The segment lists a path's tail names, expanding one level of braces.
fn expand(rest: &str) -> Vec<Vec<String>> {
    let ident_end = |s: &str| {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(s.len())
    };
    let end = ident_end(rest);
    let prefix: Vec<String> = rest[..end]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if rest[end..].starts_with('{') {
        let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
        rest[end + 1..close]
            .split(',')
            .map(|item| {
                let item = item.trim();
                let mut path = prefix.clone();
                path.extend(
                    item[..ident_end(item)]
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(String::from),
                );
                path
            })
            .collect()
    } else {
        vec![prefix]
    }
}

/// What each facade re-exports: facade -> item name -> the module it comes from.
fn reexports(
    modules: &BTreeMap<Vec<String>, PathBuf>,
) -> BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    for (module, path) in modules.iter().filter(|(_, p)| is_facade(p)) {
        let text = non_test_source(path);
        let mut items = BTreeMap::new();
        for statement in text.split("pub use ").skip(1) {
            for tail in expand(statement) {
                let mut full = module.clone();
                full.extend(tail.iter().cloned());
                let source = (0..full.len())
                    .rev()
                    .map(|n| full[..n].to_vec())
                    .find(|p| p != module && modules.contains_key(p));
                if let (Some(source), Some(name)) = (source, tail.last()) {
                    items.insert(name.clone(), source);
                }
            }
        }
        out.insert(module.clone(), items);
    }
    out
}

/// Module dependencies of one crate: file -> files it names.
fn dependencies(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules(src);
    let reexports = reexports(&modules);
    let mut edges = BTreeMap::new();
    for (module, path) in &modules {
        let mut targets = BTreeSet::new();
        if !is_facade(path) {
            for (root, tail) in paths(&non_test_source(path)) {
                let mut full = if root == "crate" {
                    Vec::new()
                } else {
                    module[..module.len().saturating_sub(1)].to_vec()
                };
                full.extend(tail);
                // The longest prefix that is a module is what the path depends on.
                let target = (0..=full.len())
                    .rev()
                    .map(|n| full[..n].to_vec())
                    .find(|p| modules.contains_key(p))
                    // Through a facade, to the module the item is re-exported from.
                    .map(|p| {
                        full.get(p.len())
                            .and_then(|item| reexports.get(&p)?.get(item).cloned())
                            .unwrap_or(p)
                    });
                if let Some(target) = target
                    && target != *module
                    && !target.starts_with(module)
                    && !is_facade(&modules[&target])
                {
                    targets.insert(target);
                }
            }
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

/// A cycle in `edges`, if there is one.
fn find_cycle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle: Vec<String> = stack[at..].iter().map(|m| m.join("::")).collect();
            cycle.push(node.join("::"));
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_a_module_cycle() {
    for name in CRATES {
        let edges = dependencies(&workspace_root().join(name).join("src"));
        assert!(edges.len() > 1, "{name}: no modules found");
        if let Some(cycle) = find_cycle(&edges) {
            panic!("{name} has a module cycle: {}", cycle.join(" -> "));
        }
    }
}

/// The checker finds a cycle where there is one, through `super::` and a
/// facade's re-export too.
#[test]
fn the_cycle_check_can_fail() {
    let dir = std::env::temp_dir().join(format!("molgap-cycle-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("m")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod a;\npub mod m;\n").unwrap();
    std::fs::write(dir.join("a.rs"), "use crate::m::b::Thing;\n").unwrap();
    std::fs::write(
        dir.join("m/mod.rs"),
        "pub mod b;\npub mod c;\npub use c::x;\n",
    )
    .unwrap();
    // Through the facade's re-export: m::b -> m::c.
    std::fs::write(dir.join("m/b.rs"), "use super::x;\n").unwrap();
    std::fs::write(dir.join("m/c.rs"), "pub fn x() { crate::a::f() }\n").unwrap();
    let cycle = find_cycle(&dependencies(&dir)).expect("a -> m::b -> m::c -> a");
    assert_eq!(cycle.len(), 4, "{cycle:?}");
    std::fs::write(dir.join("m/c.rs"), "pub fn x() {}\n").unwrap();
    assert_eq!(find_cycle(&dependencies(&dir)), None);
    std::fs::remove_dir_all(dir).ok();
}

/// Perception (rings, aromaticity, structural rules, canonical numbering,
/// valence) works on the graph alone; the SMILES reader and writer sit
/// above it.
#[test]
fn perception_does_not_call_smiles_io() {
    let chem = workspace_root().join("model-core/src/chem");
    for module in [
        "rings.rs",
        "aromaticity.rs",
        "structure.rs",
        "finished_rules.rs",
        "atom_order.rs",
        "valence.rs",
        "molecule.rs",
    ] {
        let text = non_test_source(&chem.join(module));
        for io in [
            "canonical_smiles",
            "parse_smiles",
            "smiles::",
            "write_random_smiles",
        ] {
            assert!(!text.contains(io), "chem/{module} calls {io}");
        }
    }
}

/// No source file much over 500 lines (600, tests aside) without its reason
/// stated at its top.
#[test]
fn source_files_stay_small_or_say_why() {
    let mut long = Vec::new();
    for name in CRATES {
        for path in modules(&workspace_root().join(name).join("src")).into_values() {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = non_test_source(&path).lines().count();
            let head: String = text.lines().take(12).collect::<Vec<_>>().join("\n");
            if lines > 600 && !head.contains("Why this file is long") {
                long.push(format!("{} ({lines} lines)", path.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "over 600 lines (tests aside) without a reason: {long:?}"
    );
}
