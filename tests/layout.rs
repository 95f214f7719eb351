//! The source tree's layout: the layers import only the layers below them, no two modules import
//! each other (directly or round a circle), `ls src` stays short and no source file grows past
//! 800 lines. Read from the `use` lines and paths of the library's code (comments and in-file
//! test modules left out), so a new import up the stack or round a circle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The library's layers, bottom first: each may import only those before it.
const LAYERS: &[&str] = &["engine", "analysis", "experiment", "report", "app"];

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a library file defines, as `engine::model` (`""` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// The parent of module `m` (`""` for a top-level module).
fn parent(m: &str) -> &str {
    m.rfind("::").map_or("", |i| &m[..i])
}

/// The file's lines of code: comments stripped, in-file modules (`mod tests { ... }`, as
/// rustfmt lays them out) left out, since their `super` is the file's own module.
fn code_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut inline_end: Option<String> = None;
    for line in text.lines() {
        if let Some(end) = &inline_end {
            if line == end {
                inline_end = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        let is_inline_mod = (trimmed.starts_with("mod ") || trimmed.starts_with("pub mod "))
            && trimmed.ends_with('{');
        if is_inline_mod {
            let indent = &line[..line.len() - trimmed.len()];
            inline_end = Some(format!("{indent}}}"));
            continue;
        }
        let code = line.find("//").map_or(line, |i| &line[..i]);
        lines.push(code);
    }
    lines
}

/// The modules among `modules` that `code` of module `this` names: `crate::a::b::Item` and
/// `super::...` paths, each resolved to the longest module prefix.
fn imports(this: &str, code: &[&str], modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in code {
        let mut rest = *line;
        while let Some(i) = find_path_start(rest) {
            let path: String = rest[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            rest = &rest[i + path.len().max(1)..];
            let mut segments = path.split("::").filter(|s| !s.is_empty()).peekable();
            let mut base = match segments.next() {
                Some("crate") => String::new(),
                Some("super") => parent(this).to_string(),
                _ => continue,
            };
            while segments.peek() == Some(&"super") {
                segments.next();
                base = parent(&base).to_string();
            }
            let mut resolved = None;
            for segment in segments {
                let candidate = if base.is_empty() {
                    segment.to_string()
                } else {
                    format!("{base}::{segment}")
                };
                if !modules.contains(&candidate) {
                    break;
                }
                resolved = Some(candidate.clone());
                base = candidate;
            }
            if let Some(module) = resolved.or_else(|| modules.contains(&base).then_some(base))
                && module != this
            {
                found.insert(module);
            }
        }
    }
    found
}

/// Where the next `crate::` or `super::` path starts in `text`, at a word boundary.
fn find_path_start(text: &str) -> Option<usize> {
    ["crate::", "super::"]
        .iter()
        .filter_map(|p| {
            text.match_indices(p)
                .find(|(i, _)| {
                    text[..*i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
                })
                .map(|(i, _)| i)
        })
        .min()
}

/// The library's import graph: each module to the modules it names.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    // The binary (main.rs and the command-line tool) is another crate, above the library.
    files.retain(|f| {
        let relative = f.strip_prefix(&src).unwrap();
        relative != Path::new("main.rs") && !relative.starts_with("cli")
    });
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    files
        .iter()
        .map(|file| {
            let this = module_of(&src, file);
            let text = fs::read_to_string(file).unwrap();
            let uses = imports(&this, &code_lines(&text), &modules);
            (this, uses)
        })
        .collect()
}

/// The layer a module belongs to, by its first segment; `None` for the crate root.
fn layer(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    LAYERS.iter().position(|l| *l == top)
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let graph = import_graph();
    let mut upward = Vec::new();
    for (from, uses) in &graph {
        for to in uses {
            if let (Some(a), Some(b)) = (layer(from), layer(to))
                && b > a
            {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports up the stack: {upward:#?}");
    // The checker itself sees the imports it should: a module known to import two layers.
    assert!(graph["experiment::report"].contains("engine::train"));
    assert!(graph["experiment::report"].contains("analysis::analyze"));
}

/// Modules on a circle of imports, each circle as its sorted members (Tarjan's algorithm).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Search<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w]));
                } else if self.on_stack.contains(w) {
                    self.low.insert(v, self.low[v].min(self.index[w]));
                }
            }
            if self.low[v] == self.index[v] {
                let mut members = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    members.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 {
                    members.sort();
                    self.found.push(members);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !search.index.contains_key(v.as_str()) {
            search.visit(v);
        }
    }
    search.found
}

#[test]
fn no_modules_import_each_other() {
    assert_eq!(circles(&import_graph()), Vec::<Vec<String>>::new());
    // The search finds a circle where there is one.
    let planted: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(from, to)| (from.to_string(), BTreeSet::from([to.to_string()])))
        .collect();
    assert_eq!(circles(&planted), vec![vec!["a", "b", "c"]]);
}

#[test]
fn the_source_tree_is_short_and_its_files_small() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let entries = fs::read_dir(&src).unwrap().count();
    assert!(entries <= 10, "`ls src` has {entries} entries; at most 10");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = fs::read_to_string(f).unwrap().lines().count();
            (lines > 800).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "source files over 800 lines: {long:#?}");
}
